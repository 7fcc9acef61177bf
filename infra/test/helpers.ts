// Shared by the tests: synthesizing a stage from a manifest, and reading the template back.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { INFRA_DIR, MANIFEST_PATH, addStage, newApp } from '../lib/app';
import type { EdgeStack } from '../lib/edge-stack';
import { type Manifest, loadManifest, parseManifest } from '../lib/manifest';
import type { PlatformStack } from '../lib/platform-stack';
import { type StageConfig, type StageName, loadStageConfig } from '../lib/stage-config';

export const NEXT_MANIFEST_PATH = path.join(INFRA_DIR, 'test', 'fixtures', 'manifest-next.json');
export const V1_MANIFEST_PATH = path.join(INFRA_DIR, 'test', 'fixtures', 'manifest-v1.json');

/** The checked-in manifest (generated from the route table), read raw: tests copy and modify it. */
export function rawManifest(file = MANIFEST_PATH): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/**
 * The manifests every structural test runs on, so that the app works before and after the
 * generator changes:
 *  - the checked-in infra/manifest.json, whatever the route table generates today;
 *  - fixtures/manifest-v1.json: the first generated shape (tables as plain names = read_write,
 *    no signing keys), as committed with the platform foundation;
 *  - fixtures/manifest-next.json: table access levels, a signing key used by routes and a
 *    consumer, a second queue with batches over 10, a rate() job, inspects_queues.
 */
export const MANIFESTS: ReadonlyArray<{ readonly label: string; readonly manifest: Manifest }> = [
  { label: 'infra/manifest.json', manifest: loadManifest(MANIFEST_PATH) },
  { label: 'fixtures/manifest-v1.json', manifest: loadManifest(V1_MANIFEST_PATH) },
  { label: 'fixtures/manifest-next.json', manifest: loadManifest(NEXT_MANIFEST_PATH) },
];

export interface Synth {
  readonly app: App;
  readonly outdir: string;
  readonly platform: PlatformStack;
  readonly edge: EdgeStack;
  readonly template: Template;
  readonly edgeTemplate: Template;
  /** The platform template as plain JSON. */
  readonly json: any;
  readonly config: StageConfig;
  readonly manifest: Manifest;
}

/** Every scratch folder this process made; removed when it exits (tests leave no debris). */
const scratch: string[] = [];
process.once('exit', () => {
  for (const dir of scratch.splice(0)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A new empty scratch folder under the system temp directory, removed at process exit. */
export function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mkpf-infra-${prefix}-`));
  scratch.push(dir);
  return dir;
}

export function synth(opts: { stage?: StageName; manifest?: Manifest | unknown; config?: StageConfig; nag?: boolean } = {}): Synth {
  const stage = opts.stage ?? 'staging';
  const manifest: Manifest =
    opts.manifest === undefined ? loadManifest(MANIFEST_PATH) : isManifest(opts.manifest) ? opts.manifest : parseManifest(opts.manifest, 'test copy');
  const config = opts.config ?? loadStageConfig(stage);
  const outdir = tmpDir('synth');
  const app = newApp({ outdir });
  const { platform, edge } = addStage(app, { stage, manifest, config, code: { kind: 'placeholder' }, nag: opts.nag });
  const json = mergedJson(platform);
  return { app, outdir, platform, edge, template: Template.fromJSON(json), edgeTemplate: Template.fromStack(edge), json, config, manifest };
}

/**
 * The platform stack's template with the resources of its nested stacks (the function groups)
 * merged in, each nested parameter replaced by the value the parent passes: tests see one
 * template, in which a role's `Ref` to a table ARN parameter reads as the table's `Fn::GetAtt`.
 */
export function mergedJson(platform: PlatformStack): any {
  const parent = Template.fromStack(platform).toJSON();
  const out = structuredClone(parent);
  for (const g of platform.functionGroups.values()) {
    const nested = Template.fromStack(g).toJSON();
    const params: Record<string, unknown> = parent.Resources[platform.getLogicalId(g.nestedStackResource!)].Properties.Parameters ?? {};
    const resolve = (v: any): any => {
      if (Array.isArray(v)) return v.map(resolve);
      if (v && typeof v === 'object') {
        const keys = Object.keys(v);
        if (keys.length === 1 && keys[0] === 'Ref' && v.Ref in params) return structuredClone(params[v.Ref]);
        return Object.fromEntries(keys.map((k) => [k, resolve(v[k])]));
      }
      return v;
    };
    for (const [id, r] of Object.entries(resolve(nested.Resources) as Record<string, unknown>)) {
      if (id in out.Resources) throw new Error(`logical id ${id} is in more than one stack`);
      out.Resources[id] = r;
    }
  }
  return out;
}

function isManifest(m: unknown): m is Manifest {
  return typeof m === 'object' && m !== null && 'signingKeys' in m && 'scheduleTimezone' in m;
}

/** Resources of one type: logical id → resource. */
export function resourcesOf(json: any, type: string): Record<string, any> {
  return Object.fromEntries(Object.entries(json.Resources as Record<string, any>).filter(([, r]) => r.Type === type));
}

/** The logical id of a construct (or its default child) in its own stack, nested or not. */
export function logicalId(construct: unknown): string {
  const c = (construct as any).node?.defaultChild ?? construct;
  return Stack.of(c).getLogicalId(c);
}

/** `{ "Fn::GetAtt": [id, "Arn"] }` → id, else undefined. */
export function getAttArnOf(v: any): string | undefined {
  return v && Array.isArray(v['Fn::GetAtt']) && v['Fn::GetAtt'][1] === 'Arn' ? v['Fn::GetAtt'][0] : undefined;
}

export function asList<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Runs bin/app.ts the way the CDK CLI does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR). */
export function runApp(context: Record<string, unknown>) {
  const outdir = tmpDir('cli');
  const r = spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', 'bin/app.ts'], {
    cwd: INFRA_DIR,
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_DEFAULT_ACCOUNT: '', CDK_DEFAULT_REGION: '' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, outdir };
}

/** Runs `f` with console output and stderr silenced (the validation report of a control test). */
export function quietly<T>(f: () => T): T {
  const write = process.stderr.write;
  const [log, error, warn] = [console.log, console.error, console.warn];
  process.stderr.write = (() => true) as typeof process.stderr.write;
  console.log = console.error = console.warn = () => undefined;
  try {
    return f();
  } finally {
    process.stderr.write = write;
    [console.log, console.error, console.warn] = [log, error, warn];
  }
}
