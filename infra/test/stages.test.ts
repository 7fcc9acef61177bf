// Stages from context and stages/<stage>.json, the Lambda code source (the zip or placeholder), a
// planned stop, and the CDK entry point (bin/app.ts) as the CLI runs it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { INFRA_DIR, addStage, newApp } from '../lib/app';
import { FUNCTION_ZIP, routeThrottleOf } from '../lib/conventions';
import { allFunctions, loadManifest } from '../lib/manifest';
import { loadStageConfig, parseStageConfig } from '../lib/stage-config';
import { NEXT_MANIFEST_PATH, logicalId, mergedJson, resourcesOf, runApp, synth, tmpDir } from './helpers';

const staging = synth({ stage: 'staging', nag: false });
const production = synth({ stage: 'production', nag: false });

describe('stages', () => {
  it('each stage has its own stacks, names and prefixes', () => {
    for (const [s, stage] of [
      [staging, 'staging'],
      [production, 'production'],
    ] as const) {
      assert.equal(s.platform.stackName, `Mkpf-${stage}`);
      assert.equal(s.edge.stackName, `Mkpf-${stage}-edge`);
      for (const t of Object.values(resourcesOf(s.json, 'AWS::DynamoDB::Table'))) assert.match(t.Properties.TableName, new RegExp(`^${stage}-`));
      for (const f of Object.values(resourcesOf(s.json, 'AWS::Lambda::Function'))) {
        assert.match(f.Properties.FunctionName, new RegExp(`^mkpf-${stage}-`));
        if (f.Properties.Environment.Variables.MKPF_BACKEND) {
          assert.equal(f.Properties.Environment.Variables.MKPF_TABLE_PREFIX, `${stage}-`);
          assert.equal(f.Properties.Environment.Variables.MKPF_QUEUE_PREFIX, `${stage}-`);
        }
      }
    }
  });

  it('production takes its values from stages/production.json', () => {
    const c = loadStageConfig('production');
    const j = production.json;
    for (const lg of Object.values(resourcesOf(j, 'AWS::Logs::LogGroup'))) {
      assert.equal(lg.Properties.RetentionInDays, c.logRetentionDays);
      assert.equal(lg.DeletionPolicy, 'Retain');
    }
    const stage = Object.values(resourcesOf(j, 'AWS::ApiGatewayV2::Stage'))[0].Properties;
    assert.equal(stage.DefaultRouteSettings.ThrottlingRateLimit, c.api.routeThrottle.ratePerSec);
    const rules = Object.values(resourcesOf(j, 'AWS::Backup::BackupPlan'))[0].Properties.BackupPlan.BackupPlanRule as any[];
    assert.deepEqual(
      rules.map((r) => [r.RuleName, r.Lifecycle.DeleteAfterDays]),
      [
        ['daily', c.backup.dailyRetentionDays],
        ['monthly', c.backup.monthlyRetentionDays],
      ],
    );
    assert.notEqual(c.logRetentionDays, loadStageConfig('staging').logRetentionDays, 'the stages differ, so this test can tell them apart');
    const waf = Object.values(resourcesOf(production.edgeTemplate.toJSON(), 'AWS::WAFv2::WebACL'))[0].Properties.Rules as any[];
    assert.equal(waf.find((r) => r.Name === 'rate-per-ip').Statement.RateBasedStatement.Limit, c.waf.requestsPerIpPer5Min);
    assert.equal(waf.find((r) => r.Name === 'rate-per-ip-card-auth').Statement.RateBasedStatement.Limit, c.waf.cardAuthRequestsPerIpPer5Min);
    const settings = stage.RouteSettings as Record<string, any>;
    for (const r of production.manifest.routes.filter((x) => x.signsWith.includes('citizen-tokens'))) {
      assert.equal(settings[`${r.method} ${r.path}`].ThrottlingRateLimit, c.api.cardSignInThrottle.ratePerSec, r.name);
    }
  });

  it('production sizes card sign-in for 10x the peak (45 applications/s) and keeps staging smaller', () => {
    const p = loadStageConfig('production');
    const st = loadStageConfig('staging');
    assert.ok(p.api.cardSignInThrottle.ratePerSec >= 450, `api.card_sign_in_throttle ${p.api.cardSignInThrottle.ratePerSec}/s < 450/s`);
    assert.ok(p.api.cardSignInThrottle.burst >= p.api.cardSignInThrottle.ratePerSec);
    // Every sign-in asks for a challenge first (a public route).
    assert.ok(p.api.publicRouteThrottle.ratePerSec >= p.api.cardSignInThrottle.ratePerSec);
    assert.ok(p.api.credentialsRouteThrottle.ratePerSec < p.api.cardSignInThrottle.ratePerSec);
    assert.ok(st.api.cardSignInThrottle.ratePerSec <= p.api.cardSignInThrottle.ratePerSec);
    assert.ok(st.waf.cardAuthRequestsPerIpPer5Min <= p.waf.cardAuthRequestsPerIpPer5Min);
    for (const c of [p, st]) {
      assert.ok(c.waf.cardAuthRequestsPerIpPer5Min >= 10 && c.waf.cardAuthRequestsPerIpPer5Min < c.waf.requestsPerIpPer5Min, c.stage);
      assert.deepEqual(c.cardAuth.crlUrls, [], `${c.stage}: CRL URLs are set only once J-LIS has given http locations`);
    }
  });

  it('api.route_throttles: every route the stage files name is in the manifest; production sizes the application route for 10x the 45/s peak', () => {
    const names = new Set(loadManifest(path.join(INFRA_DIR, 'manifest.json')).routes.map((r) => r.name));
    for (const c of [loadStageConfig('production'), loadStageConfig('staging')]) {
      for (const [name, t] of Object.entries(c.api.routeThrottles)) {
        assert.ok(names.has(name), `stages/${c.stage}.json api.route_throttles: no route ${name} in the manifest`);
        assert.ok(t.burst >= t.ratePerSec, `${c.stage} ${name}: a burst below the rate`);
      }
    }
    const apply = production.manifest.routes.find((r) => r.method === 'POST' && r.path === '/v1/mynapoint/applications');
    if (apply) {
      const p = loadStageConfig('production').api.routeThrottles[apply.name];
      assert.ok(p && p.ratePerSec >= 450, `production: ${apply.name} needs its own limit of at least 450/s`);
      assert.ok(p.ratePerSec > loadStageConfig('production').api.routeThrottle.ratePerSec, 'above the stage default');
      assert.ok(loadStageConfig('staging').api.routeThrottles[apply.name].ratePerSec <= p.ratePerSec);
      const settings = Object.values(resourcesOf(production.json, 'AWS::ApiGatewayV2::Stage'))[0].Properties.RouteSettings;
      assert.deepEqual(settings[`POST ${apply.path}`], { ThrottlingRateLimit: p.ratePerSec, ThrottlingBurstLimit: p.burst, DetailedMetricsEnabled: true });
    }
  });

  it('waf.webhook_requests_per_ip_per_5min: production lets a provider call back above the general per-IP limit; optional (default the general limit)', () => {
    const p = loadStageConfig('production');
    const st = loadStageConfig('staging');
    assert.ok(p.waf.webhookRequestsPerIpPer5Min > p.waf.requestsPerIpPer5Min);
    assert.ok(p.waf.webhookRequestsPerIpPer5Min >= 100 * 300, 'production: at least 100 callbacks/s from one provider address');
    assert.ok(st.waf.webhookRequestsPerIpPer5Min <= p.waf.webhookRequestsPerIpPer5Min);
    const raw = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'stages', 'staging.json'), 'utf8'));
    delete raw.waf.webhook_requests_per_ip_per_5min;
    assert.equal(parseStageConfig('staging', raw).waf.webhookRequestsPerIpPer5Min, raw.waf.requests_per_ip_per_5min);
    raw.waf.webhook_requests_per_ip_per_5min = 5;
    assert.throws(() => parseStageConfig('staging', raw), /waf\.webhook_requests_per_ip_per_5min: expected a whole number from 10/);
    const waf = Object.values(resourcesOf(production.edgeTemplate.toJSON(), 'AWS::WAFv2::WebACL'))[0].Properties.Rules as any[];
    assert.equal(waf.find((r) => r.Name === 'rate-per-ip-webhooks').Statement.RateBasedStatement.Limit, p.waf.webhookRequestsPerIpPer5Min);
  });

  it('api.route_throttles is optional; bad names and limits are refused; a route the manifest lacks only warns', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'stages', 'staging.json'), 'utf8'));
    delete raw.api.route_throttles;
    assert.deepEqual(parseStageConfig('staging', raw).api.routeThrottles, {});
    raw.api.route_throttles = { 'Bad Name': { rate_per_sec: 1, burst: 1 }, ok: { rate_per_sec: -1, burst: 1 } };
    assert.throws(
      () => parseStageConfig('staging', raw),
      (e: Error) => e.message.includes('api.route_throttles: "Bad Name" is not a route name') && e.message.includes('api.route_throttles.ok.rate_per_sec'),
    );
    raw.api.route_throttles = [];
    assert.throws(() => parseStageConfig('staging', raw), /api\.route_throttles: expected an object/);
    raw.api.route_throttles = { 'no-such-route': { rate_per_sec: 5, burst: 5 } };
    const s = synth({ stage: 'staging', config: parseStageConfig('staging', raw), nag: false });
    const warnings = s.platform.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    assert.ok(warnings.some((w) => w.includes('"no-such-route", which the manifest lacks; ignored')), warnings.join('\n'));
    const settings = Object.values(resourcesOf(s.json, 'AWS::ApiGatewayV2::Stage'))[0].Properties.RouteSettings ?? {};
    const byClass = s.manifest.routes.filter((r) => routeThrottleOf(r) !== 'default').map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(Object.keys(settings).sort(), byClass.sort(), 'ignored: only the class limits remain');
  });

  it('card_auth is optional (no CRL URLs) and takes only plain http:// URLs', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'stages', 'staging.json'), 'utf8'));
    delete raw.card_auth;
    assert.deepEqual(parseStageConfig('staging', raw).cardAuth.crlUrls, []);
    raw.card_auth = { crl_urls: ['http://crl.example.jp/a.crl', 'http://crl.example.jp:8080/b.crl'] };
    assert.deepEqual(parseStageConfig('staging', raw).cardAuth.crlUrls, ['http://crl.example.jp/a.crl', 'http://crl.example.jp:8080/b.crl']);
    for (const bad of ['https://crl.example.jp/a.crl', 'http://crl.example.jp/a b.crl', 'ftp://x/y', '']) {
      raw.card_auth = { crl_urls: [bad] };
      assert.throws(() => parseStageConfig('staging', raw), /card_auth\.crl_urls\[0\]/, bad);
    }
    raw.card_auth = { crl_urls: ['http://a.example/x', 'http://a.example/x'] };
    assert.throws(() => parseStageConfig('staging', raw), /card_auth\.crl_urls: a URL is listed twice/);
  });

  it('nothing account-specific is written: no account id, the region comes from the stage file', () => {
    for (const s of [staging, production]) {
      for (const t of [s.json, s.edgeTemplate.toJSON()]) {
        const text = JSON.stringify(t);
        assert.ok(!/\b\d{12}\b/.test(text), 'a 12-digit account id in the template');
        assert.ok(text.includes('"AWS::AccountId"') || !text.includes('arn:aws'), 'ARNs built from AWS::AccountId');
      }
      assert.equal(s.platform.region, loadStageConfig(s.config.stage).region);
      assert.equal(s.edge.region, 'us-east-1');
    }
  });

  it('alarm e-mail recipients come from the stage file', () => {
    const c = { ...loadStageConfig('staging'), alarms: { ...loadStageConfig('staging').alarms, emails: ['ops@example.org', 'oncall@example.org'] } };
    const s = synth({ stage: 'staging', config: c, nag: false });
    const subs = Object.values(resourcesOf(s.json, 'AWS::SNS::Subscription'));
    assert.deepEqual(subs.map((x) => [x.Properties.Protocol, x.Properties.Endpoint]).sort(), [
      ['email', 'oncall@example.org'],
      ['email', 'ops@example.org'],
    ]);
    assert.equal(Object.keys(resourcesOf(staging.json, 'AWS::SNS::Subscription')).length, 0);
  });

  it('a stage file with a bad value is refused, one line per problem', () => {
    const raw = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'stages', 'staging.json'), 'utf8'));
    raw.log_retention_days = 42;
    raw.alarms.emails = ['not-an-address'];
    raw.planned_stop = { paths: [], allow_cidrs: ['10.0.0.0'], message: '' };
    delete raw.api.card_sign_in_throttle;
    raw.waf.card_auth_requests_per_ip_per_5min = 5; // below WAF's minimum of 10
    assert.throws(
      () => parseStageConfig('staging', raw),
      (e: Error) =>
        [
          'log_retention_days',
          'alarms.emails[0]',
          'planned_stop.paths',
          'planned_stop.allow_cidrs[0]',
          'planned_stop.message',
          'api.card_sign_in_throttle.rate_per_sec',
          'waf.card_auth_requests_per_ip_per_5min: expected a whole number from 10',
        ].every((k) => e.message.includes(k)),
    );
    const looser = JSON.parse(fs.readFileSync(path.join(INFRA_DIR, 'stages', 'staging.json'), 'utf8'));
    looser.waf.card_auth_requests_per_ip_per_5min = looser.waf.requests_per_ip_per_5min + 1;
    assert.throws(() => parseStageConfig('staging', looser), /card_auth_requests_per_ip_per_5min: \d+ is above waf\.requests_per_ip_per_5min/);
  });
});

describe('planned stop', () => {
  const base = loadStageConfig('production');
  const stopped = synth({
    stage: 'production',
    nag: false,
    config: {
      ...base,
      plannedStop: { paths: ['/v1/notices', '/v1/ops/'], allowCidrs: ['203.0.113.0/24'], retryAfterSecs: 7200, message: '受付期間は終了しました' },
    },
  });
  const acl = Object.values(resourcesOf(stopped.edgeTemplate.toJSON(), 'AWS::WAFv2::WebACL'))[0].Properties;
  const rule = (acl.Rules as any[]).find((r) => r.Name === 'planned-stop');

  it('blocks the listed paths first, with 503, Retry-After and a problem+json body', () => {
    assert.ok(rule, 'no planned-stop rule');
    assert.equal(rule.Priority, 0);
    assert.equal(Math.min(...(acl.Rules as any[]).map((r) => r.Priority)), 0);
    const block = rule.Action.Block.CustomResponse;
    assert.equal(block.ResponseCode, 503);
    assert.deepEqual(block.ResponseHeaders, [{ Name: 'retry-after', Value: '7200' }]);
    const body = JSON.parse(acl.CustomResponseBodies[block.CustomResponseBodyKey].Content);
    assert.deepEqual(body, { type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'service_unavailable', detail: '受付期間は終了しました' });
    const paths = rule.Statement.AndStatement.Statements[0].OrStatement.Statements.map((s: any) => s.ByteMatchStatement.SearchString);
    assert.deepEqual(paths, ['/v1/notices', '/v1/ops/']);
  });

  it('lets the allowed sources through', () => {
    const not = rule.Statement.AndStatement.Statements[1].NotStatement.Statement.IPSetReferenceStatement;
    const ipset = stopped.edgeTemplate.toJSON().Resources[not.Arn['Fn::GetAtt'][0]];
    assert.deepEqual(ipset.Properties.Addresses, ['203.0.113.0/24']);
    assert.equal(ipset.Properties.Scope, 'CLOUDFRONT');
  });

  it('changes nothing but the edge stack', () => {
    assert.deepEqual(stopped.json, production.json);
  });
});

describe('Lambda code source', () => {
  it('placeholder: one dummy asset, each function with its id as Handler, and a rule that makes any deployment fail', () => {
    const j = staging.json;
    assert.deepEqual(j.Parameters.LambdaCodeSource.AllowedValues, ['placeholder']);
    const rule = j.Rules.PlaceholderCodeIsNotDeployable.Assertions[0];
    assert.match(rule.AssertDescription, /placeholder.*scripts\/deploy/);
    assert.deepEqual(rule.Assert, { 'Fn::Equals': [{ Ref: 'LambdaCodeSource' }, 'scripts-package'] });
    const fns = Object.values(resourcesOf(j, 'AWS::Lambda::Function')).filter((f) => f.Properties.Runtime === 'provided.al2023');
    const keys = new Set(fns.map((f) => JSON.stringify(f.Properties.Code)));
    assert.equal(keys.size, 1);
    assert.deepEqual(fns.map((f) => f.Properties.Handler).sort(), allFunctions(staging.manifest).map((f) => f.function).sort());
  });

  it(`dist: every function from the one zip (${FUNCTION_ZIP}), staged and uploaded once, its Handler its id; no placeholder rule`, () => {
    const dir = tmpDir('dist');
    const manifest = loadManifest(NEXT_MANIFEST_PATH);
    fs.writeFileSync(path.join(dir, FUNCTION_ZIP), 'zip of every function');
    // Zips of one binary per function, left in dist/lambda, are not used.
    for (const f of allFunctions(manifest)) fs.writeFileSync(path.join(dir, `${f.function}.zip`), `old zip of ${f.function}`);
    const outdir = tmpDir('out');
    const app = newApp({ outdir });
    const { platform } = addStage(app, { stage: 'staging', manifest, code: { kind: 'dist', dir }, nag: false });
    const j = mergedJson(platform);
    assert.equal(j.Rules?.PlaceholderCodeIsNotDeployable, undefined);
    assert.equal(j.Parameters.LambdaCodeSource, undefined);
    const props = allFunctions(manifest).map((f) => j.Resources[logicalId(platform.functions.get(f.function)!.fn)].Properties);
    assert.equal(new Set(props.map((x) => JSON.stringify(x.Code))).size, 1, 'every function has the same code');
    assert.deepEqual(
      props.map((x) => x.Handler),
      allFunctions(manifest).map((f) => f.function),
    );
    // In the cloud assembly: one zip asset (the function groups' templates are assets too), the
    // one every function names, with the bytes of dist/lambda's zip.
    app.synth();
    const files = Object.values<any>(JSON.parse(fs.readFileSync(path.join(outdir, `${platform.stackName}.assets.json`), 'utf8')).files);
    // (The web site deployment's AWS CLI layer, lib/web-site.ts, is a zip asset of CDK's own.)
    const layerKeys = new Set(Object.values(resourcesOf(j, 'AWS::Lambda::LayerVersion')).map((l) => l.Properties.Content.S3Key));
    assert.equal(layerKeys.size, 1);
    const zips = files.filter(
      (a) => a.source.packaging === 'file' && String(a.source.path).endsWith('.zip') && !Object.values<any>(a.destinations).some((d) => layerKeys.has(d.objectKey)),
    );
    assert.equal(zips.length, 1, JSON.stringify(zips));
    assert.deepEqual(
      Object.values<any>(zips[0].destinations).map((d) => d.objectKey),
      [props[0].Code.S3Key],
    );
    assert.equal(fs.readFileSync(path.join(outdir, zips[0].source.path), 'utf8'), 'zip of every function');
  });

  it('dist: a missing zip stops synthesis and names it', () => {
    const dir = tmpDir('dist-missing');
    const manifest = loadManifest(NEXT_MANIFEST_PATH);
    // Zips of one binary per function do not stand in for it.
    for (const f of allFunctions(manifest)) fs.writeFileSync(path.join(dir, `${f.function}.zip`), 'x');
    const app = newApp({ outdir: tmpDir('out') });
    assert.throws(
      () => addStage(app, { stage: 'staging', manifest, code: { kind: 'dist', dir }, nag: false }),
      (e: Error) => e.message.includes(`missing Lambda zip ${path.join(dir, FUNCTION_ZIP)} (build it with scripts/package`),
    );
  });
});

describe('bin/app.ts (as the CDK CLI runs it)', () => {
  it('refuses to synthesize without a stage', () => {
    const r = runApp({ lambdaCode: 'placeholder' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /choose a stage with -c stage=<staging\|production>/);
  });

  it('refuses an unknown stage and an unknown code source', () => {
    assert.match(runApp({ stage: 'prod', lambdaCode: 'placeholder' }).stderr, /choose a stage/);
    assert.match(runApp({ stage: 'staging', lambdaCode: 'zips' }).stderr, /lambdaCode must be "dist" or "placeholder"/);
  });

  it('without -c lambdaCode it wants the zips of scripts/package', () => {
    const r = runApp({ stage: 'staging', lambdaDist: tmpDir('empty-dist') });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing Lambda zip .*mkpf-function\.zip \(build it with scripts\/package/);
  });

  it('synthesizes both stacks of a stage with -c stage=... -c lambdaCode=placeholder', () => {
    const r = runApp({ stage: 'production', lambdaCode: 'placeholder' });
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['Mkpf-production.template.json', 'Mkpf-production-edge.template.json']) assert.ok(fs.existsSync(path.join(r.outdir, f)), f);
  });
});

describe('scripts/deploy', () => {
  const deploy = (args: string[], env: Record<string, string> = {}) => {
    const e: Record<string, string | undefined> = { ...process.env, ...env };
    if (!('AWS_PROFILE' in env)) delete e.AWS_PROFILE;
    return spawnSync(path.join(INFRA_DIR, '..', 'scripts', 'deploy'), args, { env: e as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 30_000 });
  };

  it('refuses without an explicit stage', () => {
    const r = deploy([], { AWS_PROFILE: 'someone' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /name the stage explicitly/);
  });

  it('refuses without an AWS profile (AWS_PROFILE or --profile)', () => {
    const r = deploy(['staging']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no AWS profile/);
  });

  it('refuses an unknown stage', () => {
    const r = deploy(['prod', '--profile', 'someone']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown argument 'prod'/);
  });
});
