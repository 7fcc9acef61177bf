// The API client, typed from the platform's OpenAPI document (generated/api.d.ts, made by
// scripts/build from `mkpf-admin openapi`): a route or field that changes breaks `tsc`, not a
// user. Same origin as the pages, so no CORS and no absolute URL.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from '../../generated/api';

export type { paths, components } from '../../generated/api';

/** A problem+json body (RFC 9457) as the platform sends it. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  request_id?: string;
  errors?: { field?: string; code?: string; message?: string }[];
}

/** A client that sends `Authorization: Bearer <token>` when `token()` gives one. */
export function client(token: () => string | null) {
  const c = createClient<paths>({ baseUrl: '' });
  const auth: Middleware = {
    onRequest({ request }) {
      const t = token();
      if (t) request.headers.set('Authorization', `Bearer ${t}`);
      return request;
    },
  };
  c.use(auth);
  return c;
}

/** The problem in an error answer, or one made up for a network failure. */
export function asProblem(error: unknown, status?: number): Problem {
  if (error && typeof error === 'object' && 'code' in error) return error as Problem;
  return { code: status ? `http_${status}` : 'network_error', status };
}

/** A fresh idempotency key for a creating POST (retries of one action reuse it). */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
