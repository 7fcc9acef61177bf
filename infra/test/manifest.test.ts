// The manifest loader: both shapes of table use, signing keys, and refusal of anything
// inconsistent (one line per problem).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MANIFEST_PATH } from '../lib/app';
import { ManifestError, NEEDS, allFunctions, loadManifest, parseManifest } from '../lib/manifest';
import { NEXT_MANIFEST_PATH, V1_MANIFEST_PATH, rawManifest } from './helpers';

function problemsOf(raw: unknown): string[] {
  try {
    parseManifest(raw);
  } catch (e) {
    assert.ok(e instanceof ManifestError, String(e));
    return e.problems;
  }
  return [];
}

describe('manifest loader', () => {
  it('reads the checked-in manifest and both fixtures', () => {
    for (const f of [MANIFEST_PATH, V1_MANIFEST_PATH, NEXT_MANIFEST_PATH]) {
      const m = loadManifest(f);
      assert.ok(m.routes.length > 0 && m.tables.length > 0, f);
      assert.equal(m.scheduleTimezone, 'Asia/Tokyo');
    }
  });

  it('a plain table name means read_write; an object carries its access', () => {
    const raw = rawManifest(V1_MANIFEST_PATH);
    raw.routes[0].tables = ['ops', { name: 'idempotency', access: 'read' }];
    const m = parseManifest(raw);
    assert.deepEqual(m.routes[0].tables, [
      { name: 'ops', access: 'read_write' },
      { name: 'idempotency', access: 'read' },
    ]);
  });

  it('a table listed twice gets the wider access', () => {
    const raw = rawManifest(V1_MANIFEST_PATH);
    raw.routes[0].tables = [{ name: 'ops', access: 'read' }, 'ops', { name: 'ops', access: 'read' }];
    assert.deepEqual(parseManifest(raw).routes[0].tables, [{ name: 'ops', access: 'read_write' }]);
  });

  it('signing keys and signs_with / verifies_with are optional and default to none', () => {
    const m = loadManifest(V1_MANIFEST_PATH);
    assert.deepEqual(m.signingKeys, []);
    for (const f of allFunctions(m)) {
      assert.deepEqual([f.signsWith, f.verifiesWith, f.inspectsQueues, f.needs], [[], [], [], []]);
    }
  });

  it('needs: absent means none; known names are read, each once', () => {
    for (const f of allFunctions(loadManifest(V1_MANIFEST_PATH))) assert.deepEqual(f.needs, []);
    const raw = rawManifest(V1_MANIFEST_PATH);
    raw.routes[0].needs = ['trust_anchors', 'crl_urls', 'trust_anchors'];
    raw.jobs[0].needs = [];
    const m = parseManifest(raw);
    assert.deepEqual(m.routes[0].needs, ['trust_anchors', 'crl_urls']);
    assert.deepEqual(m.jobs[0].needs, []);
    assert.deepEqual(NEEDS, ['trust_anchors', 'crl_urls', 'data_key', 'staff_data_key']);
  });

  it('the checked-in manifest: needs are known names, and something needs the trust anchors, and routes and a consumer the data key', () => {
    const m = loadManifest(MANIFEST_PATH);
    const all = allFunctions(m).flatMap((f) => f.needs);
    assert.ok(all.includes('trust_anchors'));
    assert.ok(m.routes.some((r) => r.needs.includes('data_key')));
    assert.ok(m.consumers.some((c) => c.needs.includes('data_key')), 'consumers carry needs too');
    assert.ok(m.routes.some((r) => r.needs.includes('staff_data_key')), 'staff sign-in opens sealed TOTP seeds');
    for (const n of all) assert.ok((NEEDS as readonly string[]).includes(n), n);
  });

  it('refuses unknown needs and a needs that is not a list of names, one line each', () => {
    const raw = rawManifest(V1_MANIFEST_PATH);
    raw.routes[0].needs = ['trust_anchors', 'hsm_pin'];
    raw.routes[1].needs = 'trust_anchors';
    raw.jobs[0].needs = [7];
    const p = problemsOf(raw);
    assert.equal(p.length, 3, p.join('\n'));
    assert.ok(p.some((x) => x === 'routes[0].needs[1]: unknown deployment input "hsm_pin" (known: trust_anchors, crl_urls, data_key, staff_data_key); infra/ must learn to provide it first'), p.join('\n'));
    assert.ok(p.some((x) => x === 'routes[1].needs: expected a list'), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('jobs[0].needs[0]: expected a non-empty string')), p.join('\n'));
  });

  it('metric alarms: absent means none; read with their threshold; bad ones refused, one line each', () => {
    assert.deepEqual(loadManifest(V1_MANIFEST_PATH).metricAlarms, []);
    const raw = rawManifest(V1_MANIFEST_PATH);
    raw.metric_alarms = [{ name: 'dispatch-dead-lettered', metric: 'dispatch_dead_lettered', threshold: 1, description: 'an application was not delivered' }];
    assert.deepEqual(parseManifest(raw).metricAlarms, [{ name: 'dispatch-dead-lettered', metric: 'dispatch_dead_lettered', threshold: 1, description: 'an application was not delivered' }]);
    raw.metric_alarms.push({ name: 'dispatch-dead-lettered', metric: 'bad metric name', threshold: 0 });
    const p = problemsOf(raw);
    assert.equal(p.length, 3, p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('metric_alarms[1].metric:')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('metric_alarms[1].threshold: expected a whole number from 1')), p.join('\n'));
    assert.ok(p.some((x) => x === 'duplicate metric alarm name: "dispatch-dead-lettered"'), p.join('\n'));
  });

  it('the checked-in manifest alarms on dead-lettered dispatches', () => {
    assert.ok(loadManifest(MANIFEST_PATH).metricAlarms.some((a) => a.metric === 'dispatch_dead_lettered' && a.threshold === 1));
  });

  it('reads signing keys and their use', () => {
    const m = loadManifest(NEXT_MANIFEST_PATH);
    assert.deepEqual(m.signingKeys, [
      { name: 'staff-tokens', keySpec: 'ECC_NIST_P256', signingAlgorithm: 'ECDSA_SHA_256', env: 'MKPF_STAFF_TOKEN_KMS_KEY', purpose: 'signs short-lived staff access tokens' },
      { name: 'audit-seal', keySpec: 'ECC_NIST_P384', signingAlgorithm: 'ECDSA_SHA_384', env: 'MKPF_AUDIT_SEAL_KMS_KEY', purpose: 'seals audit exports' },
    ]);
    assert.deepEqual(m.consumers.find((c) => c.name === 'audit-export')!.signsWith, ['audit-seal']);
    assert.deepEqual(m.routes.find((r) => r.name === 'staff-login')!.signsWith, ['staff-tokens']);
    assert.deepEqual(m.routes.find((r) => r.name === 'staff-me')!.verifiesWith, ['staff-tokens']);
  });

  it('refuses unknown tables, queues and keys, with one line each', () => {
    const raw = rawManifest(NEXT_MANIFEST_PATH);
    raw.routes[0].tables.push({ name: 'nope', access: 'read' });
    raw.routes[0].sends_to = ['no-queue'];
    raw.routes[0].verifies_with = ['no-key'];
    raw.routes[0].inspects_queues = ['no-queue-either'];
    raw.consumers[0].queue = 'missing';
    const p = problemsOf(raw);
    assert.equal(p.length, 5, p.join('\n'));
    assert.ok(p.some((x) => x.includes('unknown table "nope"')));
    assert.ok(p.some((x) => x.includes('unknown queue "no-queue"')));
    assert.ok(p.some((x) => x.includes('unknown signing key "no-key"')));
    assert.ok(p.some((x) => x.includes('inspects unknown queue "no-queue-either"')));
    assert.ok(p.some((x) => x.includes('consumes unknown queue "missing"')));
  });

  it('refuses bad access levels, duplicate names, a function id used twice and a route declared twice', () => {
    const raw = rawManifest(NEXT_MANIFEST_PATH);
    raw.routes[0].tables = [{ name: 'ops', access: 'write' }];
    raw.routes[2].name = raw.routes[1].name;
    raw.jobs[0].function = raw.routes[3].function;
    raw.routes[4].method = raw.routes[5].method;
    raw.routes[4].path = raw.routes[5].path;
    raw.tables.push({ ...raw.tables[0] });
    const p = problemsOf(raw).join('\n');
    assert.match(p, /access: expected "read", "append" or "read_write", got "write"/);
    assert.match(p, /duplicate route name/);
    assert.match(p, new RegExp(`duplicate function \\(one Lambda function serves one route, consumer or job\\): "${raw.routes[3].function}"`));
    assert.match(p, /duplicate route \(method and path\)/);
    assert.match(p, /duplicate table name/);
  });

  it('every route, consumer and job has its function id (its Lambda function and Handler)', () => {
    for (const f of [MANIFEST_PATH, V1_MANIFEST_PATH, NEXT_MANIFEST_PATH]) {
      const raw = rawManifest(f);
      const m = loadManifest(f);
      assert.deepEqual(
        allFunctions(m).map((x) => x.function),
        [...raw.routes, ...raw.consumers, ...raw.jobs].map((e: any) => e.function),
        f,
      );
    }
  });

  it('the checked-in manifest keeps the ids of one binary per function: routes by name, <name>-consumer, <name>-job (no deployed function is renamed)', () => {
    const m = loadManifest(MANIFEST_PATH);
    for (const r of m.routes) assert.equal(r.function, r.name);
    for (const c of m.consumers) assert.equal(c.function, `${c.name}-consumer`);
    for (const j of m.jobs) assert.equal(j.function, `${j.name}-job`);
  });

  it('refuses a function id used twice, also across kinds (route, consumer, job)', () => {
    const raw = rawManifest(NEXT_MANIFEST_PATH);
    raw.consumers[0].function = raw.routes[0].function;
    raw.routes[2].function = raw.routes[1].function;
    const p = problemsOf(raw);
    assert.deepEqual(
      p.filter((x) => x.startsWith('duplicate function')).sort(),
      [raw.routes[0].function, raw.routes[1].function].map((id: string) => `duplicate function (one Lambda function serves one route, consumer or job): ${JSON.stringify(id)}`).sort(),
    );
    assert.equal(p.length, 2, p.join('\n'));
  });

  it('refuses a missing or malformed function id, one line each', () => {
    const raw = rawManifest(NEXT_MANIFEST_PATH);
    delete raw.routes[0].function;
    raw.consumers[0].function = '';
    raw.jobs[0].function = 'Notice_Retention';
    raw.routes[1].function = `x${'y'.repeat(51)}`; // 52 characters, over the 51 allowed
    raw.routes[2].function = 7;
    const p = problemsOf(raw);
    assert.equal(p.length, 5, p.join('\n'));
    assert.ok(p.includes('routes[0].function: expected a non-empty string, got undefined'), p.join('\n'));
    assert.ok(p.includes('consumers[0].function: expected a non-empty string, got ""'), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('jobs[0].function: "Notice_Retention" does not match')), p.join('\n'));
    assert.ok(p.some((x) => x.startsWith('routes[1].function: "xy')), p.join('\n'));
    assert.ok(p.includes('routes[2].function: expected a non-empty string, got 7'), p.join('\n'));
  });

  it('refuses the older `binary` field (one binary per function), asking for a regenerated manifest', () => {
    const raw = rawManifest(V1_MANIFEST_PATH);
    for (const e of [raw.routes[0], raw.jobs[0]]) {
      e.binary = e.function;
      delete e.function;
    }
    const p = problemsOf(raw);
    assert.equal(p.length, 2, p.join('\n'));
    for (const at of ['routes[0]', 'jobs[0]']) {
      assert.ok(
        p.includes(`${at}.binary: renamed to "function" (one binary serves every function, chosen by its Handler); regenerate the manifest (cargo run -p mkpf-local --bin mkpf-admin -- manifest --write)`),
        p.join('\n'),
      );
    }
    // With `function` present, a leftover `binary` is ignored like any unknown field.
    const both = rawManifest(V1_MANIFEST_PATH);
    both.routes[0].binary = 'something-else';
    assert.equal(parseManifest(both).routes[0].function, rawManifest(V1_MANIFEST_PATH).routes[0].function);
  });

  it('refuses values AWS would refuse', () => {
    const raw = rawManifest(NEXT_MANIFEST_PATH);
    raw.queues[0].max_concurrency = 1; // event source mappings need at least 2
    raw.queues[0].visibility_timeout_secs = 5; // leaves no consumer timeout at 6x
    raw.queues[0].retention_secs = 2000000; // over SQS's 14 days
    raw.routes[0].path = '/v1/{bad param}';
    raw.routes[1].method = 'FETCH';
    raw.jobs[0].schedule_expression = 'every day';
    raw.signing_keys[0].key_spec = 'SYMMETRIC_DEFAULT';
    raw.signing_keys.push({ name: 'other', key_spec: 'ECC_NIST_P384', signing_algorithm: 'ECDSA_SHA_256', env: 'MKPF_BACKEND' });
    const p = problemsOf(raw).join('\n');
    for (const needle of ['max_concurrency', 'visibility_timeout_secs', 'retention_secs', '.path', 'FETCH', 'schedule_expression', 'SYMMETRIC_DEFAULT', 'does not go with ECC_NIST_P384', 'MKPF_BACKEND is set by the platform']) {
      assert.ok(p.includes(needle), `expected a problem about ${needle} in:\n${p}`);
    }
  });

  it('names the file and every problem in the error message', () => {
    assert.throws(() => loadManifest('/nonexistent/manifest.json'), /invalid manifest \/nonexistent\/manifest.json:\n  - cannot read it as JSON/);
    const raw = rawManifest(V1_MANIFEST_PATH);
    delete raw.routes;
    raw.tables[0].partition_key = 7;
    assert.throws(() => parseManifest(raw, 'x.json'), (e: Error) => /invalid manifest x.json:\n {2}- /.test(e.message) && /routes: expected a list/.test(e.message) && /partition_key/.test(e.message));
  });
});
