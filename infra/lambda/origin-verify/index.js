// API Gateway HTTP API Lambda authorizer (payload 2.0, simple responses) attached to every route:
// admits a request only when it carries the secret header CloudFront adds to origin requests, so
// the API cannot be called around CloudFront and its WAF. It does not authenticate callers: the
// platform's own route guard does that (public routes, bearer tokens).
//
// The secret lives in Secrets Manager (ORIGIN_SECRET_ARN). Both the current and the previous
// version are accepted, so rotating it (docs/operations.md) causes no refusals while CloudFront
// is being updated. Values are cached for 5 minutes; API Gateway also caches each answer for the
// header value for 5 minutes, so this runs rarely.
'use strict';

const crypto = require('node:crypto');

const HEADER = 'x-origin-verify';
const CACHE_MS = 5 * 60 * 1000;

function sameSecret(given, expected) {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Reads AWSCURRENT and (if there is one) AWSPREVIOUS from Secrets Manager. */
function secretsManagerSource(secretId) {
  let client;
  return async () => {
    // The AWS SDK v3 is part of the Node.js Lambda runtime; loaded lazily so tests need not have it.
    const sm = require('@aws-sdk/client-secrets-manager');
    client = client || new sm.SecretsManagerClient({});
    const values = [];
    for (const stage of ['AWSCURRENT', 'AWSPREVIOUS']) {
      try {
        const out = await client.send(new sm.GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
        if (out.SecretString) values.push(out.SecretString);
      } catch (err) {
        // No previous version yet is normal; the current one must be readable.
        if (stage === 'AWSCURRENT') throw err;
      }
    }
    return values;
  };
}

/** Builds the handler around a function that returns the accepted secret values. */
function makeHandler(loadSecrets, now = Date.now) {
  let cached = { at: 0, values: [] };
  return async (event) => {
    const given = (event && event.headers && event.headers[HEADER]) || '';
    if (given === '') return { isAuthorized: false };
    if (cached.values.length === 0 || now() - cached.at > CACHE_MS) {
      cached = { at: now(), values: (await loadSecrets()).filter((v) => typeof v === 'string' && v.length > 0) };
    }
    // The context tells the platform that origin verification passed, so it may take the viewer
    // address from CloudFront-Viewer-Address (shared/http/src/router.rs, ORIGIN_VERIFIED).
    return cached.values.some((v) => sameSecret(given, v)) ? { isAuthorized: true, context: { origin_verified: true } } : { isAuthorized: false };
  };
}

exports.makeHandler = makeHandler;
exports.handler = process.env.ORIGIN_SECRET_ARN ? makeHandler(secretsManagerSource(process.env.ORIGIN_SECRET_ARN)) : async () => ({ isAuthorized: false });
