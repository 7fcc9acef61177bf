// Reads a function's IAM permissions back from a synthesized template and lists everything that
// is more (or less) than the manifest declares for it. The expected actions are written out here
// on purpose, independently of lib/conventions.ts: a change there must show up as a failure here.

import type { FunctionSpec } from '../lib/manifest';
import { type Synth, asList, getAttArnOf, logicalId, resourcesOf } from './helpers';

export const READ = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:Query'];
export const READ_WRITE = [...READ, 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
export const APPEND = [...READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const tableActions = (access: string) => (access === 'read' ? READ : access === 'append' ? APPEND : READ_WRITE);
const SEND = ['sqs:GetQueueUrl', 'sqs:SendMessage'];
const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
const INSPECT = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'];
const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
const HEALTH = ['dynamodb:ListTables', 'sqs:ListQueues'];
const DATA_KEY_READ = ['kms:Decrypt', 'kms:DescribeKey'];
const DATA_KEY_WRITE = ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'];
/** Envelope sealing (needs data_key): new data keys and opening them, with the sealer's encryption context only. */
export const SEALING = ['kms:Decrypt', 'kms:GenerateDataKey'];
export const SEALING_CONDITION = { StringEquals: { 'kms:EncryptionContext:purpose': 'mkpf-sealer' } };
/** Staff TOTP seeds (needs staff_data_key): the same actions on the same key, only with the staff-only context. */
export const STAFF_SEALING_CONDITION = { StringEquals: { 'kms:EncryptionContext:purpose': 'mkpf-staff-totp' } };

type Target =
  | { kind: 'table'; table: string; index?: string }
  | { kind: 'queue'; queue: string }
  | { kind: 'dlq'; queue: string }
  | { kind: 'data-key' }
  | { kind: 'secrets-key' }
  | { kind: 'signing-key'; key: string }
  | { kind: 'own-log-group' }
  | { kind: 'any' }
  | { kind: 'unknown'; text: string };

/** The statements attached to a function's role (inline and attached policies). */
export function statementsOf(s: Synth, functionId: string, json: any = s.json): { statements: any[]; managed: unknown[] } {
  const f = s.platform.functions.get(functionId);
  if (!f) throw new Error(`no function ${functionId}`);
  const roleId = logicalId(f.role);
  const role = json.Resources[roleId];
  const statements: any[] = [];
  for (const p of asList(role.Properties.Policies)) statements.push(...asList((p as any).PolicyDocument.Statement));
  for (const p of Object.values(resourcesOf(json, 'AWS::IAM::Policy'))) {
    if (asList(p.Properties.Roles).some((r: any) => r?.Ref === roleId)) statements.push(...asList(p.Properties.PolicyDocument.Statement));
  }
  return { statements, managed: asList(role.Properties.ManagedPolicyArns) };
}

export function iamProblems(s: Synth, spec: FunctionSpec, json: any = s.json): string[] {
  const problems: string[] = [];
  const p = s.platform;
  const where = `${spec.kind} ${spec.name}`;
  const ids = new Map<string, Target>();
  for (const [name, t] of p.tables) ids.set(logicalId(t), { kind: 'table', table: name });
  for (const [name, q] of p.queues) {
    ids.set(logicalId(q.queue), { kind: 'queue', queue: name });
    ids.set(logicalId(q.dlq), { kind: 'dlq', queue: name });
  }
  ids.set(logicalId(p.dataKey), { kind: 'data-key' });
  if (p.secretsKey) ids.set(logicalId(p.secretsKey), { kind: 'secrets-key' });
  for (const [name, k] of p.signingKeys) ids.set(logicalId(k), { kind: 'signing-key', key: name });
  ids.set(logicalId(p.functions.get(spec.function)!.logGroup), { kind: 'own-log-group' });

  const classify = (r: any): Target => {
    if (r === '*') return { kind: 'any' };
    const id = getAttArnOf(r);
    if (id) return ids.get(id) ?? { kind: 'unknown', text: JSON.stringify(r) };
    const join = r?.['Fn::Join'];
    if (join && join[0] === '' && join[1].length === 2) {
      const t = ids.get(getAttArnOf(join[1][0]) ?? '');
      const m = typeof join[1][1] === 'string' ? /^\/index\/(.+)$/.exec(join[1][1]) : null;
      if (t?.kind === 'table' && m) return { kind: 'table', table: t.table, index: m[1] };
    }
    return { kind: 'unknown', text: JSON.stringify(r) };
  };

  const { statements, managed } = statementsOf(s, spec.function, json);
  if (managed.length > 0) problems.push(`${where}: managed policies attached: ${JSON.stringify(managed)}`);

  const declaredTables = new Map(spec.tables.map((t) => [t.name, t.access]));
  const consumes = spec.kind === 'consumer' ? (spec as any).queue : undefined;
  const writesTables = spec.tables.some((t) => t.access !== 'read');
  const usesDataKey = spec.tables.length > 0 || spec.sendsTo.length > 0 || consumes !== undefined;
  const granted = new Map<string, Set<string>>(); // "table:ops" / "table:ops/gsi1" / "queue:x" / ... → actions
  const grant = (key: string, actions: string[]) => {
    const set = granted.get(key) ?? new Set<string>();
    for (const a of actions) set.add(a);
    granted.set(key, set);
  };

  for (const st of statements) {
    if (st.Effect !== 'Allow') problems.push(`${where}: a statement that is not Allow: ${JSON.stringify(st)}`);
    if (st.NotAction || st.NotResource) problems.push(`${where}: NotAction/NotResource: ${JSON.stringify(st)}`);
    const actions = asList<string>(st.Action);
    for (const a of actions) if (a.includes('*')) problems.push(`${where}: wildcard action ${a}`);
    for (const r of asList(st.Resource)) {
      const t = classify(r);
      const extra = (allowed: string[]) => actions.filter((a) => !allowed.includes(a));
      switch (t.kind) {
        case 'table': {
          const access = declaredTables.get(t.table);
          if (!access) {
            problems.push(`${where}: touches undeclared table ${t.table}`);
            break;
          }
          const def = s.manifest.tables.find((x) => x.name === t.table)!;
          if (t.index !== undefined && !def.indexes.some((i) => i.name === t.index)) problems.push(`${where}: index ${t.index} is not an index of ${t.table}`);
          const bad = extra(tableActions(access));
          if (bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on ${access} table ${t.table}${t.index ? `/index/${t.index}` : ''}`);
          grant(`table:${t.table}${t.index ? `/${t.index}` : ''}`, actions);
          break;
        }
        case 'queue': {
          const allowed = [
            ...(spec.sendsTo.includes(t.queue) ? SEND : []),
            ...(consumes === t.queue ? CONSUME : []),
            ...(spec.inspectsQueues.includes(t.queue) ? INSPECT : []),
          ];
          if (allowed.length === 0) problems.push(`${where}: touches undeclared queue ${t.queue}`);
          const bad = extra(allowed);
          if (allowed.length > 0 && bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on queue ${t.queue}`);
          grant(`queue:${t.queue}`, actions);
          break;
        }
        case 'dlq': {
          const allowed = spec.inspectsQueues.includes(t.queue) ? INSPECT : [];
          const bad = extra(allowed);
          if (bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on the dead-letter queue of ${t.queue}`);
          grant(`dlq:${t.queue}`, actions);
          break;
        }
        case 'data-key': {
          if (!usesDataKey) problems.push(`${where}: uses the data key but declares no table or queue`);
          const allowed = [...DATA_KEY_READ, ...(writesTables ? DATA_KEY_WRITE : []), ...(spec.sendsTo.length > 0 ? ['kms:GenerateDataKey'] : [])];
          const bad = extra(allowed);
          if (bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on the data key`);
          break;
        }
        case 'secrets-key': {
          const bad = extra(SEALING);
          if (bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on the secrets key`);
          // Each grant is under exactly one context, and only the context of a declared need.
          const cond = JSON.stringify(st.Condition);
          if (cond === JSON.stringify(SEALING_CONDITION)) {
            if (!spec.needs.includes('data_key')) problems.push(`${where}: uses the secrets key but does not need data_key`);
            grant('secrets-key', actions);
          } else if (cond === JSON.stringify(STAFF_SEALING_CONDITION)) {
            if (!spec.needs.includes('staff_data_key')) problems.push(`${where}: opens staff seeds but does not need staff_data_key`);
            grant('staff-secrets-key', actions);
          } else {
            problems.push(`${where}: the secrets key without the sealer's encryption context: ${cond}`);
          }
          break;
        }
        case 'signing-key': {
          const allowed = spec.signsWith.includes(t.key) ? ['kms:Sign', 'kms:GetPublicKey'] : spec.verifiesWith.includes(t.key) ? ['kms:GetPublicKey'] : [];
          if (allowed.length === 0) problems.push(`${where}: touches undeclared signing key ${t.key}`);
          const bad = extra(allowed);
          if (allowed.length > 0 && bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on signing key ${t.key}`);
          grant(`key:${t.key}`, actions);
          break;
        }
        case 'own-log-group': {
          const bad = extra(['logs:CreateLogStream', 'logs:PutLogEvents']);
          if (bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on its log group`);
          break;
        }
        case 'any': {
          const allowed = [...XRAY, ...(spec.kind === 'route' && spec.name === 'health' ? HEALTH : [])];
          const bad = extra(allowed);
          if (bad.length > 0) problems.push(`${where}: ${bad.join(', ')} on every resource ("*")`);
          grant('any', actions);
          break;
        }
        case 'unknown':
          problems.push(`${where}: a resource that is none of its declared ones: ${t.text}`);
          break;
      }
    }
  }

  // Nothing declared may be missing either.
  const has = (key: string, actions: string[]) => actions.every((a) => granted.get(key)?.has(a));
  for (const [table, access] of declaredTables) {
    const def = s.manifest.tables.find((x) => x.name === table)!;
    const want = tableActions(access);
    if (!has(`table:${table}`, want)) problems.push(`${where}: lacks ${access} on table ${table}`);
    for (const i of def.indexes) if (!has(`table:${table}/${i.name}`, want)) problems.push(`${where}: lacks ${access} on index ${i.name} of ${table}`);
  }
  for (const q of spec.sendsTo) if (!has(`queue:${q}`, SEND)) problems.push(`${where}: cannot send to ${q}`);
  for (const q of spec.inspectsQueues) if (!has(`queue:${q}`, INSPECT) || !has(`dlq:${q}`, INSPECT)) problems.push(`${where}: cannot inspect ${q}`);
  if (consumes && !has(`queue:${consumes}`, CONSUME)) problems.push(`${where}: cannot consume ${consumes}`);
  for (const k of spec.signsWith) if (!has(`key:${k}`, ['kms:Sign', 'kms:GetPublicKey'])) problems.push(`${where}: cannot sign with ${k}`);
  for (const k of spec.verifiesWith) if (!has(`key:${k}`, ['kms:GetPublicKey'])) problems.push(`${where}: cannot verify with ${k}`);
  if (spec.needs.includes('data_key') && !has('secrets-key', SEALING)) problems.push(`${where}: cannot seal with the secrets key`);
  if (spec.needs.includes('staff_data_key') && !has('staff-secrets-key', SEALING)) problems.push(`${where}: cannot seal staff seeds with the secrets key`);
  if (spec.kind === 'route' && spec.name === 'health' && !has('any', HEALTH)) problems.push(`${where}: lacks ${HEALTH.join(', ')}`);
  if (!has('any', XRAY)) problems.push(`${where}: cannot send X-Ray traces`);
  return problems;
}
