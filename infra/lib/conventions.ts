// Names and sizes shared by the stacks, the tests and scripts/deploy. Physical names follow the
// Rust adapters (shared/core/src/config.rs, shared/aws/src/dynamodb.rs, shared/aws/src/sqs.rs):
// table = MKPF_TABLE_PREFIX + name, queue = MKPF_QUEUE_PREFIX + name, dead-letter queue =
// MKPF_QUEUE_PREFIX + dead-letter name; the prefixes are "<stage>-".

import type { FunctionKind, FunctionSpec, QueueSpec, RouteSpec } from './manifest';
import type { StageName } from './stage-config';

export const tablePrefix = (stage: StageName) => `${stage}-`;
export const queuePrefix = (stage: StageName) => `${stage}-`;
export const tableName = (stage: StageName, name: string) => `${tablePrefix(stage)}${name}`;
export const queueName = (stage: StageName, name: string) => `${queuePrefix(stage)}${name}`;
/** The Lambda function of a route, consumer or job, by its id (manifest `function`). */
export const functionName = (stage: StageName, id: string) => `mkpf-${stage}-${id}`;
export const platformStackName = (stage: StageName) => `Mkpf-${stage}`;
export const edgeStackName = (stage: StageName) => `Mkpf-${stage}-edge`;

/** WebACLs for CloudFront must live in us-east-1. */
export const EDGE_REGION = 'us-east-1';

/** The header CloudFront adds to every origin request; the API's authorizer checks it. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/**
 * The route whose function checks that DynamoDB and SQS are reachable (ListTables, ListQueues:
 * actions without resource-level permissions). Only this function gets them.
 */
export const HEALTH_ROUTE = 'health';

/**
 * The code of every route, consumer and job: ONE package (functions/lambda, cargo package
 * `mkpf-functions`) with one binary, `mkpf-function`, which scripts/package builds for arm64 into
 * dist/lambda/mkpf-function.zip (`bootstrap` at its root, for `provided.al2023`). Each route,
 * consumer and job is still a Lambda function of its own (own role, log group, settings), all
 * from this one asset; its Handler is its id (manifest `function`), which Lambda hands the custom
 * runtime as the `_HANDLER` environment variable, and the binary serves the route, consumer or
 * job of that id.
 */
export const FUNCTION_PACKAGE = 'mkpf-functions';
export const FUNCTION_BINARY = 'mkpf-function';
export const FUNCTION_ZIP = `${FUNCTION_BINARY}.zip`;
export const HANDLER_ENV = '_HANDLER';

/**
 * The JPKI root bundle (J-LIS user-authentication roots), for functions that need
 * `trust_anchors`: committed at infra/jpki/, added by scripts/package (infra/tools/package_inputs.py)
 * at the root of the functions' zip (when any function needs it), which Lambda unpacks into
 * /var/task.
 */
export const TRUST_ANCHORS_FILE = 'jlis-auth-roots.pem';
export const TRUST_ANCHORS_SOURCE = ['jpki', TRUST_ANCHORS_FILE] as const; // under infra/
export const LAMBDA_TASK_ROOT = '/var/task';
export const TRUST_ANCHORS_ENV = 'MKPF_JPKI_TRUST_ANCHORS';
export const CRL_URLS_ENV = 'MKPF_CRL_URLS';

/**
 * Functions that need `data_key` seal or open secrets at rest (security codes, webhook signing
 * secrets) by envelope encryption under one symmetric KMS key (the platform stack's
 * `SecretsKey`, alias `mkpf-<stage>-secrets`): its ARN in `MKPF_DATA_KMS_KEY`, and these two
 * actions on it, only with the sealer's encryption context (shared/aws/src/sealer.rs
 * `ENCRYPTION_CONTEXT`; a test compares the two).
 */
export const DATA_KEY_ENV = 'MKPF_DATA_KMS_KEY';
export const SEALING_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];
export const SEALING_ENCRYPTION_CONTEXT: Readonly<Record<string, string>> = { purpose: 'mkpf-sealer' };

/**
 * Functions that need `staff_data_key` seal or open staff TOTP seeds under the same key, with
 * its ARN in `MKPF_STAFF_DATA_KMS_KEY`, the same actions, and only this encryption context
 * (shared/aws/src/sealer.rs `STAFF_ENCRYPTION_CONTEXT`; a test compares the two).
 */
export const STAFF_DATA_KEY_ENV = 'MKPF_STAFF_DATA_KMS_KEY';
export const STAFF_SEALING_ENCRYPTION_CONTEXT: Readonly<Record<string, string>> = { purpose: 'mkpf-staff-totp' };

/**
 * Routes that only payment providers call (manifest access exactly `provider`): Standard
 * Webhooks callbacks, authenticated by their HMAC signature over the exact body in the function
 * (no bearer token). The WAF lets them through its User-Agent and body-pattern rules
 * (edge-stack.ts): server-to-server clients may send no User-Agent, and a body is checked by its
 * signature before anything parses it.
 */
export const SIGNED_WEBHOOK_ACCESS = 'provider';

export function isSignedWebhook(r: RouteSpec): boolean {
  return r.access.length > 0 && r.access.every((a) => a === SIGNED_WEBHOOK_ACCESS);
}

/** An anchored regular expression matching the concrete paths of route path templates. */
export function pathTemplatesRegex(paths: readonly string[]): string {
  const one = (p: string) =>
    p
      .split('/')
      .map((seg) => (/^\{[A-Za-z_][A-Za-z0-9_]*\+\}$/.test(seg) ? '.+' : /^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
  return `^(?:${paths.map(one).join('|')})$`;
}

/**
 * Signing keys the infrastructure knows by name (manifest `signing_keys`): what a route signs
 * with tells which API throttle it gets (routeThrottleOf).
 */
export const STAFF_TOKEN_KEY = 'staff-tokens';
export const CITIZEN_TOKEN_KEY = 'citizen-tokens';

/**
 * Which per-route API Gateway throttle (stages/<stage>.json `api.*`) a route gets:
 *  - `credentials` (api.credentials_route_throttle, small): staff sign-in — it signs staff
 *    tokens, checks a password (argon2) and is a brute-force target; also any route signing with
 *    a key not named here, until it is given a limit of its own (KMS signing is a shared quota);
 *  - `card_sign_in` (api.card_sign_in_throttle, large): citizen sign-in with the My Number
 *    card — it signs citizen tokens and is the hot path at the platform's peak;
 *  - `public` (api.public_route_throttle): the other anonymous routes;
 *  - `default`: the stage default (api.route_throttle), no route setting.
 * The smallest wins where a route would fit two.
 */
export type RouteThrottleKind = 'credentials' | 'card_sign_in' | 'public' | 'default';
// A route may also be given its own limit by name in the stage file (api.route_throttles, e.g.
// the citizens' application route, sized for its peak): that wins over its class.


export function routeThrottleOf(r: RouteSpec): RouteThrottleKind {
  // Staff tokens, or a key not named here (checked first: the smallest limit wins).
  if (r.signsWith.some((k) => k === STAFF_TOKEN_KEY || k !== CITIZEN_TOKEN_KEY)) return 'credentials';
  if (r.signsWith.includes(CITIZEN_TOKEN_KEY)) return 'card_sign_in';
  return r.public ? 'public' : 'default';
}

/** Memory (MB) and timeout (s) per kind of function. */
export interface Sizing {
  readonly memoryMb: number;
  readonly timeoutSecs: number;
}

// The Rust binary starts fast, but TLS handshakes to DynamoDB/SQS on a cold start are
// CPU-bound, and Lambda CPU grows with memory: 512 MB is the measured-cost sweet spot to revisit
// with docs/performance.md numbers.
export const ROUTE_SIZING: Sizing = { memoryMb: 512, timeoutSecs: 10 }; // API Gateway waits 30 s at most
export const JOB_SIZING: Sizing = { memoryMb: 1024, timeoutSecs: 300 };
export const CONSUMER_MEMORY_MB = 512;

/**
 * AWS recommends a queue visibility timeout of at least 6 times the consuming function's timeout
 * (a batch may be retried while throttled); the consumer's timeout is derived from the queue.
 */
export const VISIBILITY_PER_TIMEOUT = 6;

export function consumerTimeoutSecs(q: QueueSpec): number {
  return Math.min(900, Math.floor(q.visibilityTimeoutSecs / VISIBILITY_PER_TIMEOUT));
}

export function sizingOf(f: FunctionSpec, queues: readonly QueueSpec[]): Sizing {
  const kind: FunctionKind = f.kind;
  switch (kind) {
    case 'route':
      return ROUTE_SIZING;
    case 'job':
      return JOB_SIZING;
    case 'consumer': {
      const q = queues.find((x) => x.name === (f as unknown as { queue: string }).queue);
      if (!q) throw new Error(`consumer ${f.name}: no queue`);
      return { memoryMb: CONSUMER_MEMORY_MB, timeoutSecs: consumerTimeoutSecs(q) };
    }
  }
}

/**
 * Reserved concurrency where a function protects a downstream: a consumer never runs more
 * copies than its queue's max_concurrency (what the receiving side, e.g. a provider's webhook
 * endpoint, was sized for; equal to the event source's MaximumConcurrency, as AWS advises), and a
 * job runs one copy at a time (a manual run never overlaps the scheduled one). Routes are limited
 * by API Gateway throttling instead, so they do not take reserved capacity from the account.
 */
export function reservedConcurrencyOf(f: FunctionSpec, queues: readonly QueueSpec[]): number | undefined {
  if (f.kind === 'job') return 1;
  if (f.kind === 'consumer') {
    const q = queues.find((x) => x.name === (f as unknown as { queue: string }).queue);
    return q?.maxConcurrency;
  }
  return undefined;
}

/** DynamoDB actions per declared access. */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem'];
export const TABLE_WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
/** Append-only tables (the audit trail): put and update, but no DeleteItem and no BatchWriteItem (which can delete). */
export const TABLE_APPEND_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem'];
/** The DynamoDB operations the adapter calls (for the SystemErrors alarm). */
export const TABLE_OPERATIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'TransactWriteItems', 'BatchGetItem', 'BatchWriteItem'];
/** SQS actions for a queue a function sends to: the adapter resolves the URL by name first. */
export const QUEUE_SEND_ACTIONS = ['sqs:SendMessage', 'sqs:GetQueueUrl'];
/** SQS actions for a queue a function inspects (depth). */
export const QUEUE_INSPECT_ACTIONS = ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes'];
export const SIGN_ACTIONS = ['kms:Sign', 'kms:GetPublicKey'];
export const VERIFY_ACTIONS = ['kms:GetPublicKey'];
export const HEALTH_ACTIONS = ['dynamodb:ListTables', 'sqs:ListQueues'];

/**
 * Functions, with their roles, log groups, API routes, event source mappings, schedules and
 * alarms (about 11 resources per route), live in nested stacks, because one CloudFormation stack
 * holds at most 500 resources and the route table will outgrow that. A function's group is a
 * stable hash of its id (manifest `function`; the same string as the binary name of the days of
 * one binary per function, so no function moved when they merged): adding or removing a
 * function never moves another one to a different stack (which would fail, since function
 * names are fixed). Changing FUNCTION_GROUPS moves functions: do it only together with a
 * planned, staged migration.
 */
export const FUNCTION_GROUPS = 8;

/** CloudFormation's limit of resources per stack (nested stacks included, each on its own). */
export const MAX_RESOURCES_PER_STACK = 500;

export function functionGroupOf(id: string): number {
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  for (const c of Buffer.from(id, 'utf8')) {
    h ^= c;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % FUNCTION_GROUPS;
}
