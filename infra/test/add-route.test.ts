// "Adding a route in the Rust route table shows up in the synthesized template with no edit in
// infra/": a copy of infra/manifest.json with one more route (and, separately, one more table,
// queue, consumer and job) synthesizes to a template that has everything for it, while the
// unmodified manifest's template does not.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { parseManifest } from '../lib/manifest';
import { logicalId, rawManifest, resourcesOf, runApp, synth, tmpDir } from './helpers';
import { READ, iamProblems, statementsOf } from './iam-check';

const NEW_ROUTE = {
  name: 'widgets-get',
  method: 'GET',
  path: '/v1/widgets/{widget_id}',
  function: 'widgets-get',
  access: ['public'],
  public: true,
  idempotent: false,
  tables: [{ name: 'ops', access: 'read' }],
  sends_to: [],
};

function withNewRoute() {
  const raw = rawManifest();
  raw.routes.push(NEW_ROUTE);
  return raw;
}

describe('adding a route to the manifest, nothing else', () => {
  const before = synth({ nag: false });
  const after = synth({ manifest: withNewRoute(), nag: false });
  const routeKey = 'GET /v1/widgets/{widget_id}';

  it('the unmodified manifest has no such route (control)', () => {
    const keys = Object.values(resourcesOf(before.json, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
    assert.ok(!keys.includes(routeKey));
    assert.ok(!JSON.stringify(before.json).includes('widgets-get'));
  });

  it('gets its own function with its own log group', () => {
    after.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'mkpf-staging-widgets-get',
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
    });
    after.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/lambda/mkpf-staging-widgets-get' });
    assert.equal(
      Object.keys(resourcesOf(after.json, 'AWS::Lambda::Function')).length,
      Object.keys(resourcesOf(before.json, 'AWS::Lambda::Function')).length + 1,
    );
  });

  it('gets an API route integrated with that function, and a per-route limit (it is public)', () => {
    const fnId = logicalId(after.platform.functions.get('widgets-get')!.fn);
    const route = Object.values(resourcesOf(after.json, 'AWS::ApiGatewayV2::Route')).find((r) => r.Properties.RouteKey === routeKey);
    assert.ok(route);
    const integration = after.json.Resources[route.Properties.Target['Fn::Join'][1][1].Ref];
    assert.deepEqual(integration.Properties.IntegrationUri, { 'Fn::GetAtt': [fnId, 'Arn'] });
    const stage = Object.values(resourcesOf(after.json, 'AWS::ApiGatewayV2::Stage'))[0];
    assert.ok(stage.Properties.RouteSettings[routeKey]);
  });

  it('gets read-only access to the ops table and nothing else', () => {
    const spec = after.manifest.routes.find((r) => r.name === 'widgets-get')!;
    assert.deepEqual(iamProblems(after, spec), []);
    const dynamo = statementsOf(after, 'widgets-get')
      .statements.flatMap((s) => [s.Action].flat())
      .filter((a: string) => a.startsWith('dynamodb:'));
    assert.deepEqual([...new Set(dynamo)].sort(), READ);
  });

  it('gets its 5xx-rate, p99, error and throttle alarms and a place on the dashboard', () => {
    for (const name of ['route-widgets-get-5xx-rate', 'route-widgets-get-p99-latency', 'fn-widgets-get-errors', 'fn-widgets-get-throttles']) {
      after.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `mkpf-staging-${name}` });
    }
    assert.ok(JSON.stringify(after.json).includes('/v1/widgets/{widget_id}'));
  });

  it('through the CDK entry point, from a manifest file given with -c manifest=…', () => {
    const file = path.join(tmpDir('manifest'), 'manifest.json');
    fs.writeFileSync(file, JSON.stringify(withNewRoute()));
    const r = runApp({ stage: 'staging', lambdaCode: 'placeholder', manifest: file });
    assert.equal(r.status, 0, r.stderr);
    // The route lives in one of the nested function-group templates.
    const keys = fs
      .readdirSync(r.outdir)
      .filter((f) => f.endsWith('.template.json'))
      .flatMap((f) => Object.values(resourcesOf(JSON.parse(fs.readFileSync(path.join(r.outdir, f), 'utf8')), 'AWS::ApiGatewayV2::Route')))
      .map((x) => x.Properties.RouteKey);
    assert.ok(keys.includes(routeKey), keys.join(', '));
  });
});

describe('adding a table, a queue with its consumer and a job', () => {
  const raw = rawManifest();
  raw.tables.push({ name: 'library-cards', partition_key: 'pk', sort_key: 'sk', indexes: [{ name: 'by-owner', partition_key: 'owner', sort_key: 'at' }], ttl_attribute: null, purpose: 'test' });
  raw.queues.push({ name: 'library-cards-events', dead_letter_queue: 'library-cards-events-dlq', visibility_timeout_secs: 120, max_receives: 4, retention_secs: 86400, batch_size: 5, max_concurrency: 3, purpose: 'test' });
  raw.consumers.push({ name: 'library-cards-events', queue: 'library-cards-events', function: 'library-cards-events-consumer', tables: [{ name: 'library-cards', access: 'read_write' }], sends_to: [] });
  raw.jobs.push({ name: 'library-cards-close', function: 'library-cards-close-job', schedule_expression: 'cron(0 0 1 * ? *)', tables: [{ name: 'library-cards', access: 'read' }], sends_to: ['library-cards-events'] });
  const s = synth({ manifest: raw, nag: false });
  const m = parseManifest(raw);

  it('all of it appears, wired together', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'staging-library-cards', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    s.template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'staging-library-cards-events', VisibilityTimeout: 120, RedrivePolicy: Match.objectLike({ maxReceiveCount: 4 }) });
    s.template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'staging-library-cards-events-dlq' });
    s.template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'mkpf-staging-library-cards-events-consumer', Timeout: 20, ReservedConcurrentExecutions: 3 });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 5, ScalingConfig: { MaximumConcurrency: 3 }, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(0 0 1 * ? *)', ScheduleExpressionTimezone: 'Asia/Tokyo' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'mkpf-staging-queue-library-cards-events-dlq-not-empty' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'mkpf-staging-table-library-cards-by-owner-throttles' });
    const selection = Object.values(resourcesOf(s.json, 'AWS::Backup::BackupSelection'))[0].Properties.BackupSelection.Resources;
    assert.ok(selection.some((r: any) => r['Fn::GetAtt']?.[0] === logicalId(s.platform.tables.get('library-cards'))));
    for (const f of [...m.consumers, ...m.jobs]) assert.deepEqual(iamProblems(s, f), [], f.name);
  });
});
