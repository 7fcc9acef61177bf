// The platform stack, checked item by item against the manifest it was built from — for the
// checked-in manifest and for the fixture with the coming additions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_DIR } from '../lib/app';
import { CITIZEN_TOKEN_KEY, CRL_URLS_ENV, DATA_KEY_ENV, SEALING_ENCRYPTION_CONTEXT, STAFF_DATA_KEY_ENV, STAFF_SEALING_ENCRYPTION_CONTEXT, STAFF_TOKEN_KEY, TRUST_ANCHORS_ENV, isSignedWebhook, pathTemplatesRegex, routeThrottleOf } from '../lib/conventions';
import { BULK_UPLOAD_PATH_PREFIXES, CARD_AUTH_PATH_PREFIX, COMMON_BODY_RULES, NO_USER_AGENT_LABEL, NO_USER_AGENT_RULE, STAFF_PATH_PREFIXES } from '../lib/edge-stack';
import { allFunctions } from '../lib/manifest';
import { MANIFESTS, type Synth, asList, getAttArnOf, logicalId, resourcesOf, synth } from './helpers';
import { READ, SEALING, SEALING_CONDITION, STAFF_SEALING_CONDITION, iamProblems, statementsOf } from './iam-check';

for (const { label, manifest } of MANIFESTS) {
  describe(`platform stack from ${label}`, () => {
    const s: Synth = synth({ manifest, nag: false });
    const { platform: p, json, config } = s;
    const id = (c: unknown) => logicalId(c);
    const fnId = (functionId: string) => id(p.functions.get(functionId)!.fn);

    describe('tables', () => {
      it('one table per manifest table and no other', () => {
        assert.deepEqual(
          Object.values(resourcesOf(json, 'AWS::DynamoDB::Table')).map((t) => t.Properties.TableName).sort(),
          manifest.tables.map((t) => `staging-${t.name}`).sort(),
        );
      });
      for (const t of manifest.tables) {
        it(`${t.name}: keys, GSIs, TTL, on demand, PITR, deletion protection, customer-managed key, retained`, () => {
          const r = json.Resources[id(p.tables.get(t.name))];
          const props = r.Properties;
          assert.equal(props.TableName, `staging-${t.name}`);
          assert.deepEqual(props.KeySchema, [
            { AttributeName: t.partitionKey, KeyType: 'HASH' },
            ...(t.sortKey ? [{ AttributeName: t.sortKey, KeyType: 'RANGE' }] : []),
          ]);
          assert.equal(props.BillingMode, 'PAY_PER_REQUEST');
          assert.equal(props.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled, true);
          assert.equal(props.DeletionProtectionEnabled, true);
          assert.equal(r.DeletionPolicy, 'Retain');
          assert.equal(r.UpdateReplacePolicy, 'Retain');
          assert.deepEqual(props.SSESpecification, { KMSMasterKeyId: { 'Fn::GetAtt': [id(p.dataKey), 'Arn'] }, SSEEnabled: true, SSEType: 'KMS' });
          if (t.ttlAttribute) assert.deepEqual(props.TimeToLiveSpecification, { AttributeName: t.ttlAttribute, Enabled: true });
          else assert.equal(props.TimeToLiveSpecification, undefined);
          const gsis = asList(props.GlobalSecondaryIndexes) as any[];
          assert.deepEqual(
            gsis.map((g) => ({ name: g.IndexName, keys: g.KeySchema, projection: g.Projection.ProjectionType })),
            t.indexes.map((i) => ({
              name: i.name,
              keys: [{ AttributeName: i.partitionKey, KeyType: 'HASH' }, ...(i.sortKey ? [{ AttributeName: i.sortKey, KeyType: 'RANGE' }] : [])],
              projection: 'ALL',
            })),
          );
          // Every key attribute is a string, declared once.
          const attrs = new Set([t.partitionKey, t.sortKey, ...t.indexes.flatMap((i) => [i.partitionKey, i.sortKey])].filter((a): a is string => !!a));
          assert.deepEqual(
            (props.AttributeDefinitions as any[]).map((a) => `${a.AttributeName}:${a.AttributeType}`).sort(),
            [...attrs].map((a) => `${a}:S`).sort(),
          );
        });
      }
    });

    describe('queues', () => {
      it('every SQS queue is a manifest queue with a redrive policy, or a dead-letter queue', () => {
        const queues = resourcesOf(json, 'AWS::SQS::Queue');
        const dlqTargets = new Set(Object.values(queues).map((q) => getAttArnOf(q.Properties.RedrivePolicy?.deadLetterTargetArn)).filter(Boolean));
        dlqTargets.add(id(p.schedulerDlq));
        for (const [qid, q] of Object.entries(queues)) {
          assert.ok(q.Properties.RedrivePolicy || dlqTargets.has(qid), `${q.Properties.QueueName} has no dead-letter queue and is none`);
          assert.deepEqual(q.Properties.KmsMasterKeyId, { 'Fn::GetAtt': [id(p.dataKey), 'Arn'] }, `${q.Properties.QueueName} is not encrypted with the data key`);
        }
        assert.equal(Object.keys(queues).length, manifest.queues.length * 2 + 1);
      });
      for (const q of manifest.queues) {
        it(`${q.name}: name, visibility, retention, DLQ ${q.deadLetterQueue} after ${q.maxReceives} receives, TLS only`, () => {
          const { queue, dlq } = p.queues.get(q.name)!;
          const props = json.Resources[id(queue)].Properties;
          assert.equal(props.QueueName, `staging-${q.name}`);
          assert.equal(props.VisibilityTimeout, q.visibilityTimeoutSecs);
          assert.equal(props.MessageRetentionPeriod, q.retentionSecs);
          assert.deepEqual(props.RedrivePolicy, { deadLetterTargetArn: { 'Fn::GetAtt': [id(dlq), 'Arn'] }, maxReceiveCount: q.maxReceives });
          const dlqProps = json.Resources[id(dlq)].Properties;
          assert.equal(dlqProps.QueueName, `staging-${q.deadLetterQueue}`);
          assert.equal(dlqProps.MessageRetentionPeriod, 14 * 24 * 3600);
          for (const target of [queue, dlq]) {
            s.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
              Queues: [{ Ref: id(target) }],
              PolicyDocument: {
                Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
              },
            });
          }
        });
      }
    });

    describe('functions', () => {
      const fns = allFunctions(manifest);
      it('one Lambda per route, consumer and job (plus the origin-verify authorizer and the web site deployment)', () => {
        const names = Object.values(resourcesOf(json, 'AWS::Lambda::Function')).map((f) => f.Properties.FunctionName);
        assert.deepEqual(names.sort(), [...fns.map((f) => `mkpf-staging-${f.function}`), 'mkpf-staging-origin-verify', 'mkpf-staging-site-deployment'].sort());
      });
      it('all run the same code (one asset); each has its id as Handler, and a role of its own', () => {
        const props = fns.map((f) => json.Resources[fnId(f.function)].Properties);
        assert.equal(new Set(props.map((x) => JSON.stringify(x.Code))).size, 1, 'one code asset for every function');
        assert.ok(props[0].Code.S3Key, JSON.stringify(props[0].Code));
        assert.deepEqual(
          props.map((x) => x.Handler),
          fns.map((f) => f.function),
        );
        const roles = fns.map((f, i) => {
          const roleId = id(p.functions.get(f.function)!.role);
          assert.deepEqual(props[i].Role, { 'Fn::GetAtt': [roleId, 'Arn'] }, f.function);
          return roleId;
        });
        assert.equal(new Set(roles).size, fns.length, 'no two functions share a role');
      });
      for (const f of fns) {
        it(`${f.kind} ${f.name}: provided.al2023 on arm64, sizing, X-Ray, JSON logs to its own log group, environment`, () => {
          const props = json.Resources[fnId(f.function)].Properties;
          assert.equal(props.Runtime, 'provided.al2023');
          assert.deepEqual(props.Architectures, ['arm64']);
          assert.equal(props.Handler, f.function);
          assert.deepEqual(props.TracingConfig, { Mode: 'Active' });
          assert.equal(props.LoggingConfig.LogFormat, 'JSON');
          const logGroupId = id(p.functions.get(f.function)!.logGroup);
          assert.deepEqual(props.LoggingConfig.LogGroup, { Ref: logGroupId });
          const lg = json.Resources[logGroupId].Properties;
          assert.equal(lg.LogGroupName, `/aws/lambda/mkpf-staging-${f.function}`);
          assert.equal(lg.RetentionInDays, config.logRetentionDays);
          const expectedEnv: Record<string, unknown> = { MKPF_BACKEND: 'aws', MKPF_TABLE_PREFIX: 'staging-', MKPF_QUEUE_PREFIX: 'staging-', MKPF_LOG: 'info' };
          for (const k of manifest.signingKeys) {
            if (f.signsWith.includes(k.name) || f.verifiesWith.includes(k.name)) expectedEnv[k.env] = { 'Fn::GetAtt': [id(p.signingKeys.get(k.name)), 'Arn'] };
          }
          // Deployment inputs: the bundle scripts/package puts at the zip's root; the stage
          // file's CRL URLs, none for staging (so unset).
          if (f.needs.includes('trust_anchors')) expectedEnv.MKPF_JPKI_TRUST_ANCHORS = '/var/task/jlis-auth-roots.pem';
          if (f.needs.includes('crl_urls') && config.cardAuth.crlUrls.length > 0) expectedEnv.MKPF_CRL_URLS = config.cardAuth.crlUrls.join(' ');
          if (f.needs.includes('data_key')) expectedEnv.MKPF_DATA_KMS_KEY = { 'Fn::GetAtt': [id(p.secretsKey), 'Arn'] };
          if (f.needs.includes('staff_data_key')) expectedEnv.MKPF_STAFF_DATA_KMS_KEY = { 'Fn::GetAtt': [id(p.secretsKey), 'Arn'] };
          assert.deepEqual(props.Environment.Variables, expectedEnv);
          if (f.kind === 'route') {
            assert.equal(props.Timeout, 10);
            assert.equal(props.MemorySize, 512);
            assert.equal(props.ReservedConcurrentExecutions, undefined, 'routes are limited by API throttling, not reserved concurrency');
          }
          if (f.kind === 'job') {
            assert.equal(props.Timeout, 300);
            assert.equal(props.ReservedConcurrentExecutions, 1, 'a job never overlaps itself');
          }
          if (f.kind === 'consumer') {
            const q = manifest.queues.find((x) => x.name === (f as any).queue)!;
            assert.ok(q.visibilityTimeoutSecs >= 6 * props.Timeout, `visibility ${q.visibilityTimeoutSecs} s < 6 x timeout ${props.Timeout} s`);
            assert.equal(props.Timeout, Math.floor(q.visibilityTimeoutSecs / 6));
            assert.equal(props.ReservedConcurrentExecutions, q.maxConcurrency, 'a consumer protects its downstream');
          }
        });
      }
    });

    describe('deployment inputs (manifest needs)', () => {
      const withVar = (name: string) =>
        Object.values(resourcesOf(json, 'AWS::Lambda::Function'))
          .filter((fn) => fn.Properties.Environment?.Variables?.[name] !== undefined)
          .map((fn) => fn.Properties.FunctionName)
          .sort();
      it(`${TRUST_ANCHORS_ENV} is set on exactly the functions that need trust_anchors`, () => {
        const needing = allFunctions(manifest).filter((f) => f.needs.includes('trust_anchors'));
        assert.deepEqual(withVar(TRUST_ANCHORS_ENV), needing.map((f) => `mkpf-staging-${f.function}`).sort());
      });
      it(`${DATA_KEY_ENV} (the secrets key's ARN) is set on exactly the functions that need data_key`, () => {
        const needing = allFunctions(manifest).filter((f) => f.needs.includes('data_key'));
        assert.deepEqual(withVar(DATA_KEY_ENV), needing.map((f) => `mkpf-staging-${f.function}`).sort());
        for (const fn of Object.values(resourcesOf(json, 'AWS::Lambda::Function')).filter((x) => x.Properties.Environment?.Variables?.[DATA_KEY_ENV])) {
          assert.deepEqual(fn.Properties.Environment.Variables[DATA_KEY_ENV], { 'Fn::GetAtt': [id(p.secretsKey), 'Arn'] });
        }
      });
      it(`${STAFF_DATA_KEY_ENV} (the secrets key's ARN) is set on exactly the functions that need staff_data_key`, () => {
        const needing = allFunctions(manifest).filter((f) => f.needs.includes('staff_data_key'));
        assert.deepEqual(withVar(STAFF_DATA_KEY_ENV), needing.map((f) => `mkpf-staging-${f.function}`).sort());
      });
      it(`${CRL_URLS_ENV} is left unset while the stage file lists no CRL URLs`, () => {
        assert.deepEqual(config.cardAuth.crlUrls, []);
        assert.deepEqual(withVar(CRL_URLS_ENV), []);
      });
    });

    describe('least-privilege IAM, derived from the manifest', () => {
      for (const f of allFunctions(manifest)) {
        it(`${f.kind} ${f.name} touches only what it declares (tables ${f.tables.map((t) => `${t.name}:${t.access}`).join(' ') || '-'}, sends to ${f.sendsTo.join(' ') || '-'}, signs ${f.signsWith.join(' ') || '-'}, verifies ${f.verifiesWith.join(' ') || '-'})`, () => {
          assert.deepEqual(iamProblems(s, f), []);
        });
      }
      if (manifest.tables.some((t) => t.name === 'staff-sessions')) {
        it('only staff sign-in and account functions can read the staff table; every other function that checks credentials reads only staff-sessions', () => {
          const staffArn = JSON.stringify({ 'Fn::GetAtt': [id(p.tables.get('staff')), 'Arn'] });
          const sessionsArn = JSON.stringify({ 'Fn::GetAtt': [id(p.tables.get('staff-sessions')), 'Arn'] });
          const grants = (f: { function: string }, arn: string) =>
            statementsOf(s, f.function).statements.some((st) => asList(st.Resource).some((r) => JSON.stringify(r) === arn) && READ.every((a) => asList<string>(st.Action).includes(a)));
          const readers = allFunctions(manifest).filter((f) => grants(f, staffArn)).map((f) => f.name).sort();
          assert.deepEqual(readers, [
            'municipal-staff-list', 'staff-create', 'staff-disable', 'staff-get', 'staff-list', 'staff-me', 'staff-mfa-reset',
            'staff-password-change', 'staff-password-reset', 'staff-sign-in', 'staff-totp-confirm', 'staff-totp-start',
          ]);
          for (const r of manifest.routes.filter((x) => !x.public)) assert.ok(grants(r, sessionsArn), `${r.name} cannot check staff sessions`);
        });
      }
      it('only the health route may list tables and queues', () => {
        for (const f of allFunctions(manifest)) {
          const actions = statementsOf(s, f.function).statements.flatMap((st) => asList<string>(st.Action));
          const lists = actions.includes('dynamodb:ListTables') || actions.includes('sqs:ListQueues');
          assert.equal(lists, f.kind === 'route' && f.name === 'health', `${f.name}`);
        }
      });
      it('the checker itself catches too much and too little', () => {
        const f = allFunctions(manifest).find((x) => x.tables.length > 0)!;
        const tampered = structuredClone(json);
        const roleId = id(p.functions.get(f.function)!.role);
        const policy = Object.values(resourcesOf(tampered, 'AWS::IAM::Policy')).find((x) => x.Properties.Roles.some((r: any) => r.Ref === roleId))!;
        const tableStmt = policy.Properties.PolicyDocument.Statement.find((st: any) => String(st.Sid).startsWith('Table'));
        // Too much: a scan and an undeclared queue. Too little: the table statement without its index.
        tableStmt.Action = [...asList(tableStmt.Action), 'dynamodb:Scan'];
        policy.Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [id(p.schedulerDlq), 'Arn'] } });
        const problems = iamProblems(s, f, tampered);
        assert.ok(problems.some((x) => x.includes('dynamodb:Scan')), problems.join('\n'));
        assert.ok(problems.some((x) => x.includes('none of its declared')), problems.join('\n'));
        const reduced = structuredClone(json);
        const policy2 = Object.values(resourcesOf(reduced, 'AWS::IAM::Policy')).find((x) => x.Properties.Roles.some((r: any) => r.Ref === roleId))!;
        policy2.Properties.PolicyDocument.Statement = policy2.Properties.PolicyDocument.Statement.filter((st: any) => !String(st.Sid).startsWith('Table'));
        assert.ok(iamProblems(s, f, reduced).some((x) => x.includes('lacks')));
      });
    });

    describe('signing keys', () => {
      it('one asymmetric SIGN_VERIFY key per manifest signing key, with an alias; data and alarm keys rotate', () => {
        const keys = resourcesOf(json, 'AWS::KMS::Key');
        const sealing = allFunctions(manifest).some((f) => f.needs.includes('data_key') || f.needs.includes('staff_data_key'));
        assert.equal(Object.keys(keys).length, 2 + manifest.signingKeys.length + (sealing ? 1 : 0));
        for (const k of manifest.signingKeys) {
          const keyId = id(p.signingKeys.get(k.name));
          const r = keys[keyId];
          assert.equal(r.Properties.KeySpec, k.keySpec);
          assert.equal(r.Properties.KeyUsage, 'SIGN_VERIFY');
          assert.equal(r.DeletionPolicy, 'Retain');
          s.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: `alias/mkpf-staging-${k.name}`, TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
        }
        for (const k of [p.dataKey, p.alarmsKey]) assert.equal(keys[id(k)].Properties.EnableKeyRotation, true);
      });
    });

    describe('secrets key (needs data_key: envelope sealing of secrets at rest)', () => {
      const needing = allFunctions(manifest).filter((f) => f.needs.includes('data_key') || f.needs.includes('staff_data_key'));
      it(needing.length > 0 ? 'a symmetric key of its own, rotating, retained, with an alias' : 'none, since no function needs data_key', () => {
        if (needing.length === 0) {
          assert.equal(p.secretsKey, undefined);
          return;
        }
        const r = json.Resources[id(p.secretsKey)];
        assert.equal(r.Type, 'AWS::KMS::Key');
        assert.ok(r.Properties.KeySpec === undefined || r.Properties.KeySpec === 'SYMMETRIC_DEFAULT', r.Properties.KeySpec);
        assert.ok(r.Properties.KeyUsage === undefined || r.Properties.KeyUsage === 'ENCRYPT_DECRYPT', r.Properties.KeyUsage);
        assert.equal(r.Properties.EnableKeyRotation, true);
        assert.equal(r.DeletionPolicy, 'Retain');
        assert.notEqual(id(p.secretsKey), id(p.dataKey), 'not the tables and queues key');
        s.template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/mkpf-staging-secrets', TargetKeyId: { 'Fn::GetAtt': [id(p.secretsKey), 'Arn'] } });
      });
      const grantedUnder = (condition: unknown) => {
        const secretsArn = p.secretsKey ? JSON.stringify({ 'Fn::GetAtt': [id(p.secretsKey), 'Arn'] }) : undefined;
        return allFunctions(manifest)
          .filter((f) =>
            statementsOf(s, f.function).statements.some((st) => {
              const onKey = secretsArn !== undefined && asList(st.Resource).some((r) => JSON.stringify(r) === secretsArn);
              if (onKey) assert.deepEqual(asList<string>(st.Action).sort(), SEALING, f.name);
              return onKey && JSON.stringify(st.Condition) === JSON.stringify(condition);
            }),
          )
          .map((f) => f.function)
          .sort();
      };
      it('kms:GenerateDataKey and kms:Decrypt on it, with the sealer encryption context, for exactly the functions that need data_key', () => {
        assert.deepEqual(grantedUnder(SEALING_CONDITION), allFunctions(manifest).filter((f) => f.needs.includes('data_key')).map((f) => f.function).sort());
      });
      it('the same, with the staff-only encryption context (staff TOTP seeds), for exactly the functions that need staff_data_key', () => {
        assert.deepEqual(grantedUnder(STAFF_SEALING_CONDITION), allFunctions(manifest).filter((f) => f.needs.includes('staff_data_key')).map((f) => f.function).sort());
      });
      it('the encryption context is the one the Rust sealer uses (shared/aws/src/sealer.rs)', () => {
        const rust = fs.readFileSync(path.join(REPO_DIR, 'shared', 'aws', 'src', 'sealer.rs'), 'utf8');
        const m = /pub const ENCRYPTION_CONTEXT: \(&str, &str\) = \("([^"]+)", "([^"]+)"\);/.exec(rust);
        assert.ok(m, 'ENCRYPTION_CONTEXT not found in sealer.rs');
        assert.deepEqual(SEALING_ENCRYPTION_CONTEXT, { [m[1]]: m[2] });
        assert.deepEqual(SEALING_CONDITION.StringEquals, { [`kms:EncryptionContext:${m[1]}`]: m[2] });
      });
      it('the staff-only encryption context is the one the Rust staff sealer uses (shared/aws/src/sealer.rs)', () => {
        const rust = fs.readFileSync(path.join(REPO_DIR, 'shared', 'aws', 'src', 'sealer.rs'), 'utf8');
        const m = /pub const STAFF_ENCRYPTION_CONTEXT: \(&str, &str\) = \("([^"]+)", "([^"]+)"\);/.exec(rust);
        assert.ok(m, 'STAFF_ENCRYPTION_CONTEXT not found in sealer.rs');
        assert.deepEqual(STAFF_SEALING_ENCRYPTION_CONTEXT, { [m[1]]: m[2] });
        assert.deepEqual(STAFF_SEALING_CONDITION.StringEquals, { [`kms:EncryptionContext:${m[1]}`]: m[2] });
        assert.notDeepEqual(STAFF_SEALING_ENCRYPTION_CONTEXT, SEALING_ENCRYPTION_CONTEXT);
      });
    });

    describe('consumers', () => {
      it('one SQS event source mapping per consumer and no other', () => {
        assert.equal(Object.keys(resourcesOf(json, 'AWS::Lambda::EventSourceMapping')).length, manifest.consumers.length);
      });
      for (const c of manifest.consumers) {
        it(`${c.name}: batch size, maximum concurrency, partial batch failures`, () => {
          const q = manifest.queues.find((x) => x.name === c.queue)!;
          s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
            FunctionName: { Ref: fnId(c.function) },
            EventSourceArn: { 'Fn::GetAtt': [id(p.queues.get(c.queue)!.queue), 'Arn'] },
            BatchSize: q.batchSize,
            FunctionResponseTypes: ['ReportBatchItemFailures'],
            ScalingConfig: { MaximumConcurrency: q.maxConcurrency },
            MaximumBatchingWindowInSeconds: q.batchSize > 10 ? 1 : Match.absent(),
          });
        });
      }
    });

    describe('jobs', () => {
      it('one schedule per job and no other', () => {
        assert.equal(Object.keys(resourcesOf(json, 'AWS::Scheduler::Schedule')).length, manifest.jobs.length);
      });
      for (const j of manifest.jobs) {
        it(`${j.name}: ${j.scheduleExpression} in ${manifest.scheduleTimezone}, retries, dead-letter queue`, () => {
          s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
            Name: `mkpf-staging-${j.name}`,
            ScheduleExpression: j.scheduleExpression,
            ScheduleExpressionTimezone: 'Asia/Tokyo',
            State: 'ENABLED',
            FlexibleTimeWindow: { Mode: 'OFF' },
            Target: Match.objectLike({
              Arn: { 'Fn::GetAtt': [fnId(j.function), 'Arn'] },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(p.schedulerDlq), 'Arn'] } },
              RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 3 }),
            }),
          });
        });
      }
    });

    describe('HTTP API', () => {
      const routes = resourcesOf(json, 'AWS::ApiGatewayV2::Route');
      const integrations = resourcesOf(json, 'AWS::ApiGatewayV2::Integration');
      it('one route per manifest route and no other', () => {
        assert.deepEqual(
          Object.values(routes).map((r) => r.Properties.RouteKey).sort(),
          manifest.routes.map((r) => `${r.method} ${r.path}`).sort(),
        );
      });
      for (const r of manifest.routes) {
        it(`${r.method} ${r.path} → its own function ${r.function}, behind the origin check`, () => {
          const route = json.Resources[id(p.routes.get(r.name))].Properties;
          const integrationId = route.Target['Fn::Join'][1][1].Ref;
          assert.deepEqual(integrations[integrationId].Properties.IntegrationUri, { 'Fn::GetAtt': [fnId(r.function), 'Arn'] });
          assert.equal(integrations[integrationId].Properties.PayloadFormatVersion, '2.0');
          assert.equal(route.AuthorizationType, 'CUSTOM');
          s.template.hasResourceProperties('AWS::Lambda::Permission', {
            Action: 'lambda:InvokeFunction',
            FunctionName: { 'Fn::GetAtt': [fnId(r.function), 'Arn'] },
            Principal: 'apigateway.amazonaws.com',
          });
        });
      }
      it('stage: throttling, per-route limits for sign-in and the public (hot) routes only, detailed metrics, JSON access log without paths', () => {
        const stage = Object.values(resourcesOf(json, 'AWS::ApiGatewayV2::Stage'));
        assert.equal(stage.length, 1);
        const props = stage[0].Properties;
        assert.equal(props.StageName, '$default');
        assert.equal(props.AutoDeploy, true);
        assert.deepEqual(props.DefaultRouteSettings, {
          DetailedMetricsEnabled: true,
          ThrottlingBurstLimit: config.api.routeThrottle.burst,
          ThrottlingRateLimit: config.api.routeThrottle.ratePerSec,
        });
        const own = config.api.routeThrottles;
        const limited = manifest.routes.filter((r) => r.public || r.signsWith.length > 0 || own[r.name] !== undefined);
        assert.deepEqual(Object.keys(props.RouteSettings ?? {}).sort(), limited.map((r) => `${r.method} ${r.path}`).sort());
        const staffSignIn = manifest.routes.find((r) => r.path === '/v1/staff/sessions');
        if (staffSignIn) assert.ok(staffSignIn.signsWith.includes(STAFF_TOKEN_KEY), 'staff sign-in mints staff tokens: the credentials limit');
        // Written out rather than through routeThrottleOf, so that the test checks the rule:
        // staff sign-in (signs staff tokens, argon2) small; citizen card sign-in (signs citizen
        // tokens, the hot path) its own large limit; other anonymous routes the public limit.
        const expected = (r: (typeof limited)[number]) =>
          r.signsWith.includes(STAFF_TOKEN_KEY)
            ? config.api.credentialsRouteThrottle
            : r.signsWith.some((k) => k !== CITIZEN_TOKEN_KEY)
              ? config.api.credentialsRouteThrottle
              : r.signsWith.includes(CITIZEN_TOKEN_KEY)
                ? config.api.cardSignInThrottle
                : config.api.publicRouteThrottle;
        // A route the stage file names in api.route_throttles has that limit, whatever its class.
        for (const r of manifest.routes.filter((x) => own[x.name] !== undefined)) {
          assert.deepEqual(props.RouteSettings[`${r.method} ${r.path}`], { ThrottlingRateLimit: own[r.name].ratePerSec, ThrottlingBurstLimit: own[r.name].burst, DetailedMetricsEnabled: true }, r.name);
        }
        for (const r of limited.filter((x) => own[x.name] === undefined)) {
          const t = expected(r);
          assert.deepEqual(props.RouteSettings[`${r.method} ${r.path}`], {
            ThrottlingRateLimit: t.ratePerSec,
            ThrottlingBurstLimit: t.burst,
            DetailedMetricsEnabled: true,
          });
          assert.equal(routeThrottleOf(r), t === config.api.credentialsRouteThrottle ? 'credentials' : t === config.api.cardSignInThrottle ? 'card_sign_in' : 'public', r.name);
        }
        for (const r of manifest.routes.filter((x) => x.signsWith.includes(CITIZEN_TOKEN_KEY))) {
          assert.ok(r.public, `${r.name}: citizen sign-in is anonymous`);
          assert.notDeepEqual(props.RouteSettings[`${r.method} ${r.path}`].ThrottlingRateLimit, config.api.credentialsRouteThrottle.ratePerSec, `${r.name}: citizen sign-in must not get the staff credentials limit`);
        }
        assert.ok(config.api.credentialsRouteThrottle.ratePerSec < config.api.publicRouteThrottle.ratePerSec);
        assert.ok(config.api.credentialsRouteThrottle.ratePerSec < config.api.cardSignInThrottle.ratePerSec);
        assert.deepEqual(props.AccessLogSettings.DestinationArn, { 'Fn::GetAtt': [Object.keys(resourcesOf(json, 'AWS::Logs::LogGroup')).find((k) => json.Resources[k].Properties.LogGroupName === '/mkpf/staging/api-access'), 'Arn'] });
        const format = JSON.parse(props.AccessLogSettings.Format);
        assert.equal(format.requestId, '$context.requestId');
        assert.equal(format.routeKey, '$context.routeKey');
        assert.ok(!JSON.stringify(format).includes('$context.path'), 'paths may carry identifiers: route keys only');
      });
      it('authorizer: the origin header, simple responses, cached 5 minutes', () => {
        s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
          AuthorizerType: 'REQUEST',
          IdentitySource: ['$request.header.x-origin-verify'],
          EnableSimpleResponses: true,
          AuthorizerResultTtlInSeconds: 300,
          AuthorizerPayloadFormatVersion: '2.0',
        });
      });
    });

    describe('CloudFront + WAF in front of the API', () => {
      it('distribution: WAF web ACL of the edge stack, secret origin header, HTTPS only, no caching, all viewer headers but Host, access logs', () => {
        const d = Object.values(resourcesOf(json, 'AWS::CloudFront::Distribution'));
        assert.equal(d.length, 1);
        const cfg = d[0].Properties.DistributionConfig;
        assert.equal(cfg.WebACLId['Fn::GetStackOutput'].StackName, 'Mkpf-staging-edge');
        assert.equal(cfg.WebACLId['Fn::GetStackOutput'].Region, 'us-east-1');
        const apiOrigins = cfg.Origins.filter((o: any) => o.CustomOriginConfig);
        assert.equal(apiOrigins.length, 1);
        const origin = apiOrigins[0];
        assert.equal(origin.CustomOriginConfig.OriginProtocolPolicy, 'https-only');
        assert.deepEqual(origin.CustomOriginConfig.OriginSSLProtocols, ['TLSv1.2']);
        assert.equal(origin.OriginCustomHeaders[0].HeaderName, 'x-origin-verify');
        assert.match(JSON.stringify(origin.OriginCustomHeaders[0].HeaderValue), /resolve:secretsmanager:/);
        assert.match(JSON.stringify(origin.DomainName), new RegExp(id(p.api)));
        // Every API path (test/web.test.ts checks which) behaves as the whole distribution did
        // before the web site came.
        const api = (cfg.CacheBehaviors as any[]).filter((b) => b.TargetOriginId === origin.Id);
        assert.ok(api.some((b) => b.PathPattern === '/v1/*'), JSON.stringify(api.map((b) => b.PathPattern)));
        for (const b of api) {
          assert.equal(b.ViewerProtocolPolicy, 'https-only');
          assert.equal(b.CachePolicyId, '4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // Managed-CachingDisabled
          assert.equal(b.OriginRequestPolicyId, 'b689b0a8-53d0-40ab-baf2-68738e2966ac'); // Managed-AllViewerExceptHostHeader
          assert.deepEqual([...b.AllowedMethods].sort(), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
        }
        assert.ok(cfg.Logging?.Bucket, 'access logging');
      });
      it('web ACL (us-east-1, CloudFront scope): per-IP rate limits and AWS managed rule groups, logs without Authorization', () => {
        const e = s.edgeTemplate.toJSON();
        const acl = Object.values(resourcesOf(e, 'AWS::WAFv2::WebACL'));
        assert.equal(acl.length, 1);
        const props = acl[0].Properties;
        assert.equal(props.Scope, 'CLOUDFRONT');
        assert.deepEqual(props.DefaultAction, { Allow: {} });
        const byName = Object.fromEntries((props.Rules as any[]).map((r) => [r.Name, r]));
        const webhooks = manifest.routes.filter(isSignedWebhook);
        const webhookMatch = { RegexMatchStatement: { FieldToMatch: { UriPath: {} }, RegexString: pathTemplatesRegex(webhooks.map((r) => r.path)), TextTransformations: [{ Priority: 0, Type: 'NONE' }] } };
        assert.deepEqual(byName['rate-per-ip'].Statement.RateBasedStatement, {
          Limit: config.waf.requestsPerIpPer5Min,
          AggregateKeyType: 'IP',
          EvaluationWindowSec: 300,
          // The providers' signed callbacks have their own limit.
          ...(webhooks.length > 0 ? { ScopeDownStatement: { NotStatement: { Statement: webhookMatch } } } : {}),
        });
        if (webhooks.length > 0) {
          assert.deepEqual(byName['rate-per-ip-webhooks'].Statement.RateBasedStatement, {
            Limit: config.waf.webhookRequestsPerIpPer5Min,
            AggregateKeyType: 'IP',
            EvaluationWindowSec: 300,
            ScopeDownStatement: webhookMatch,
          });
          assert.deepEqual(byName['rate-per-ip-webhooks'].Action, byName['rate-per-ip'].Action, 'answered like the other rate limits');
        } else {
          assert.equal(byName['rate-per-ip-webhooks'], undefined);
        }
        assert.equal(byName['rate-per-ip-ops'].Statement.RateBasedStatement.Limit, config.waf.opsRequestsPerIpPer5Min);
        const prefixes = byName['rate-per-ip-ops'].Statement.RateBasedStatement.ScopeDownStatement.OrStatement.Statements.map(
          (st: any) => st.ByteMatchStatement.SearchString,
        );
        assert.deepEqual(prefixes, ['/v1/ops/', '/v1/staff/', '/v1/audit/']);
        assert.deepEqual(prefixes, STAFF_PATH_PREFIXES);
        const card = byName['rate-per-ip-card-auth'];
        assert.ok(card, 'no rate-per-ip-card-auth rule');
        assert.deepEqual(card.Action, byName['rate-per-ip'].Action, 'answered like the other rate limits: 429 problem+json');
        assert.equal(card.Statement.RateBasedStatement.Limit, config.waf.cardAuthRequestsPerIpPer5Min);
        assert.equal(card.Statement.RateBasedStatement.AggregateKeyType, 'IP');
        assert.equal(card.Statement.RateBasedStatement.EvaluationWindowSec, 300);
        assert.deepEqual(card.Statement.RateBasedStatement.ScopeDownStatement, {
          ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'STARTS_WITH', SearchString: '/v1/card-auth/', TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }] },
        });
        assert.equal(CARD_AUTH_PATH_PREFIX, '/v1/card-auth/');
        assert.ok(config.waf.cardAuthRequestsPerIpPer5Min >= 10, "WAF's minimum");
        assert.ok(config.waf.cardAuthRequestsPerIpPer5Min < config.waf.requestsPerIpPer5Min, 'tighter than the general limit');
        const priorities = (props.Rules as any[]).map((r) => r.Priority);
        assert.equal(new Set(priorities).size, priorities.length, 'rule priorities are unique');
        // Routes by who may call them (manifest `access`):
        for (const r of manifest.routes) {
          const staff = r.access.some((a) => a.startsWith('staff:'));
          const underStaff = prefixes.some((p: string) => r.path.startsWith(p));
          const underCard = r.path.startsWith(CARD_AUTH_PATH_PREFIX);
          // staff roles: under the tighter staff limit (except the municipality-scoped reads
          // and /metrics outside /v1/);
          if (staff && r.path.startsWith('/v1/') && !r.path.startsWith('/v1/municipalities/')) assert.ok(underStaff, `${r.path}: a staff route outside the tighter WAF limit`);
          // staff sign-in (anonymous, signs staff tokens) too;
          if (r.signsWith.includes(STAFF_TOKEN_KEY)) assert.ok(underStaff, `${r.path}: staff sign-in outside the tighter WAF limit`);
          // citizen sign-in (anonymous, signs citizen tokens): under the card-auth limit;
          if (r.signsWith.includes(CITIZEN_TOKEN_KEY)) assert.ok(underCard, `${r.path}: citizen sign-in outside the card-auth WAF limit`);
          // every anonymous write (challenges, sign-ins) has a per-source limit tighter than the
          // general one; citizen routes (signed in) are fine under the general limit.
          if (r.public && r.method !== 'GET' && r.method !== 'HEAD') assert.ok(underStaff || underCard, `${r.method} ${r.path}: an anonymous write without a tighter per-IP limit`);
          if (underCard) assert.ok(!staff, `${r.path}: a staff route under the card-auth prefix gets the card-auth limit, not the staff one`);
        }
        for (const g of ['AWSManagedRulesCommonRuleSet', 'AWSManagedRulesKnownBadInputsRuleSet', 'AWSManagedRulesAmazonIpReputationList']) {
          assert.deepEqual(byName[g]?.Statement.ManagedRuleGroupStatement.VendorName, 'AWS', g);
        }
        assert.equal(byName['planned-stop'], undefined, 'no planned stop unless the stage file says so');
        assert.equal(e.Description.includes('us-east-1'), true);
        const logging = Object.values(resourcesOf(e, 'AWS::WAFv2::LoggingConfiguration'));
        assert.equal(logging.length, 1);
        assert.deepEqual(logging[0].Properties.RedactedFields, [{ SingleHeader: { Name: 'authorization' } }]);
      });
      it('web ACL: bodies over 8 KB and binary uploads pass — the common rule set body rules block everywhere but the operator bulk uploads', () => {
        const rules = Object.values(resourcesOf(s.edgeTemplate.toJSON(), 'AWS::WAFv2::WebACL'))[0].Properties.Rules as any[];
        const common = rules.find((r) => r.Name === 'AWSManagedRulesCommonRuleSet');
        const overrides = Object.fromEntries(
          (common.Statement.ManagedRuleGroupStatement.RuleActionOverrides as any[]).map((o) => [o.Name, Object.keys(o.ActionToUse)]),
        );
        // The 8 KB rule only counts, everywhere (the platform answers 413 itself).
        assert.deepEqual(overrides.SizeRestrictions_BODY, ['Count']);
        for (const name of Object.keys(COMMON_BODY_RULES)) assert.deepEqual(overrides[name], ['Count'], name);
        const block = rules.find((r) => r.Name === 'common-body-rules');
        assert.ok(block, 'no common-body-rules rule');
        assert.deepEqual(block.Action, { Block: {} });
        assert.ok(block.Priority > common.Priority, 'labels are visible only to rules after the rule group');
        const [labels, not] = block.Statement.AndStatement.Statements;
        assert.deepEqual(
          labels.OrStatement.Statements.map((st: any) => st.LabelMatchStatement),
          Object.values(COMMON_BODY_RULES).map((key) => ({ Scope: 'LABEL', Key: key })),
        );
        for (const key of Object.values(COMMON_BODY_RULES)) assert.match(key, /^awswaf:managed:aws:core-rule-set:[A-Za-z0-9]+_Body$/);
        const webhooks = manifest.routes.filter(isSignedWebhook);
        const exempt = webhooks.length > 0 ? not.NotStatement.Statement.OrStatement.Statements : [not.NotStatement.Statement];
        assert.deepEqual(exempt[0].ByteMatchStatement, {
          FieldToMatch: { UriPath: {} },
          PositionalConstraint: 'STARTS_WITH',
          SearchString: '/v1/ops/card-auth/',
          TextTransformations: [{ Priority: 0, Type: 'NONE' }],
        });
        // The providers' signed callbacks: their body is checked by its signature first.
        if (webhooks.length > 0) {
          assert.equal(exempt.length, 2);
          assert.deepEqual(exempt[1].RegexMatchStatement, {
            FieldToMatch: { UriPath: {} },
            RegexString: pathTemplatesRegex(webhooks.map((r) => r.path)),
            TextTransformations: [{ Priority: 0, Type: 'NONE' }],
          });
        }
        // The exemption covers the uploads and only staff routes: no anonymous route lies under it.
        for (const r of manifest.routes) {
          const exempt = BULK_UPLOAD_PATH_PREFIXES.some((p) => r.path.startsWith(p));
          if (exempt) assert.ok(!r.public && r.access.every((a) => a.startsWith('staff:')), `${r.path}: the body-rule exemption covers a non-staff route`);
        }
        const uploads = manifest.routes.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/ops/card-auth/'));
        for (const r of uploads) assert.ok(BULK_UPLOAD_PATH_PREFIXES.some((p) => r.path.startsWith(p)), `${r.path}: an upload the body rules would block`);
      });
      it('web ACL: requests without a User-Agent are blocked everywhere but on the signed webhook routes (providers call them server to server)', () => {
        const rules = Object.values(resourcesOf(s.edgeTemplate.toJSON(), 'AWS::WAFv2::WebACL'))[0].Properties.Rules as any[];
        const common = rules.find((r) => r.Name === 'AWSManagedRulesCommonRuleSet');
        const overrides = common.Statement.ManagedRuleGroupStatement.RuleActionOverrides as any[];
        assert.deepEqual(overrides.find((o) => o.Name === NO_USER_AGENT_RULE)?.ActionToUse, { Count: {} });
        const block = rules.find((r) => r.Name === 'common-no-user-agent');
        assert.ok(block, 'no common-no-user-agent rule');
        assert.deepEqual(block.Action, { Block: {} });
        assert.ok(block.Priority > common.Priority);
        const label = { LabelMatchStatement: { Scope: 'LABEL', Key: NO_USER_AGENT_LABEL } };
        const webhooks = manifest.routes.filter(isSignedWebhook);
        if (webhooks.length === 0) {
          assert.deepEqual(block.Statement, label);
          return;
        }
        const [l, not] = block.Statement.AndStatement.Statements;
        assert.deepEqual(l, label);
        const regex = not.NotStatement.Statement.RegexMatchStatement.RegexString;
        assert.equal(regex, pathTemplatesRegex(webhooks.map((r) => r.path)));
        assert.ok(regex.length <= 512, "WAF's regex length limit");
        // The exemption matches the webhook routes' concrete paths and nothing else of the manifest.
        const re = new RegExp(regex);
        const concrete = (p: string) => p.replace(/\{[^}]+\}/g, 'x1');
        for (const r of manifest.routes) assert.equal(re.test(concrete(r.path)), isSignedWebhook(r) || webhooks.some((w) => concrete(w.path) === concrete(r.path)), r.path);
        for (const r of webhooks) {
          assert.ok(!r.public && r.access.every((a) => a === 'provider'), `${r.path}: only providers, who sign`);
          assert.ok(!re.test(concrete(r.path) + '/more') && !re.test('/prefix' + concrete(r.path)), 'anchored');
        }
      });
    });

    describe('alarms to the SNS topic', () => {
      const alarms = Object.values(resourcesOf(json, 'AWS::CloudWatch::Alarm'));
      const named = (name: string) => {
        const a = alarms.find((x) => x.Properties.AlarmName === name);
        assert.ok(a, `alarm ${name} missing`);
        return a.Properties;
      };
      const metricsOf = (a: any): any[] => (a.Metrics ?? []).filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
      it('every alarm notifies the topic on alarm and on recovery; the topic is encrypted and TLS-only', () => {
        const topic = { Ref: id(p.alarmTopic) };
        for (const a of alarms) {
          assert.deepEqual(a.Properties.AlarmActions, [topic], a.Properties.AlarmName);
          assert.deepEqual(a.Properties.OKActions, [topic], a.Properties.AlarmName);
        }
        s.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [id(p.alarmsKey), 'Arn'] } });
      });
      for (const r of manifest.routes) {
        it(`route ${r.name}: 5xx rate and p99 latency`, () => {
          const rate = named(`mkpf-staging-route-${r.name}-5xx-rate`);
          const dims = (m: any) => Object.fromEntries(m.Dimensions.map((d: any) => [d.Name, d.Value]));
          const ms = metricsOf(rate);
          assert.deepEqual(ms.map((m) => m.MetricName).sort(), ['5xx', 'Count']);
          for (const m of ms) assert.deepEqual({ ...dims(m), ApiId: undefined }, { ApiId: undefined, Stage: '$default', Method: r.method, Resource: r.path });
          assert.equal(rate.Threshold, config.alarms.route5xxPercent);
          assert.match(rate.Metrics.find((m: any) => m.Expression).Expression, new RegExp(`requests >= ${config.alarms.routeMinRequests}`));
          const p99 = named(`mkpf-staging-route-${r.name}-p99-latency`);
          assert.equal(p99.MetricName, 'Latency');
          assert.equal(p99.ExtendedStatistic, 'p99');
          assert.equal(p99.Threshold, config.alarms.routeP99LatencyMs);
          assert.deepEqual(
            Object.fromEntries(p99.Dimensions.filter((d: any) => d.Name !== 'ApiId').map((d: any) => [d.Name, d.Value])),
            { Stage: '$default', Method: r.method, Resource: r.path },
          );
        });
      }
      for (const f of allFunctions(manifest)) {
        it(`function ${f.function}: errors and throttles`, () => {
          for (const [suffix, metric] of [['errors', 'Errors'], ['throttles', 'Throttles']]) {
            const a = named(`mkpf-staging-fn-${f.function}-${suffix}`);
            assert.equal(a.MetricName, metric);
            assert.deepEqual(a.Dimensions, [{ Name: 'FunctionName', Value: { Ref: fnId(f.function) } }]);
            assert.equal(a.Threshold, 1);
          }
        });
      }
      for (const q of manifest.queues) {
        it(`queue ${q.name}: dead-letter queue not empty, oldest message age`, () => {
          const { queue, dlq } = p.queues.get(q.name)!;
          const d = named(`mkpf-staging-queue-${q.name}-dlq-not-empty`);
          assert.equal(d.MetricName, 'ApproximateNumberOfMessagesVisible');
          assert.deepEqual(d.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(dlq), 'QueueName'] } }]);
          assert.equal(d.Threshold, 0);
          assert.equal(d.ComparisonOperator, 'GreaterThanThreshold');
          const age = named(`mkpf-staging-queue-${q.name}-oldest-message`);
          assert.equal(age.MetricName, 'ApproximateAgeOfOldestMessage');
          assert.deepEqual(age.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }]);
          assert.ok(age.Threshold <= q.retentionSecs / 2);
        });
      }
      for (const a of manifest.metricAlarms) {
        it(`metric ${a.metric} (EMF, ${manifest.metricsNamespace}, no dimensions): alarm at ${a.threshold} in 5 minutes`, () => {
          const m = named(`mkpf-staging-metric-${a.name}`);
          assert.equal(m.Namespace, manifest.metricsNamespace);
          assert.equal(m.MetricName, a.metric);
          assert.equal(m.Dimensions, undefined, 'the platform counts it without dimensions');
          assert.equal(m.Statistic, 'Sum');
          assert.equal(m.Period, 300);
          assert.equal(m.Threshold, a.threshold);
          assert.equal(m.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
          assert.equal(m.TreatMissingData, 'notBreaching', 'EMF counters are only emitted when they count');
          assert.ok(m.AlarmDescription.length <= 1024);
        });
      }
      it('scheduler dead-letter queue not empty', () => {
        assert.equal(named('mkpf-staging-queue-scheduler-dlq-not-empty').MetricName, 'ApproximateNumberOfMessagesVisible');
      });
      for (const t of manifest.tables) {
        it(`table ${t.name}: throttles (table and each index) and system errors`, () => {
          for (const key of [t.name, ...t.indexes.map((i) => `${t.name}-${i.name}`)]) {
            const a = named(`mkpf-staging-table-${key}-throttles`);
            assert.deepEqual(metricsOf(a).map((m) => m.MetricName).sort(), ['ReadThrottleEvents', 'WriteThrottleEvents']);
          }
          const sys = named(`mkpf-staging-table-${t.name}-system-errors`);
          const ops = metricsOf(sys).map((m) => {
            assert.equal(m.MetricName, 'SystemErrors');
            return m.Dimensions.find((d: any) => d.Name === 'Operation').Value;
          });
          for (const op of ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'TransactWriteItems']) assert.ok(ops.includes(op), op);
          assert.ok(ops.length <= 10, 'CloudWatch alarms take at most 10 metrics');
        });
      }
      it('a dashboard shows every route, function, queue and table', () => {
        const d = Object.values(resourcesOf(json, 'AWS::CloudWatch::Dashboard'));
        assert.equal(d.length, 1);
        const body = JSON.stringify(d[0].Properties.DashboardBody);
        for (const r of manifest.routes) assert.ok(body.includes(`\\"${r.path}\\"`), r.path);
        for (const f of allFunctions(manifest)) assert.ok(body.includes(`\\"label\\":\\"${f.function}\\"`), f.function);
        for (const q of manifest.queues) assert.ok(body.includes(`\\"label\\":\\"${q.name} DLQ\\"`), q.name);
        for (const t of manifest.tables) assert.ok(body.includes(`\\"label\\":\\"${t.name} read\\"`), t.name);
      });
    });

    describe('backups', () => {
      it(`daily backups at 03:00 Asia/Tokyo kept ${config.backup.dailyRetentionDays} days, of every table, into a vault under the data key`, () => {
        const plan = Object.values(resourcesOf(json, 'AWS::Backup::BackupPlan'));
        assert.equal(plan.length, 1);
        const rules = plan[0].Properties.BackupPlan.BackupPlanRule as any[];
        const daily = rules.find((r) => r.RuleName === 'daily');
        assert.equal(daily.ScheduleExpression, 'cron(0 3 * * ? *)');
        assert.equal(daily.ScheduleExpressionTimezone, 'Asia/Tokyo');
        assert.equal(daily.Lifecycle.DeleteAfterDays, config.backup.dailyRetentionDays);
        assert.equal(rules.some((r) => r.RuleName === 'monthly'), config.backup.monthlyRetentionDays > 0);
        const selection = Object.values(resourcesOf(json, 'AWS::Backup::BackupSelection'))[0].Properties.BackupSelection;
        assert.deepEqual(
          selection.Resources.map((r: any) => getAttArnOf(r)).sort(),
          manifest.tables.map((t) => id(p.tables.get(t.name))).sort(),
        );
        s.template.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: { 'Fn::GetAtt': [id(p.dataKey), 'Arn'] } });
      });
    });
  });
}
