// Builds a stage (edge stack + platform stack) into a CDK app. Used by bin/app.ts (the CDK CLI)
// and by the tests, so that both synthesize exactly the same thing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EDGE_REGION, edgeStackName, isSignedWebhook, platformStackName } from './conventions';
import { EdgeStack } from './edge-stack';
import { type Manifest, loadManifest } from './manifest';
import { type LambdaCode, PlatformStack } from './platform-stack';
import { type StageConfig, type StageName, loadStageConfig } from './stage-config';
import type { SiteContent } from './web-site';

export const INFRA_DIR = path.resolve(__dirname, '..');
export const REPO_DIR = path.resolve(INFRA_DIR, '..');
export const MANIFEST_PATH = path.join(INFRA_DIR, 'manifest.json');
export const DIST_DIR = path.join(REPO_DIR, 'dist', 'lambda');
/** The web site's build (web/, Vite): the citizen site and, under console/, the staff console. */
export const WEB_DIST_DIR = path.join(REPO_DIR, 'web', 'dist');

/** A CDK app with the feature flags of cdk.json (the CLI passes the same flags as context). */
export function newApp(props: { outdir?: string; context?: Record<string, unknown> } = {}): App {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'cdk.json'), 'utf8'));
  return new App({ outdir: props.outdir, context: { ...cdkJson.context, ...props.context } });
}

export interface StageOptions {
  readonly stage: StageName;
  /** A parsed manifest (tests) or a file; default infra/manifest.json. */
  readonly manifest?: Manifest | string;
  /** Default: stages/<stage>.json. */
  readonly config?: StageConfig;
  readonly code: LambdaCode;
  /** The web site's files; default the placeholder pages (bin/app.ts passes web/dist for a deployable template). */
  readonly site?: SiteContent;
  /** Default: the CLI's account (from the AWS profile), or none (environment-agnostic) in tests. */
  readonly account?: string;
  /** Run cdk-nag's AWS Solutions checks on synthesis (default true). */
  readonly nag?: boolean;
}

export interface BuiltStage {
  readonly edge: EdgeStack;
  readonly platform: PlatformStack;
}

export function addStage(app: App, opts: StageOptions): BuiltStage {
  const config = opts.config ?? loadStageConfig(opts.stage);
  const manifest = typeof opts.manifest === 'object' ? opts.manifest : loadManifest(opts.manifest ?? MANIFEST_PATH);
  const account = opts.account ?? (process.env.CDK_DEFAULT_ACCOUNT || undefined);
  const tags = { project: 'mkpf', stage: opts.stage };

  const edge = new EdgeStack(app, edgeStackName(opts.stage), {
    description: `MKPF ${opts.stage}: WAF web ACL for the API's CloudFront distribution (us-east-1)`,
    env: { account, region: EDGE_REGION },
    crossRegionReferences: true,
    config,
    webhookPaths: manifest.routes.filter(isSignedWebhook).map((r) => r.path),
    tags,
  });
  const platform = new PlatformStack(app, platformStackName(opts.stage), {
    description: `MKPF ${opts.stage}: tables, queues, functions, API, schedules, alarms, backups (from infra/manifest.json)`,
    env: { account, region: config.region },
    crossRegionReferences: true,
    manifest,
    config,
    code: opts.code,
    site: opts.site,
    webAclArn: edge.webAclArn,
    tags,
  });
  if (opts.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { edge, platform };
}
