// Card authentication's deployment inputs: the committed JPKI trust anchor bundle, how
// scripts/package puts it into the zips (infra/tools/package_inputs.py), synthesis refusing zips
// without the current bundle, and the CRL URLs from the stage file.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { INFRA_DIR, MANIFEST_PATH, REPO_DIR, addStage, newApp } from '../lib/app';
import { CRL_URLS_ENV, LAMBDA_TASK_ROOT, TRUST_ANCHORS_ENV, TRUST_ANCHORS_FILE, TRUST_ANCHORS_SOURCE, routeThrottleOf } from '../lib/conventions';
import { type RouteSpec, allFunctions, loadManifest } from '../lib/manifest';
import { TRUST_ANCHORS_PATH } from '../lib/platform-stack';
import { loadStageConfig } from '../lib/stage-config';
import { readZipEntry } from '../lib/zip';
import { logicalId, mergedJson, tmpDir } from './helpers';

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

function packageInputs(manifest: string, binary: string, zip: string) {
  return spawnSync(PYTHON!, [PACKAGE_INPUTS, '--manifest', manifest, '--binary', binary, '--zip', zip], { encoding: 'utf8' });
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
const notNeeding = allFunctions(manifest).filter((f) => !f.needs.includes('trust_anchors'));

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

describe('scripts/package: the packaged inputs (infra/tools/package_inputs.py)', { skip: noPython }, () => {
  it('scripts/package calls it for every function it builds', () => {
    const script = fs.readFileSync(path.join(REPO_DIR, 'scripts', 'package'), 'utf8');
    assert.match(script, /infra\/tools\/package_inputs\.py/);
    assert.match(script, /"\$PACKAGE_INPUTS" --manifest "\$MANIFEST" --binary "\$bin" --zip "\$DIST_DIR\/\$bin\.zip"/);
  });

  it('adds the bundle at the zip root of a function that needs trust_anchors, keeping the bootstrap executable', () => {
    assert.ok(needing.length > 0);
    const dir = tmpDir('pkg');
    for (const f of needing) {
      const zip = path.join(dir, `${f.binary}.zip`);
      bootstrapZip(zip);
      const before = readZipEntry(zip, 'bootstrap');
      const r = packageInputs(MANIFEST_PATH, f.binary, zip);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${f.binary}: added ${TRUST_ANCHORS_FILE}`));
      assert.ok(readZipEntry(zip, TRUST_ANCHORS_FILE)!.equals(fs.readFileSync(TRUST_ANCHORS_PATH)));
      assert.ok(readZipEntry(zip, 'bootstrap')!.equals(before!));
      assert.deepEqual(zipModes(zip), { bootstrap: '0o100755', [TRUST_ANCHORS_FILE]: '0o100644' });
      // Again (a rebuilt bundle): replaced, not duplicated.
      assert.equal(packageInputs(MANIFEST_PATH, f.binary, zip).status, 0);
      assert.deepEqual(Object.keys(zipModes(zip)).sort(), ['bootstrap', TRUST_ANCHORS_FILE]);
    }
  });

  it('leaves the zips of the other functions (and binaries the manifest does not list) as they are', () => {
    const dir = tmpDir('pkg-none');
    for (const binary of [notNeeding[0].binary, 'not-in-the-manifest']) {
      const zip = path.join(dir, `${binary}.zip`);
      bootstrapZip(zip);
      const before = fs.readFileSync(zip);
      const r = packageInputs(MANIFEST_PATH, binary, zip);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(fs.readFileSync(zip).equals(before), binary);
    }
  });
});

describe('synthesis with the zips of scripts/package (-c lambdaCode=dist)', { skip: noPython }, () => {
  /** A dist dir: needing functions get a real zip (with the bundle when `withBundle`), the rest a stand-in. */
  function dist(withBundle: boolean): string {
    const dir = tmpDir('dist-anchors');
    for (const f of notNeeding) fs.writeFileSync(path.join(dir, `${f.binary}.zip`), `zip of ${f.binary}`);
    for (const f of needing) {
      const zip = path.join(dir, `${f.binary}.zip`);
      bootstrapZip(zip);
      if (withBundle) assert.equal(packageInputs(MANIFEST_PATH, f.binary, zip).status, 0);
    }
    return dir;
  }
  const build = (dir: string, config = loadStageConfig('staging')) =>
    addStage(newApp({ outdir: tmpDir('out') }), { stage: 'staging', manifest, config, code: { kind: 'dist', dir }, nag: false });

  it('refuses a zip without the bundle, naming each one', () => {
    assert.throws(
      () => build(dist(false)),
      (e: Error) => /without the current JPKI trust anchors \(rebuild them with scripts\/package\)/.test(e.message) && needing.every((f) => e.message.includes(`${f.binary}.zip: no ${TRUST_ANCHORS_FILE}`)),
    );
  });

  it('refuses a zip with another bundle (a rotation not yet packaged)', () => {
    const dir = dist(true);
    // One zip packaged with an older bundle.
    const f = needing[0];
    const r = spawnSync(
      PYTHON!,
      ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1], "w")\nz.writestr("bootstrap", b"x")\nz.writestr(sys.argv[2], b"-----BEGIN CERTIFICATE-----\\nold\\n-----END CERTIFICATE-----\\n")\nz.close()', path.join(dir, `${f.binary}.zip`), TRUST_ANCHORS_FILE],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.throws(() => build(dir), (e: Error) => e.message.includes(`${f.binary}.zip: its ${TRUST_ANCHORS_FILE} differs from jpki/${TRUST_ANCHORS_FILE}`));
  });

  it('accepts the packaged zips; MKPF_JPKI_TRUST_ANCHORS and MKPF_CRL_URLS (from the stage file) on exactly the functions that need them', () => {
    const base = loadStageConfig('staging');
    const urls = ['http://crl.example.jp/auth/2023.crl', 'http://crl.example.jp/auth/2015.crl'];
    const { platform } = build(dist(true), { ...base, cardAuth: { crlUrls: urls } });
    const j = mergedJson(platform);
    for (const f of allFunctions(manifest)) {
      const env = j.Resources[logicalId(platform.functions.get(f.binary)!.fn)].Properties.Environment.Variables;
      assert.equal(env[TRUST_ANCHORS_ENV], f.needs.includes('trust_anchors') ? `${LAMBDA_TASK_ROOT}/${TRUST_ANCHORS_FILE}` : undefined, f.binary);
      assert.equal(env[CRL_URLS_ENV], f.needs.includes('crl_urls') ? urls.join(' ') : undefined, f.binary);
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
