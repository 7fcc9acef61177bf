// The web site on AWS (lib/web-site.ts, cloudfront/site-request.js): a private bucket reached only
// through Origin Access Control, the API's paths still going to the API exactly as before, the
// site's headers, caching and deployment. The expected values are written out here, not taken
// from lib/: a change there must show up as a failure here.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { describe, it } from 'node:test';
import { INFRA_DIR, addStage, newApp } from '../lib/app';
import { apiPathPatterns } from '../lib/web-site';
import { MANIFESTS, asList, logicalId, mergedJson, rawManifest, resourcesOf, runApp, synth, tmpDir } from './helpers';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

/** The API behaviour as it was when the API had the whole distribution (its default behaviour then). */
const API_BEHAVIOR = {
  AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
  CachePolicyId: CACHING_DISABLED,
  Compress: true,
  OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
  TargetOriginId: 'api',
  ViewerProtocolPolicy: 'https-only',
};

const distributionConfig = (json: any) => {
  const d = Object.values(resourcesOf(json, 'AWS::CloudFront::Distribution'));
  assert.equal(d.length, 1);
  return d[0].Properties.DistributionConfig;
};

/** The behaviour CloudFront picks for a URI path: the first matching path pattern, else the default. */
function behaviorFor(cfg: any, uri: string): any {
  const matches = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(uri);
  return asList<any>(cfg.CacheBehaviors).find((b) => matches(b.PathPattern)) ?? cfg.DefaultCacheBehavior;
}

/** A request path for a route's path template. */
const sample = (template: string) => template.replace(/\{[A-Za-z_][A-Za-z0-9_]*\+\}/g, 'a/b').replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, 'x1');

const withoutPattern = ({ PathPattern, ...rest }: any) => rest;

/** A site directory as Vite builds it. */
function siteBuild(files: Record<string, string> = {}): string {
  const dir = tmpDir('web-dist');
  const all = { 'index.html': '<!doctype html><title>citizen site</title>', 'console/index.html': '<!doctype html><title>console</title>', 'assets/index-3f2a9c.js': 'export {}', ...files };
  for (const [name, text] of Object.entries(all)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

for (const { label, manifest } of MANIFESTS) {
  describe(`CloudFront paths from ${label}: the API's to the API as before, the rest to the web site`, () => {
    const { json } = synth({ manifest, nag: false });
    const cfg = distributionConfig(json);

    it('every route of the manifest reaches the API origin with the API behaviour unchanged', () => {
      for (const r of manifest.routes) {
        const uri = sample(r.path);
        assert.deepEqual(withoutPattern(behaviorFor(cfg, uri)), API_BEHAVIOR, `${r.method} ${r.path} (${uri})`);
      }
    });

    it("the API's path patterns are exactly the routes' first segments (/v1/*, /healthz, …), each with the API behaviour", () => {
      const expected = new Set<string>();
      for (const r of manifest.routes) {
        const segments = r.path.split('/').filter((x, i) => i > 0);
        expected.add(segments.length === 1 ? `/${segments[0]}` : `/${segments[0]}/*`);
      }
      const api = asList<any>(cfg.CacheBehaviors).filter((b) => b.TargetOriginId === 'api');
      assert.deepEqual(api.map((b) => b.PathPattern).sort(), [...expected].sort());
      for (const b of api) assert.deepEqual(withoutPattern(b), API_BEHAVIOR, b.PathPattern);
      assert.ok(expected.has('/v1/*') && expected.has('/healthz') && expected.has('/openapi.json'), [...expected].join(', '));
    });

    it('the API origin is the HTTP API, HTTPS (TLS 1.2) only, with the origin-verify header', () => {
      const api = asList<any>(cfg.Origins).filter((o) => o.Id === 'api');
      assert.equal(api.length, 1);
      assert.deepEqual(api[0].CustomOriginConfig, { OriginProtocolPolicy: 'https-only', OriginReadTimeout: 30, OriginSSLProtocols: ['TLSv1.2'] });
      assert.deepEqual(
        api[0].OriginCustomHeaders.map((h: any) => h.HeaderName),
        ['x-origin-verify'],
      );
    });

    it('the site paths go to the S3 origin: /, the pages, the console, the hashed assets, anything else', () => {
      for (const uri of ['/', '/index.html', '/console', '/console/', '/console/index.html', '/assets/index-3f2a9c.js', '/favicon.ico', '/v1', '/healthz/x']) {
        assert.equal(behaviorFor(cfg, uri).TargetOriginId, 'site', uri);
      }
    });
  });
}

describe('the web site on AWS (staging, checked-in manifest)', () => {
  const s = synth({ nag: false });
  const { json, platform: p } = s;
  const cfg = distributionConfig(json);
  const bucketId = logicalId(p.site.bucket);
  const headersId = logicalId(p.site.headers);
  const distId = logicalId(p.distribution);

  describe('bucket', () => {
    const bucket = json.Resources[bucketId];

    it('private: every public access blocked, bucket owner enforced (no ACLs), no website hosting', () => {
      assert.equal(bucket.Type, 'AWS::S3::Bucket');
      const props = bucket.Properties;
      assert.deepEqual(props.PublicAccessBlockConfiguration, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      assert.deepEqual(props.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      assert.equal(props.WebsiteConfiguration, undefined);
      assert.equal(props.AccessControl, undefined);
    });

    it('encrypted (SSE-S3), versioned, server access logs to the CloudFront log bucket, retained', () => {
      const props = bucket.Properties;
      assert.deepEqual(props.BucketEncryption, { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
      assert.deepEqual(props.VersioningConfiguration, { Status: 'Enabled' });
      const logsId = Object.keys(resourcesOf(json, 'AWS::S3::Bucket')).find((k) => k.startsWith('CdnLogs'))!;
      assert.deepEqual(props.LoggingConfiguration, { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'site-bucket/' });
      assert.equal(bucket.DeletionPolicy, 'Retain');
      const rule = props.LifecycleConfiguration.Rules[0];
      assert.deepEqual(rule.NoncurrentVersionExpiration, { NoncurrentDays: 30 });
    });

    it('its policy: TLS (1.2+) only, and reads by CloudFront for this distribution alone (OAC: service principal, AWS:SourceArn)', () => {
      const policies = Object.values(resourcesOf(json, 'AWS::S3::BucketPolicy')).filter((x) => x.Properties.Bucket.Ref === bucketId);
      assert.equal(policies.length, 1);
      const statements = asList<any>(policies[0].Properties.PolicyDocument.Statement);
      const denies = statements.filter((st) => st.Effect === 'Deny');
      assert.deepEqual(
        denies.map((st) => st.Condition),
        [{ Bool: { 'aws:SecureTransport': 'false' } }, { NumericLessThan: { 's3:TlsVersion': 1.2 } }],
      );
      const allows = statements.filter((st) => st.Effect === 'Allow');
      assert.equal(allows.length, 1, JSON.stringify(allows));
      const [allow] = allows;
      assert.deepEqual(allow.Principal, { Service: 'cloudfront.amazonaws.com' });
      assert.deepEqual(asList(allow.Action).sort(), ['s3:GetObject', 's3:ListBucket']);
      assert.deepEqual(allow.Resource, [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }]);
      assert.deepEqual(allow.Condition, {
        StringEquals: {
          'AWS:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distId }]] },
        },
      });
    });

    it('the S3 origin signs with Origin Access Control (no origin access identity anywhere)', () => {
      const [origin] = asList<any>(cfg.Origins).filter((o) => o.Id === 'site');
      assert.deepEqual(origin.DomainName, { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
      assert.deepEqual(origin.S3OriginConfig, { OriginAccessIdentity: '' });
      const oacId = origin.OriginAccessControlId['Fn::GetAtt'][0];
      const oac = json.Resources[oacId];
      assert.equal(oac.Type, 'AWS::CloudFront::OriginAccessControl');
      assert.deepEqual(
        { ...oac.Properties.OriginAccessControlConfig, Name: undefined },
        { Name: undefined, OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
      );
      assert.deepEqual(Object.keys(resourcesOf(json, 'AWS::CloudFront::CloudFrontOriginAccessIdentity')), []);
    });
  });

  describe('behaviours', () => {
    const fnId = logicalId(p.site.requestFunction);
    const pagesPolicyId = logicalId(p.site.pagesCachePolicy);

    it('default (*): the pages from S3, GET/HEAD, HTTP → HTTPS, revalidating cache policy, site headers, the request function', () => {
      assert.deepEqual(cfg.DefaultCacheBehavior, {
        AllowedMethods: ['GET', 'HEAD'],
        CachedMethods: ['GET', 'HEAD'],
        CachePolicyId: { Ref: pagesPolicyId },
        Compress: true,
        FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } }],
        ResponseHeadersPolicyId: { Ref: headersId },
        TargetOriginId: 'site',
        ViewerProtocolPolicy: 'redirect-to-https',
      });
      assert.equal(cfg.DefaultRootObject, 'index.html');
    });

    it('/assets/*: the hashed files from S3, cached as long as they say (Managed-CachingOptimized), site headers', () => {
      const assets = asList<any>(cfg.CacheBehaviors).filter((b) => b.PathPattern === '/assets/*');
      assert.deepEqual(assets, [
        {
          AllowedMethods: ['GET', 'HEAD'],
          CachedMethods: ['GET', 'HEAD'],
          CachePolicyId: CACHING_OPTIMIZED,
          Compress: true,
          PathPattern: '/assets/*',
          ResponseHeadersPolicyId: { Ref: headersId },
          TargetOriginId: 'site',
          ViewerProtocolPolicy: 'redirect-to-https',
        },
      ]);
    });

    it('the API behaviours carry neither the site headers nor a function; only the two site behaviours use S3', () => {
      const all = [cfg.DefaultCacheBehavior, ...asList<any>(cfg.CacheBehaviors)];
      assert.deepEqual(
        all.filter((b) => b.TargetOriginId === 'site').map((b) => b.PathPattern ?? '*'),
        ['*', '/assets/*'],
      );
      for (const b of all.filter((x) => x.TargetOriginId === 'api')) {
        assert.equal(b.ResponseHeadersPolicyId, undefined, b.PathPattern);
        assert.equal(b.FunctionAssociations, undefined, b.PathPattern);
      }
    });

    it('no distribution-wide custom error responses: the API keeps its own 403/404 problem+json answers', () => {
      assert.equal(cfg.CustomErrorResponses, undefined);
    });

    it('pages cache policy: revalidated (min TTL 0), 5 minutes at most, no cookies, headers or query strings', () => {
      const c = json.Resources[pagesPolicyId].Properties.CachePolicyConfig;
      assert.equal(c.MinTTL, 0);
      assert.ok(c.MaxTTL <= 300, String(c.MaxTTL));
      assert.ok(c.DefaultTTL <= c.MaxTTL);
      assert.deepEqual(c.ParametersInCacheKeyAndForwardedToOrigin, {
        CookiesConfig: { CookieBehavior: 'none' },
        EnableAcceptEncodingBrotli: true,
        EnableAcceptEncodingGzip: true,
        HeadersConfig: { HeaderBehavior: 'none' },
        QueryStringsConfig: { QueryStringBehavior: 'none' },
      });
    });
  });

  describe('response headers of the site', () => {
    const policy = () => json.Resources[headersId].Properties.ResponseHeadersPolicyConfig;

    it('Content-Security-Policy: exactly the strict policy, nothing unsafe, frame-ancestors none', () => {
      const csp = policy().SecurityHeadersConfig.ContentSecurityPolicy;
      assert.deepEqual(csp, { ContentSecurityPolicy: CSP, Override: true });
      assert.doesNotMatch(csp.ContentSecurityPolicy, /unsafe-|\*/);
      assert.match(csp.ContentSecurityPolicy, /(^|; )frame-ancestors 'none'(;|$)/);
    });

    it('HSTS two years with subdomains and preload; X-Frame-Options DENY; nosniff; no referrer; XSS auditor off', () => {
      const sec = policy().SecurityHeadersConfig;
      assert.deepEqual(sec.StrictTransportSecurity, { AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Override: true, Preload: true });
      assert.deepEqual(sec.FrameOptions, { FrameOption: 'DENY', Override: true });
      assert.deepEqual(sec.ContentTypeOptions, { Override: true });
      assert.deepEqual(sec.ReferrerPolicy, { Override: true, ReferrerPolicy: 'no-referrer' });
      assert.deepEqual(sec.XSSProtection, { Override: true, Protection: false });
    });

    it('Permissions-Policy denies camera, microphone, geolocation and the other powerful features; COOP same-origin', () => {
      const custom = Object.fromEntries(policy().CustomHeadersConfig.Items.map((h: any) => [h.Header, h]));
      const pp = custom['Permissions-Policy'];
      assert.equal(pp.Override, true);
      const directives = pp.Value.split(', ');
      for (const d of directives) assert.match(d, /^[a-z-]+=\(\)$/, `${d}: denied to every origin`);
      for (const f of ['camera', 'microphone', 'geolocation', 'payment', 'usb']) assert.ok(directives.includes(`${f}=()`), f);
      assert.deepEqual(custom['Cross-Origin-Opener-Policy'], { Header: 'Cross-Origin-Opener-Policy', Override: true, Value: 'same-origin' });
    });
  });

  describe('the request function (cloudfront/site-request.js, as CloudFront runs it)', () => {
    const file = path.join(INFRA_DIR, 'cloudfront', 'site-request.js');
    const handler = vm.runInNewContext(`${fs.readFileSync(file, 'utf8')}\n;handler`, {}) as (e: any) => any;
    const run = (uri: string) => handler({ request: { method: 'GET', uri, querystring: {}, headers: {}, cookies: {} } });

    it('is the file, on the JS 2.0 runtime, published', () => {
      const f = json.Resources[logicalId(p.site.requestFunction)].Properties;
      assert.equal(f.FunctionCode, fs.readFileSync(file, 'utf8'));
      assert.deepEqual(f.FunctionConfig.Runtime, 'cloudfront-js-2.0');
      assert.equal(f.AutoPublish, true);
      assert.equal(f.Name, 'mkpf-staging-site-request');
    });

    it('directory URIs get index.html, so no request reaches the bucket root (which S3 would list)', () => {
      assert.equal(run('/').uri, '/index.html');
      assert.equal(run('/console/').uri, '/console/index.html');
      assert.equal(run('/somewhere/').uri, '/somewhere/index.html');
    });

    it('/console redirects to /console/', () => {
      const r = run('/console');
      assert.equal(r.statusCode, 301);
      assert.equal(r.headers.location.value, '/console/');
    });

    it('files pass unchanged (a missing one is answered 404 by S3, which CloudFront may list)', () => {
      for (const uri of ['/index.html', '/console/index.html', '/favicon.ico', '/assets/index-3f2a9c.js', '/no-such-page']) assert.equal(run(uri).uri, uri);
    });
  });

  describe('deployment', () => {
    const deployments = Object.entries(resourcesOf(json, 'Custom::CDKBucketDeployment'));
    const find = (pred: (props: any) => boolean) => {
      const found = deployments.filter(([, r]) => pred(r.Properties));
      assert.equal(found.length, 1, JSON.stringify(deployments.map(([id]) => id)));
      return found[0];
    };
    const [assetsId, assets] = find((x) => x.Prune === false);
    const [, pages] = find((x) => x.Prune === true);

    it('two deployments into the site bucket, of one and the same source', () => {
      assert.equal(deployments.length, 2);
      for (const [, d] of deployments) assert.deepEqual(d.Properties.DestinationBucketName, { Ref: bucketId });
      assert.deepEqual(assets.Properties.SourceObjectKeys, pages.Properties.SourceObjectKeys);
      assert.equal(assets.Properties.SourceObjectKeys.length, 1);
    });

    it('hashed assets first: only assets/*, never pruned, Cache-Control public, one year, immutable; no invalidation', () => {
      assert.deepEqual(assets.Properties.Exclude, ['*']);
      assert.deepEqual(assets.Properties.Include, ['assets/*']);
      assert.deepEqual(assets.Properties.SystemMetadata, { 'cache-control': 'public, max-age=31536000, immutable' });
      assert.equal(assets.Properties.DistributionId, undefined);
    });

    it('then the pages: everything but assets/*, pruned, Cache-Control no-cache, invalidating the HTML paths of this distribution', () => {
      assert.deepEqual(pages.Properties.Exclude, ['assets/*']);
      assert.equal(pages.Properties.Include, undefined);
      assert.deepEqual(pages.Properties.SystemMetadata, { 'cache-control': 'no-cache' });
      assert.deepEqual(pages.Properties.DistributionId, { Ref: distId });
      for (const path of ['/', '/index.html', '/console/', '/console/index.html']) assert.ok(pages.Properties.DistributionPaths.includes(path), path);
      assert.ok(!pages.Properties.DistributionPaths.includes('/*'), 'only the pages are invalidated');
      assert.ok(asList(pages.DependsOn).includes(assetsId), 'after the assets');
    });

    it('one Lambda, mkpf-staging-site-deployment, logging to its own log group with the stage retention', () => {
      const fns = Object.values(resourcesOf(json, 'AWS::Lambda::Function')).filter((f) => f.Properties.FunctionName === 'mkpf-staging-site-deployment');
      assert.equal(fns.length, 1);
      const lg = json.Resources[fns[0].Properties.LoggingConfig.LogGroup.Ref].Properties;
      assert.equal(lg.LogGroupName, '/aws/lambda/mkpf-staging-site-deployment');
      assert.equal(lg.RetentionInDays, s.config.logRetentionDays);
      for (const [, d] of deployments) assert.deepEqual(d.Properties.ServiceToken, { 'Fn::GetAtt': [Object.keys(json.Resources).find((k) => json.Resources[k] === fns[0]), 'Arn'] });
    });

    it("its role: no managed policy, nothing but its log group, the one source object, this bucket's objects and this distribution", () => {
      const fn = Object.values(resourcesOf(json, 'AWS::Lambda::Function')).find((f) => f.Properties.FunctionName === 'mkpf-staging-site-deployment')!;
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      const role = json.Resources[roleId];
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
      assert.equal(role.Properties.Policies, undefined);
      const statements = Object.values(resourcesOf(json, 'AWS::IAM::Policy'))
        .filter((x) => asList<any>(x.Properties.Roles).some((r) => r.Ref === roleId))
        .flatMap((x) => asList<any>(x.Properties.PolicyDocument.Statement));
      const got = statements.map((st) => ({ actions: asList<string>(st.Action).sort(), resource: st.Resource, effect: st.Effect }));
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      const key = assets.Properties.SourceObjectKeys[0];
      assert.deepEqual(got, [
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] }, effect: 'Allow' },
        {
          actions: ['s3:GetObject'],
          resource: { 'Fn::Join': ['', ['arn:aws:s3:::', assets.Properties.SourceBucketNames[0], `/${key}`]] },
          effect: 'Allow',
        },
        { actions: ['s3:ListBucket'], resource: { 'Fn::GetAtt': [bucketId, 'Arn'] }, effect: 'Allow' },
        { actions: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject'], resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }, effect: 'Allow' },
        {
          actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
          resource: { 'Fn::Join': ['', ['arn:aws:cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distId }]] },
          effect: 'Allow',
        },
      ]);
    });

    it('by default the placeholder pages (assets/site-placeholder) are what gets deployed', () => {
      s.app.synth();
      const manifestFile = path.join(s.outdir, `${p.stackName}.assets.json`);
      const files = Object.values<any>(JSON.parse(fs.readFileSync(manifestFile, 'utf8')).files);
      const key = assets.Properties.SourceObjectKeys[0];
      const asset = files.find((a) => Object.values<any>(a.destinations).some((d) => d.objectKey === key));
      assert.ok(asset, key);
      assert.equal(asset.source.packaging, 'zip');
      const staged = path.join(s.outdir, asset.source.path);
      for (const page of ['index.html', 'console/index.html']) {
        const text = fs.readFileSync(path.join(staged, page), 'utf8');
        assert.equal(text, fs.readFileSync(path.join(INFRA_DIR, 'assets', 'site-placeholder', page), 'utf8'));
        assert.match(text, /has not been built/);
        // The placeholder obeys the site's CSP: no inline script or style.
        assert.doesNotMatch(text, /<script|<style|style=/i, page);
      }
      assert.equal(JSON.parse(fs.readFileSync(path.join(s.outdir, `${p.stackName}.template.json`), 'utf8')).Outputs.SiteContent.Value, 'placeholder');
    });
  });
});

describe('the site content: a web/dist build, or the placeholder', () => {
  it('a build is deployed as it is (its pages, console and hashed assets)', () => {
    const dir = siteBuild();
    const outdir = tmpDir('out');
    const app = newApp({ outdir });
    const { platform } = addStage(app, { stage: 'staging', code: { kind: 'placeholder' }, site: { kind: 'dist', dir }, nag: false });
    app.synth();
    const key = Object.values(resourcesOf(mergedJson(platform), 'Custom::CDKBucketDeployment'))[0].Properties.SourceObjectKeys[0];
    const files = Object.values<any>(JSON.parse(fs.readFileSync(path.join(outdir, `${platform.stackName}.assets.json`), 'utf8')).files);
    const asset = files.find((a) => Object.values<any>(a.destinations).some((d) => d.objectKey === key));
    const staged = path.join(outdir, asset.source.path);
    assert.equal(fs.readFileSync(path.join(staged, 'console', 'index.html'), 'utf8'), '<!doctype html><title>console</title>');
    assert.equal(fs.readFileSync(path.join(staged, 'assets', 'index-3f2a9c.js'), 'utf8'), 'export {}');
  });

  it('a build without its pages stops synthesis and names what is missing', () => {
    const dir = siteBuild();
    fs.rmSync(path.join(dir, 'console'), { recursive: true });
    assert.throws(
      () => addStage(newApp({ outdir: tmpDir('out') }), { stage: 'staging', code: { kind: 'placeholder' }, site: { kind: 'dist', dir }, nag: false }),
      (e: Error) => e.message.includes(`missing web site build in ${dir}: no console/index.html (build it: cd web && npm ci && npm run build`),
    );
  });

  it('a build with a top-level name the API takes (e.g. v1/) is refused: it could never be reached', () => {
    const dir = siteBuild({ 'v1/page.html': 'x' });
    assert.throws(
      () => addStage(newApp({ outdir: tmpDir('out') }), { stage: 'staging', code: { kind: 'placeholder' }, site: { kind: 'dist', dir }, nag: false }),
      /has \/v1, which the API's paths .* would hide/,
    );
  });

  it('bin/app.ts: -c webSite must be dist or placeholder; dist wants the build of web/ (-c webDist)', () => {
    const bad = runApp({ stage: 'staging', lambdaCode: 'placeholder', webSite: 'html' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /-c webSite must be "dist" or "placeholder"/);
    const empty = tmpDir('empty-web-dist');
    const missing = runApp({ stage: 'staging', lambdaCode: 'placeholder', webSite: 'dist', webDist: empty });
    assert.equal(missing.status, 1);
    assert.ok(missing.stderr.includes(`missing web site build in ${empty}: no index.html, console/index.html`), missing.stderr);
  });
});

describe("the API's path patterns (lib/web-site.ts apiPathPatterns)", () => {
  const route = (p: string) => ({ name: `r${p}`, path: p });

  it('one pattern per first segment: /<segment>/* below it, /<segment> for a one-segment route', () => {
    assert.deepEqual(apiPathPatterns([route('/v1/a'), route('/v1/b/{id}'), route('/healthz'), route('/openapi.json'), route('/v2/{proxy+}')]), [
      '/healthz',
      '/openapi.json',
      '/v1/*',
      '/v2/*',
    ]);
  });

  it("refuses routes the site would shadow or that would take the site's paths", () => {
    for (const p of ['/{id}', '/{id}/x', '/assets/x', '/console', '/console/x', '/index.html']) {
      assert.throws(() => apiPathPatterns([route(p)]), /cannot share the distribution with the web site/, p);
    }
  });

  it('a route added under a new first segment gets its own API behaviour, with no edit in infra/', () => {
    const raw = rawManifest();
    raw.routes.push({
      name: 'widgets-get',
      method: 'GET',
      path: '/widgets/{widget_id}',
      function: 'widgets-get',
      access: ['public'],
      public: true,
      idempotent: false,
      tables: [{ name: 'ops', access: 'read' }],
      sends_to: [],
    });
    const { json } = synth({ manifest: raw, nag: false });
    const cfg = distributionConfig(json);
    assert.deepEqual(withoutPattern(behaviorFor(cfg, '/widgets/w1')), API_BEHAVIOR);
    assert.ok(asList<any>(cfg.CacheBehaviors).some((b) => b.PathPattern === '/widgets/*'));
  });
});
