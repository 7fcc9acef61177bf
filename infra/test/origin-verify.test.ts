// The origin-verify authorizer (lambda/origin-verify/index.js): only the secret CloudFront adds
// is admitted; the current and the previous secret both work during a rotation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { makeHandler, handler } = require('../lambda/origin-verify/index.js');

const event = (value?: string) => ({ version: '2.0', type: 'REQUEST', headers: value === undefined ? {} : { 'x-origin-verify': value } });

describe('origin-verify authorizer', () => {
  it('admits the current and the previous secret, nothing else', async () => {
    const h = makeHandler(async () => ['current-secret-value', 'previous-secret-value']);
    assert.deepEqual(await h(event('current-secret-value')), { isAuthorized: true, context: { origin_verified: true } });
    assert.deepEqual(await h(event('previous-secret-value')), { isAuthorized: true, context: { origin_verified: true } });
    for (const bad of ['', 'current-secret-valu', 'current-secret-value ', 'CURRENT-SECRET-VALUE', 'x'.repeat(1000)]) {
      assert.deepEqual(await h(event(bad)), { isAuthorized: false }, JSON.stringify(bad));
    }
    assert.deepEqual(await h(event()), { isAuthorized: false });
    assert.deepEqual(await h({}), { isAuthorized: false });
  });

  it('caches the secrets for 5 minutes, then reads them again', async () => {
    let now = 1_000_000;
    let reads = 0;
    let values = ['one'];
    const h = makeHandler(async () => {
      reads += 1;
      return values;
    }, () => now);
    await h(event('one'));
    await h(event('one'));
    assert.equal(reads, 1);
    values = ['two'];
    now += 4 * 60 * 1000;
    assert.deepEqual(await h(event('two')), { isAuthorized: false }, 'still the cached value');
    now += 2 * 60 * 1000;
    assert.deepEqual(await h(event('two')), { isAuthorized: true, context: { origin_verified: true } });
    assert.equal(reads, 2);
  });

  it('never admits on an empty secret, and fails closed when the secret cannot be read', async () => {
    assert.deepEqual(await makeHandler(async () => ['', null])(event('')), { isAuthorized: false });
    const broken = makeHandler(async () => {
      throw new Error('AccessDenied');
    });
    await assert.rejects(() => broken(event('anything')), /AccessDenied/);
  });

  it('without ORIGIN_SECRET_ARN configured, refuses everything', async () => {
    assert.deepEqual(await handler(event('anything')), { isAuthorized: false });
  });
});

describe('viewer address behind CloudFront', () => {
  it('the API behaviours forward CloudFront-Viewer-Address with the viewer headers (not Host)', async () => {
    const { synth, resourcesOf } = await import('./helpers');
    const { json } = synth();
    const [d] = Object.values(resourcesOf(json, 'AWS::CloudFront::Distribution'));
    // Managed-AllViewerExceptHostHeader: every viewer header but Host, plus CloudFront's own
    // headers, CloudFront-Viewer-Address among them (a viewer cannot supply those). On every API
    // path (the default behaviour is the web site's).
    const api = d.Properties.DistributionConfig.CacheBehaviors.filter((b: any) => b.TargetOriginId === 'api');
    assert.ok(api.some((b: any) => b.PathPattern === '/v1/*'));
    for (const b of api) assert.equal(b.OriginRequestPolicyId, 'b689b0a8-53d0-40ab-baf2-68738e2966ac', b.PathPattern);
  });
});
