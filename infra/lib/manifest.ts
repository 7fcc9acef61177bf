// Reads and checks `infra/manifest.json`, the file generated from the Rust route table
// (`cargo run -p mkpf-local --bin mkpf-admin -- manifest --write`). Everything the CDK app
// defines per table, queue, route, consumer, job and signing key comes from here; nothing is
// listed by hand in infra/.
//
// Each route, consumer and job has an id, `function`: its Lambda function is `mkpf-<stage>-<id>`
// and its Handler the id itself, which picks the entry point in the one binary every function
// runs (conventions.ts FUNCTION_ZIP). A manifest of the older generator (one binary per function,
// the field was `binary`) is refused with a pointer to regenerate it.
//
// The loader accepts both shapes the generator has produced or will produce:
//  - `tables` of a route/consumer/job: plain strings (meaning read_write) or objects
//    `{ "name": "ops", "access": "read" | "append" | "read_write" }` (append: put and update,
//    never delete — the audit trail);
//  - `signing_keys` (top level) and `signs_with` / `verifies_with` (per function) may be absent;
//  - `needs` (per function): named deployment inputs besides tables, queues and keys (see
//    NEEDS); absent means none, an unknown name is an error;
//  - `metric_alarms` (top level): alarms on platform counters (EMF); absent means none.
// Anything inconsistent (a reference to an unknown table, queue or key, a duplicate name, a
// function id used twice, a value AWS would refuse) is an error with one line per problem, so a
// bad manifest stops synthesis instead of producing a half-right template.

import * as fs from 'node:fs';

export type TableAccess = 'read' | 'append' | 'read_write';

/** Narrowest first: where a table is listed twice, the wider access wins. */
const ACCESS_ORDER: readonly TableAccess[] = ['read', 'append', 'read_write'];

export interface IndexSpec {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
}

export interface TableSpec {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly indexes: readonly IndexSpec[];
  readonly ttlAttribute?: string;
  readonly purpose: string;
}

export interface QueueSpec {
  readonly name: string;
  readonly deadLetterQueue: string;
  readonly visibilityTimeoutSecs: number;
  readonly maxReceives: number;
  readonly retentionSecs: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly purpose: string;
}

export interface SigningKeySpec {
  readonly name: string;
  readonly keySpec: string;
  readonly signingAlgorithm: string;
  readonly env: string;
  readonly purpose: string;
}

export interface TableUse {
  readonly name: string;
  readonly access: TableAccess;
}

export type FunctionKind = 'route' | 'consumer' | 'job';

/**
 * Deployment inputs a function may need (manifest field `needs`), each set by the CDK app as an
 * environment variable (the Rust side: `Need` in shared/http/src/routes/spec.rs):
 *  - `trust_anchors`: the JPKI root bundle, packaged into the functions' one zip by
 *    scripts/package (`MKPF_JPKI_TRUST_ANCHORS` = its path under /var/task);
 *  - `crl_urls`: where the J-LIS CRLs are published (`MKPF_CRL_URLS`, from the stage file's
 *    `card_auth.crl_urls`);
 *  - `data_key`: the symmetric KMS key sealing secrets at rest (`MKPF_DATA_KMS_KEY` = its ARN),
 *    with kms:GenerateDataKey and kms:Decrypt on it (envelope encryption, mkpf_aws::KmsSealer);
 *  - `staff_data_key`: the same key for staff TOTP seeds (`MKPF_STAFF_DATA_KMS_KEY` = its ARN),
 *    with the same two actions but only under the staff-only encryption context, so functions
 *    with `data_key` cannot open staff seeds and staff functions cannot open other secrets.
 */
export const NEEDS = ['trust_anchors', 'crl_urls', 'data_key', 'staff_data_key'] as const;
export type Need = (typeof NEEDS)[number];

/** What every function (route, consumer, job) declares about the resources it uses. */
export interface FunctionSpec {
  readonly kind: FunctionKind;
  readonly name: string;
  /**
   * The function's id (manifest `function`): unique over routes, consumers and jobs; it names the
   * Lambda function (`mkpf-<stage>-<id>`) and is its Handler, which the one binary reads (as
   * `_HANDLER`) to pick the route, consumer or job to serve.
   */
  readonly function: string;
  readonly tables: readonly TableUse[];
  readonly sendsTo: readonly string[];
  readonly signsWith: readonly string[];
  readonly verifiesWith: readonly string[];
  /**
   * Queues whose attributes (depth) the function reads: sqs:GetQueueUrl and
   * sqs:GetQueueAttributes on the queue and its dead-letter queue. Optional manifest field
   * `inspects_queues`; absent means none.
   */
  readonly inspectsQueues: readonly string[];
  /** Deployment inputs (manifest `needs`); absent means none. */
  readonly needs: readonly Need[];
}

export interface RouteSpec extends FunctionSpec {
  readonly kind: 'route';
  readonly method: string;
  readonly path: string;
  readonly access: readonly string[];
  readonly public: boolean;
  readonly idempotent: boolean;
}

export interface ConsumerSpec extends FunctionSpec {
  readonly kind: 'consumer';
  readonly queue: string;
}

export interface JobSpec extends FunctionSpec {
  readonly kind: 'job';
  readonly scheduleExpression: string;
}

/**
 * An alarm on a platform counter: CloudWatch Embedded Metric Format, namespace
 * `metrics_namespace`, no dimensions; it fires when the counter's 5-minute sum reaches
 * `threshold` (a counter the code never emits stays OK: missing data is not breaching).
 */
export interface MetricAlarmSpec {
  readonly name: string;
  readonly metric: string;
  readonly threshold: number;
  readonly description: string;
}

export interface Manifest {
  readonly metricsNamespace: string;
  readonly scheduleTimezone: string;
  readonly tables: readonly TableSpec[];
  readonly queues: readonly QueueSpec[];
  readonly signingKeys: readonly SigningKeySpec[];
  readonly routes: readonly RouteSpec[];
  readonly consumers: readonly ConsumerSpec[];
  readonly jobs: readonly JobSpec[];
  readonly metricAlarms: readonly MetricAlarmSpec[];
}

/** Every function of the manifest, routes first, then consumers, then jobs. */
export function allFunctions(m: Manifest): FunctionSpec[] {
  return [...m.routes, ...m.consumers, ...m.jobs];
}

export class ManifestError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`invalid manifest ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

/** KMS key specs usable for SIGN_VERIFY keys. */
const SIGN_KEY_SPECS: Record<string, readonly string[]> = {
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
  RSA_2048: ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'],
  RSA_3072: ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'],
  RSA_4096: ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'],
};

/** Environment variables the platform itself sets on every function; a key's `env` may not reuse them. */
export const RESERVED_ENV = ['MKPF_BACKEND', 'MKPF_TABLE_PREFIX', 'MKPF_QUEUE_PREFIX', 'MKPF_LOG'];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const NAME_RE = /^[a-z0-9][a-z0-9_-]*$/;
const ATTR_RE = /^[A-Za-z0-9_.-]{1,255}$/;
// API Gateway HTTP API route paths: literal segments and {param} / {proxy+} segments.
const PATH_RE = /^\/$|^(\/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\}))+$/;
const SCHEDULE_RE = /^(cron\([^)]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$/;

/** Reads and checks a manifest file. */
export function loadManifest(file: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ManifestError(file, [`cannot read it as JSON: ${(e as Error).message}`]);
  }
  return parseManifest(raw, file);
}

/** Checks an already parsed manifest (tests pass modified copies). */
export function parseManifest(raw: unknown, source = '<manifest>'): Manifest {
  const p = new Problems();
  const root = p.object(raw, 'manifest') ?? {};

  const tables = p.array(root.tables, 'tables').map((t, i) => table(p, t, `tables[${i}]`));
  const queues = p.array(root.queues, 'queues').map((q, i) => queue(p, q, `queues[${i}]`));
  const signingKeys =
    root.signing_keys === undefined ? [] : p.array(root.signing_keys, 'signing_keys').map((k, i) => signingKey(p, k, `signing_keys[${i}]`));
  const routes = p.array(root.routes, 'routes').map((r, i) => route(p, r, `routes[${i}]`));
  const consumers = p.array(root.consumers, 'consumers').map((c, i) => consumer(p, c, `consumers[${i}]`));
  const jobs = p.array(root.jobs, 'jobs').map((j, i) => job(p, j, `jobs[${i}]`));
  const scheduleTimezone = root.schedule_timezone === undefined ? 'Asia/Tokyo' : p.string(root.schedule_timezone, 'schedule_timezone');
  const metricsNamespace = root.metrics_namespace === undefined ? 'MKPF' : p.string(root.metrics_namespace, 'metrics_namespace');
  const metricAlarms =
    root.metric_alarms === undefined ? [] : p.array(root.metric_alarms, 'metric_alarms').map((a, i) => metricAlarm(p, a, `metric_alarms[${i}]`));

  // Names are unique within their kind; queue and dead-letter queue names share one namespace.
  p.unique(tables.map((t) => t.name), 'table name');
  p.unique([...queues.map((q) => q.name), ...queues.map((q) => q.deadLetterQueue)], 'queue name');
  p.unique(signingKeys.map((k) => k.name), 'signing key name');
  p.unique(signingKeys.map((k) => k.env), 'signing key env');
  p.unique(routes.map((r) => r.name), 'route name');
  p.unique(routes.map((r) => `${r.method} ${r.path}`), 'route (method and path)');
  p.unique(consumers.map((c) => c.name), 'consumer name');
  p.unique(jobs.map((j) => j.name), 'job name');
  p.unique(metricAlarms.map((a) => a.name), 'metric alarm name');
  const fns: FunctionSpec[] = [...routes, ...consumers, ...jobs];
  // One Lambda function per id: each serves exactly one route, consumer or job, and the id (its
  // Handler) is how the shared binary knows which. (A missing id is reported on its own.)
  p.unique(
    fns.map((f) => f.function).filter((id) => id !== ''),
    'function (one Lambda function serves one route, consumer or job)',
  );
  p.unique(consumers.map((c) => c.queue), 'consumer queue (one consumer per queue)');

  const tableNames = new Set(tables.map((t) => t.name));
  const queueNames = new Set(queues.map((q) => q.name));
  const keyNames = new Set(signingKeys.map((k) => k.name));
  for (const f of fns) {
    const where = `${f.kind} ${f.name}`;
    for (const t of f.tables) if (!tableNames.has(t.name)) p.add(`${where}: uses unknown table ${JSON.stringify(t.name)}`);
    for (const q of f.sendsTo) if (!queueNames.has(q)) p.add(`${where}: sends to unknown queue ${JSON.stringify(q)}`);
    for (const q of f.inspectsQueues) if (!queueNames.has(q)) p.add(`${where}: inspects unknown queue ${JSON.stringify(q)}`);
    for (const k of [...f.signsWith, ...f.verifiesWith]) {
      if (!keyNames.has(k)) p.add(`${where}: uses unknown signing key ${JSON.stringify(k)}`);
    }
  }
  for (const c of consumers) if (!queueNames.has(c.queue)) p.add(`consumer ${c.name}: consumes unknown queue ${JSON.stringify(c.queue)}`);

  if (p.list.length > 0) throw new ManifestError(source, p.list);
  return { metricsNamespace, scheduleTimezone, tables, queues, signingKeys, routes, consumers, jobs, metricAlarms };
}

// --- entries -------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function table(p: Problems, raw: unknown, at: string): TableSpec {
  const o = p.object(raw, at) ?? {};
  const name = p.name(o.name, `${at}.name`);
  const indexes = p.array(o.indexes ?? [], `${at}.indexes`).map((r, i) => {
    const io = p.object(r, `${at}.indexes[${i}]`) ?? {};
    return {
      name: p.matching(io.name, `${at}.indexes[${i}].name`, /^[A-Za-z0-9_.-]{3,255}$/),
      partitionKey: p.matching(io.partition_key, `${at}.indexes[${i}].partition_key`, ATTR_RE),
      sortKey: p.optional(io.sort_key, `${at}.indexes[${i}].sort_key`, ATTR_RE),
    };
  });
  p.unique(indexes.map((i) => i.name), `${at} index name`);
  if (indexes.length > 20) p.add(`${at}: ${indexes.length} indexes; DynamoDB allows 20 global secondary indexes per table`);
  return {
    name,
    partitionKey: p.matching(o.partition_key, `${at}.partition_key`, ATTR_RE),
    sortKey: p.optional(o.sort_key, `${at}.sort_key`, ATTR_RE),
    indexes,
    ttlAttribute: p.optional(o.ttl_attribute, `${at}.ttl_attribute`, ATTR_RE),
    purpose: o.purpose === undefined ? '' : p.string(o.purpose, `${at}.purpose`),
  };
}

function queue(p: Problems, raw: unknown, at: string): QueueSpec {
  const o = p.object(raw, at) ?? {};
  const name = p.name(o.name, `${at}.name`);
  return {
    name,
    deadLetterQueue: o.dead_letter_queue === undefined ? `${name}-dlq` : p.name(o.dead_letter_queue, `${at}.dead_letter_queue`),
    // Limits are SQS's own: visibility 0..12 h; retention 60 s..14 d; receives 1..1000.
    // Visibility must leave room for a consumer timeout of at least 1 s at 6x.
    visibilityTimeoutSecs: p.int(o.visibility_timeout_secs, `${at}.visibility_timeout_secs`, 6, 43200),
    maxReceives: p.int(o.max_receives, `${at}.max_receives`, 1, 1000),
    retentionSecs: p.int(o.retention_secs, `${at}.retention_secs`, 60, 1209600),
    // Lambda event source mapping limits: batch 1..10000 (above 10 needs a batching window),
    // maximum concurrency 2..1000.
    batchSize: p.int(o.batch_size, `${at}.batch_size`, 1, 10000),
    maxConcurrency: p.int(o.max_concurrency, `${at}.max_concurrency`, 2, 1000),
    purpose: o.purpose === undefined ? '' : p.string(o.purpose, `${at}.purpose`),
  };
}

function signingKey(p: Problems, raw: unknown, at: string): SigningKeySpec {
  const o = p.object(raw, at) ?? {};
  const keySpec = p.string(o.key_spec, `${at}.key_spec`);
  const signingAlgorithm = p.string(o.signing_algorithm, `${at}.signing_algorithm`);
  const algorithms = SIGN_KEY_SPECS[keySpec];
  if (!algorithms) {
    p.add(`${at}.key_spec: ${JSON.stringify(keySpec)} is not a KMS key spec for signing (one of ${Object.keys(SIGN_KEY_SPECS).join(', ')})`);
  } else if (!algorithms.includes(signingAlgorithm)) {
    p.add(`${at}.signing_algorithm: ${JSON.stringify(signingAlgorithm)} does not go with ${keySpec} (one of ${algorithms.join(', ')})`);
  }
  const env = p.matching(o.env, `${at}.env`, /^[A-Z][A-Z0-9_]*$/);
  if (RESERVED_ENV.includes(env)) p.add(`${at}.env: ${env} is set by the platform itself`);
  return {
    name: p.name(o.name, `${at}.name`),
    keySpec,
    signingAlgorithm,
    env,
    purpose: o.purpose === undefined ? '' : p.string(o.purpose, `${at}.purpose`),
  };
}

function metricAlarm(p: Problems, raw: unknown, at: string): MetricAlarmSpec {
  const o = p.object(raw, at) ?? {};
  return {
    name: p.name(o.name, `${at}.name`),
    // CloudWatch metric names: 1..255 characters.
    metric: p.matching(o.metric, `${at}.metric`, /^[A-Za-z0-9_.:-]{1,255}$/),
    threshold: p.int(o.threshold, `${at}.threshold`, 1, 1_000_000_000),
    // CloudWatch alarm descriptions: at most 1024 characters.
    description: o.description === undefined ? '' : p.matching(o.description, `${at}.description`, /^[^]{1,900}$/),
  };
}

function uses(p: Problems, o: Obj, at: string) {
  const tables = new Map<string, TableAccess>();
  for (const [i, t] of p.array(o.tables ?? [], `${at}.tables`).entries()) {
    let name: string;
    let access: TableAccess;
    if (typeof t === 'string') {
      // The first manifest shape: a plain table name means read and write.
      name = t;
      access = 'read_write';
    } else {
      const to = p.object(t, `${at}.tables[${i}]`) ?? {};
      name = p.string(to.name, `${at}.tables[${i}].name`);
      const a = to.access;
      if (ACCESS_ORDER.includes(a as TableAccess)) {
        access = a as TableAccess;
      } else {
        p.add(`${at}.tables[${i}].access: expected "read", "append" or "read_write", got ${JSON.stringify(a)}`);
        access = 'read';
      }
    }
    // The same table listed twice: the wider access wins.
    const before = tables.get(name);
    tables.set(name, before && ACCESS_ORDER.indexOf(before) > ACCESS_ORDER.indexOf(access) ? before : access);
  }
  const names = (v: unknown, field: string) =>
    v === undefined ? [] : [...new Set(p.array(v, `${at}.${field}`).map((x, i) => p.string(x, `${at}.${field}[${i}]`)))];
  return {
    name: p.name(o.name, `${at}.name`),
    function: functionId(p, o, at),
    tables: [...tables].map(([name, access]) => ({ name, access })),
    sendsTo: names(o.sends_to, 'sends_to'),
    signsWith: names(o.signs_with, 'signs_with'),
    verifiesWith: names(o.verifies_with, 'verifies_with'),
    inspectsQueues: names(o.inspects_queues, 'inspects_queues'),
    needs: needs(p, o.needs, `${at}.needs`),
  };
}

/**
 * `function`: the id of a route's, consumer's or job's Lambda function (and its Handler). Lower
 * case, so that `mkpf-<stage>-<id>` is a valid function name; before one package served every
 * function the field was `binary`, and a manifest that still says so was generated by an older
 * route table: it is refused rather than read, since the binary it was made for is gone.
 */
function functionId(p: Problems, o: Obj, at: string): string {
  if (o.function === undefined && o.binary !== undefined) {
    p.add(`${at}.binary: renamed to "function" (one binary serves every function, chosen by its Handler); regenerate the manifest (cargo run -p mkpf-local --bin mkpf-admin -- manifest --write)`);
    return '';
  }
  return p.matching(o.function, `${at}.function`, /^[a-z0-9][a-z0-9_-]{0,50}$/);
}

/** `needs`: known deployment input names, each once; absent means none. */
function needs(p: Problems, v: unknown, at: string): Need[] {
  if (v === undefined) return [];
  const out = new Set<Need>();
  for (const [i, x] of p.array(v, at).entries()) {
    const n = p.string(x, `${at}[${i}]`);
    if ((NEEDS as readonly string[]).includes(n)) out.add(n as Need);
    else if (n !== '') p.add(`${at}[${i}]: unknown deployment input ${JSON.stringify(n)} (known: ${NEEDS.join(', ')}); infra/ must learn to provide it first`);
  }
  return [...out];
}

function route(p: Problems, raw: unknown, at: string): RouteSpec {
  const o = p.object(raw, at) ?? {};
  const method = p.string(o.method, `${at}.method`).toUpperCase();
  if (!METHODS.includes(method)) p.add(`${at}.method: ${JSON.stringify(o.method)} is not one of ${METHODS.join(', ')}`);
  const access = p.array(o.access ?? [], `${at}.access`).map((a, i) => p.string(a, `${at}.access[${i}]`));
  return {
    kind: 'route',
    ...uses(p, o, at),
    method,
    path: p.matching(o.path, `${at}.path`, PATH_RE),
    access,
    public: o.public === undefined ? access.includes('public') : p.bool(o.public, `${at}.public`),
    idempotent: o.idempotent === undefined ? false : p.bool(o.idempotent, `${at}.idempotent`),
  };
}

function consumer(p: Problems, raw: unknown, at: string): ConsumerSpec {
  const o = p.object(raw, at) ?? {};
  return { kind: 'consumer', ...uses(p, o, at), queue: p.string(o.queue, `${at}.queue`) };
}

function job(p: Problems, raw: unknown, at: string): JobSpec {
  const o = p.object(raw, at) ?? {};
  return { kind: 'job', ...uses(p, o, at), scheduleExpression: p.matching(o.schedule_expression, `${at}.schedule_expression`, SCHEDULE_RE) };
}

// --- checking helpers ----------------------------------------------------------------------------

class Problems {
  readonly list: string[] = [];

  add(problem: string) {
    this.list.push(problem);
  }

  object(v: unknown, at: string): Obj | undefined {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Obj;
    this.add(`${at}: expected an object`);
    return undefined;
  }

  array(v: unknown, at: string): unknown[] {
    if (Array.isArray(v)) return v;
    this.add(`${at}: expected a list`);
    return [];
  }

  string(v: unknown, at: string): string {
    if (typeof v === 'string' && v.length > 0) return v;
    this.add(`${at}: expected a non-empty string, got ${JSON.stringify(v)}`);
    return '';
  }

  bool(v: unknown, at: string): boolean {
    if (typeof v === 'boolean') return v;
    this.add(`${at}: expected true or false, got ${JSON.stringify(v)}`);
    return false;
  }

  matching(v: unknown, at: string, re: RegExp): string {
    const s = this.string(v, at);
    if (s !== '' && !re.test(s)) this.add(`${at}: ${JSON.stringify(s)} does not match ${re}`);
    return s;
  }

  optional(v: unknown, at: string, re: RegExp): string | undefined {
    return v === null || v === undefined ? undefined : this.matching(v, at, re);
  }

  /** Lower-case names of tables, queues, functions: they become parts of AWS resource names. */
  name(v: unknown, at: string): string {
    return this.matching(v, at, NAME_RE);
  }

  int(v: unknown, at: string, lo: number, hi: number): number {
    if (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi) return v;
    this.add(`${at}: expected a whole number from ${lo} to ${hi}, got ${JSON.stringify(v)}`);
    return lo;
  }

  unique(values: string[], what: string) {
    const seen = new Set<string>();
    for (const v of values) {
      if (seen.has(v)) this.add(`duplicate ${what}: ${JSON.stringify(v)}`);
      seen.add(v);
    }
  }
}
