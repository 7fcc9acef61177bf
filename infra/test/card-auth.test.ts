// Card authentication's deployment inputs: the committed JPKI trust anchor bundle, how
// scripts/package puts it into the functions' one zip (infra/tools/package_inputs.py), synthesis
// refusing that zip without the current bundle, and the CRL URLs from the stage file.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { INFRA_DIR, MANIFEST_PATH, REPO_DIR, addStage, newApp } from '../lib/app';
import {
  CRL_URLS_ENV,
  FUNCTION_BINARY,
  FUNCTION_PACKAGE,
  FUNCTION_ZIP,
  LAMBDA_TASK_ROOT,
  TRUST_ANCHORS_ENV,
  TRUST_ANCHORS_FILE,
  TRUST_ANCHORS_SOURCE,
  routeThrottleOf,
} from '../lib/conventions';
import { type RouteSpec, allFunctions, loadManifest } from '../lib/manifest';
import { TRUST_ANCHORS_PATH } from '../lib/platform-stack';
import { loadStageConfig } from '../lib/stage-config';
import { readZipEntry } from '../lib/zip';
import { V1_MANIFEST_PATH, logicalId, mergedJson, rawManifest, tmpDir } from './helpers';

const PACKAGE_INPUTS = path.join(INFRA_DIR, 'tools', 'package_inputs.py');
const PYTHON = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
const noPython = PYTHON ? false : 'python3 is not installed';

/** The PEM certificate blocks of a bundle (text around them is commentary). */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** A zip like cargo-lambda's: one executable `bootstrap`. */
function bootstrapZip(file: string) {
  const r = spawnSync(
    PYTHON!,
    [
      '-c',
      [
        'import sys, zipfile',
        'i = zipfile.ZipInfo("bootstrap", (2026, 11, 1, 0, 0, 0))',
        'i.external_attr = 0o100755 << 16',
        'i.compress_type = zipfile.ZIP_DEFLATED',
        'z = zipfile.ZipFile(sys.argv[1], "w")',
        'z.writestr(i, b"\\x7fELF fake bootstrap")',
        'z.close()',
      ].join('\n'),
      file,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
}

function packageInputs(manifest: string, zip: string) {
  return spawnSync(PYTHON!, [PACKAGE_INPUTS, '--manifest', manifest, '--zip', zip], { encoding: 'utf8' });
}

/** A manifest file: the raw manifest as changed by `edit`. */
function manifestFile(edit: (raw: any) => void, from = MANIFEST_PATH): string {
  const raw = rawManifest(from);
  edit(raw);
  const file = path.join(tmpDir('manifest'), 'manifest.json');
  fs.writeFileSync(file, JSON.stringify(raw));
  return file;
}

/** Name → unix mode of each zip entry. */
function zipModes(zip: string): Record<string, string> {
  const r = spawnSync(PYTHON!, ['-c', 'import sys, zipfile, json; print(json.dumps({i.filename: oct(i.external_attr >> 16) for i in zipfile.ZipFile(sys.argv[1]).infolist()}))', zip], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const manifest = loadManifest(MANIFEST_PATH);
const needing = allFunctions(manifest).filter((f) => f.needs.includes('trust_anchors'));

describe('JPKI trust anchors (infra/jpki/jlis-auth-roots.pem)', () => {
  const text = fs.readFileSync(TRUST_ANCHORS_PATH, 'utf8');
  const certs = pemBlocks(text).map((b) => new crypto.X509Certificate(b));

  it('is where conventions.ts says, and holds exactly 2 PEM certificates', () => {
    assert.equal(TRUST_ANCHORS_PATH, path.join(INFRA_DIR, 'jpki', 'jlis-auth-roots.pem'));
    assert.deepEqual([...TRUST_ANCHORS_SOURCE], ['jpki', TRUST_ANCHORS_FILE]);
    assert.equal(text.split('-----BEGIN CERTIFICATE-----').length - 1, 2);
    assert.equal(certs.length, 2);
  });

  it('the J-LIS user-authentication roots, 2015 and 2023 generations: self-signed CAs with the pinned fingerprints and validity', () => {
    const expected = [
      { notAfter: '2025-10-19T14:59:59.000Z', sha256: '4D:CF:C4:CA:0A:AF:9F:B2:A3:08:1B:3F:0C:99:1C:32:0B:3A:CC:00:86:67:A3:41:EE:AE:C5:AF:1D:58:CA:7D' },
      { notAfter: '2033-07-15T14:59:59.000Z', sha256: '64:11:4F:29:62:0C:24:ED:26:31:D4:64:76:A0:40:E7:EE:74:0D:95:60:89:C0:0B:03:6A:6A:81:18:C3:22:B5' },
    ];
    assert.deepEqual(
      certs.map((c) => ({ notAfter: new Date(c.validTo).toISOString(), sha256: c.fingerprint256 })),
      expected,
    );
    for (const c of certs) {
      assert.ok(c.ca, 'a CA certificate');
      assert.equal(c.subject, c.issuer, 'self-signed');
      assert.ok(c.verify(c.publicKey), 'its self-signature verifies');
      assert.match(c.subject, /OU=JPKI for user authentication/);
      assert.match(c.subject, /OU=Japan Agency for Local Authority Information Systems/);
      assert.equal(c.publicKey.asymmetricKeyType, 'rsa');
      assert.ok(c.publicKey.asymmetricKeyDetails!.modulusLength! >= 2048);
    }
    // The 2023 generation is the one in force until 2033.
    assert.ok(new Date(certs[1].validFrom) < new Date('2023-07-17') && new Date(certs[1].validTo) > new Date('2033-07-15'));
  });

  it('is byte for byte the team kit (shared/jpki) where that folder is beside the repository', { skip: fs.existsSync(path.join(REPO_DIR, '..', 'shared', 'jpki')) ? false : 'no shared/jpki beside the repository' }, () => {
    const kit = ['auth_ca_2015.pem', 'auth_ca_2023.pem'].map((f) => new crypto.X509Certificate(fs.readFileSync(path.join(REPO_DIR, '..', 'shared', 'jpki', f))));
    assert.deepEqual(
      certs.map((c) => c.raw.toString('base64')),
      kit.map((c) => c.raw.toString('base64')),
    );
  });
});

describe('scripts/package: the one zip and its packaged inputs (infra/tools/package_inputs.py)', { skip: noPython }, () => {
  const script = fs.readFileSync(path.join(REPO_DIR, 'scripts', 'package'), 'utf8');

  it('scripts/package builds the one binary conventions.ts names into the zip the app deploys', () => {
    assert.equal(FUNCTION_ZIP, `${FUNCTION_BINARY}.zip`);
    assert.ok(script.includes(`readonly FUNCTION_PACKAGE=${FUNCTION_PACKAGE}\n`), 'package name');
    assert.ok(script.includes(`readonly FUNCTION_BIN=${FUNCTION_BINARY}\n`), 'binary name');
    assert.match(script, /--package "\$FUNCTION_PACKAGE" \\\n\s+--bin "\$FUNCTION_BIN" \\\n/);
    assert.match(script, /readonly DIST_ZIP="\$DIST_DIR\/\$FUNCTION_BIN\.zip"/);
  });

  it('scripts/package adds the packaged inputs to that zip', () => {
    assert.match(script, /infra\/tools\/package_inputs\.py/);
    assert.match(script, /"\$PACKAGE_INPUTS" --manifest "\$MANIFEST" --zip "\$DIST_ZIP"/);
  });

  it('scripts/package refuses arguments (there is nothing to select), before building anything', () => {
    // Stand-ins that fail loudly, should the script get as far as the tools.
    const bin = tmpDir('no-cargo');
    for (const tool of ['cargo', 'cargo-lambda', 'rustup']) fs.writeFileSync(path.join(bin, tool), '#!/bin/sh\necho "must not run" >&2\nexit 99\n', { mode: 0o755 });
    const r = spawnSync('bash', [path.join(REPO_DIR, 'scripts', 'package'), 'health'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` } });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /takes no arguments \(got: health\)/);
    assert.doesNotMatch(r.stderr, /must not run/);
  });

  it('adds the bundle at the root of the zip when a function needs trust_anchors, keeping the bootstrap executable', () => {
    assert.ok(needing.length > 0);
    const zip = path.join(tmpDir('pkg'), FUNCTION_ZIP);
    bootstrapZip(zip);
    const before = readZipEntry(zip, 'bootstrap');
    const r = packageInputs(MANIFEST_PATH, zip);
    assert.equal(r.status, 0, r.stderr);
    const size = fs.statSync(TRUST_ANCHORS_PATH).size;
    assert.equal(r.stdout, `${FUNCTION_ZIP}: added ${TRUST_ANCHORS_FILE} (${size} bytes; for ${needing.length} functions: ${needing.map((f) => f.function).join(', ')})\n`);
    assert.ok(readZipEntry(zip, TRUST_ANCHORS_FILE)!.equals(fs.readFileSync(TRUST_ANCHORS_PATH)));
    assert.ok(readZipEntry(zip, 'bootstrap')!.equals(before!));
    assert.deepEqual(zipModes(zip), { bootstrap: '0o100755', [TRUST_ANCHORS_FILE]: '0o100644' });
    // Again (a rebuilt bundle): replaced, not duplicated.
    assert.equal(packageInputs(MANIFEST_PATH, zip).status, 0);
    assert.deepEqual(Object.keys(zipModes(zip)).sort(), ['bootstrap', TRUST_ANCHORS_FILE]);
  });

  it('one function that needs it is enough (the union of the needs of every function)', () => {
    const file = manifestFile((raw) => {
      raw.jobs[0].needs = ['crl_urls', 'trust_anchors'];
    }, V1_MANIFEST_PATH);
    const zip = path.join(tmpDir('pkg-one'), FUNCTION_ZIP);
    bootstrapZip(zip);
    const r = packageInputs(file, zip);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${FUNCTION_ZIP}: added ${TRUST_ANCHORS_FILE} \\(\\d+ bytes; for 1 function: ${rawManifest(V1_MANIFEST_PATH).jobs[0].function}\\)\n$`));
    assert.ok(readZipEntry(zip, TRUST_ANCHORS_FILE)!.equals(fs.readFileSync(TRUST_ANCHORS_PATH)));
  });

  it('leaves the zip as it is when no function needs a packaged file (none, or only crl_urls)', () => {
    const onlyCrls = manifestFile((raw) => {
      for (const e of [...raw.routes, ...raw.consumers, ...raw.jobs]) e.needs = (e.needs ?? []).filter((n: string) => n !== 'trust_anchors');
      raw.routes[0].needs.push('crl_urls');
    });
    for (const manifest of [V1_MANIFEST_PATH, onlyCrls]) {
      const zip = path.join(tmpDir('pkg-none'), FUNCTION_ZIP);
      bootstrapZip(zip);
      const before = fs.readFileSync(zip);
      const r = packageInputs(manifest, zip);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(fs.readFileSync(zip).equals(before), manifest);
    }
  });
});

describe('synthesis with the zip of scripts/package (-c lambdaCode=dist)', { skip: noPython }, () => {
  /** A dist dir with the one zip: packaged (with the bundle) when `withBundle`. */
  function dist(withBundle: boolean): string {
    const dir = tmpDir('dist-anchors');
    const zip = path.join(dir, FUNCTION_ZIP);
    bootstrapZip(zip);
    if (withBundle) assert.equal(packageInputs(MANIFEST_PATH, zip).status, 0);
    return dir;
  }
  const build = (dir: string, config = loadStageConfig('staging'), m = manifest) =>
    addStage(newApp({ outdir: tmpDir('out') }), { stage: 'staging', manifest: m, config, code: { kind: 'dist', dir }, nag: false });

  it('refuses the zip without the bundle, naming it and the functions that need it', () => {
    const dir = dist(false);
    assert.throws(
      () => build(dir),
      (e: Error) =>
        /without the current JPKI trust anchors \(rebuild it with scripts\/package\)/.test(e.message) &&
        e.message.includes(`${path.join(dir, FUNCTION_ZIP)}: no ${TRUST_ANCHORS_FILE}`) &&
        needing.every((f) => e.message.includes(`${f.kind} ${f.name}`)),
    );
  });

  it('refuses a zip with another bundle (a rotation not yet packaged)', () => {
    const dir = tmpDir('dist-old-anchors');
    // The zip packaged with an older bundle.
    const r = spawnSync(
      PYTHON!,
      ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], "w")\nz.writestr("bootstrap", b"x")\nz.writestr(sys.argv[2], b"-----BEGIN CERTIFICATE-----\\nold\\n-----END CERTIFICATE-----\\n")\nz.close()', path.join(dir, FUNCTION_ZIP), TRUST_ANCHORS_FILE],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.throws(() => build(dir), (e: Error) => e.message.includes(`${FUNCTION_ZIP}: its ${TRUST_ANCHORS_FILE} differs from jpki/${TRUST_ANCHORS_FILE}`));
  });

  it('takes a zip without the bundle when no function needs it', () => {
    const { platform } = build(dist(false), loadStageConfig('staging'), loadManifest(V1_MANIFEST_PATH));
    assert.ok(platform.functions.size > 0);
  });

  it('accepts the packaged zip; MKPF_JPKI_TRUST_ANCHORS and MKPF_CRL_URLS (from the stage file) on exactly the functions that need them', () => {
    const base = loadStageConfig('staging');
    const urls = ['http://crl.example.jp/auth/2023.crl', 'http://crl.example.jp/auth/2015.crl'];
    const { platform } = build(dist(true), { ...base, cardAuth: { crlUrls: urls } });
    const j = mergedJson(platform);
    for (const f of allFunctions(manifest)) {
      const env = j.Resources[logicalId(platform.functions.get(f.function)!.fn)].Properties.Environment.Variables;
      assert.equal(env[TRUST_ANCHORS_ENV], f.needs.includes('trust_anchors') ? `${LAMBDA_TASK_ROOT}/${TRUST_ANCHORS_FILE}` : undefined, f.function);
      assert.equal(env[CRL_URLS_ENV], f.needs.includes('crl_urls') ? urls.join(' ') : undefined, f.function);
    }
    assert.ok(allFunctions(manifest).some((f) => f.needs.includes('crl_urls')), 'the checked-in manifest has a function that needs crl_urls');
  });
});

describe('API throttle class of a route (conventions.ts routeThrottleOf)', () => {
  const route = (signsWith: string[], pub: boolean) => ({ ...manifest.routes[0], signsWith, public: pub }) as RouteSpec;
  it('staff tokens: the small credentials limit, also together with citizen tokens', () => {
    assert.equal(routeThrottleOf(route(['staff-tokens'], true)), 'credentials');
    assert.equal(routeThrottleOf(route(['citizen-tokens', 'staff-tokens'], true)), 'credentials');
  });
  it('citizen tokens only: the card sign-in limit, never the credentials one', () => {
    assert.equal(routeThrottleOf(route(['citizen-tokens'], true)), 'card_sign_in');
  });
  it('a key infra/ does not know: the small limit until it gets its own', () => {
    assert.equal(routeThrottleOf(route(['audit-seal'], false)), 'credentials');
  });
  it('no signing: public or the stage default', () => {
    assert.equal(routeThrottleOf(route([], true)), 'public');
    assert.equal(routeThrottleOf(route([], false)), 'default');
  });
  it('the checked-in manifest: staff sign-in and card sign-in get their classes', () => {
    const kinds = manifest.routes.map((r) => [r.signsWith.join(','), routeThrottleOf(r)]);
    assert.ok(kinds.some(([k, t]) => k === 'staff-tokens' && t === 'credentials'));
    assert.ok(kinds.some(([k, t]) => k === 'citizen-tokens' && t === 'card_sign_in'));
  });
});
