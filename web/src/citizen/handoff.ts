// The browser side of the card sign-in hand-off (docs/card-handoff.md): start a hand-off, then
// poll for the session with the one-time browser secret. The routes are public (no token sent
// matters); both go through the typed client, so a change of the contract breaks `tsc`.
import type { components, Problem } from '../lib/api';
import { api, call } from './session';

/** `201` of `POST /v1/card-auth/handoffs`; `browser_secret` is kept in memory only. */
export type HandoffStarted = components['schemas']['HandoffStarted'];
/** `200` of `POST /v1/card-auth/handoffs/{id}/session`: the body of a sign-in. */
export type HandoffSession = components['schemas']['SessionResponse'];

export type Poll =
  | { kind: 'pending'; expires_at?: string }
  | { kind: 'session'; session: HandoffSession }
  | { kind: 'problem'; problem: Problem; status: number };

export async function startHandoff(signal?: AbortSignal): Promise<{ ok: true; data: HandoffStarted } | { ok: false; problem: Problem; status: number }> {
  const r = await call(api.POST('/v1/card-auth/handoffs', { signal }));
  return r.ok ? { ok: true, data: r.data } : { ok: false, problem: r.problem, status: r.status };
}

export async function pollHandoff(handoffId: string, browserSecret: string, signal?: AbortSignal): Promise<Poll> {
  const r = await call(
    api.POST('/v1/card-auth/handoffs/{handoff_id}/session', {
      params: { path: { handoff_id: handoffId } },
      body: { browser_secret: browserSecret },
      signal,
    }),
  );
  if (!r.ok) return { kind: 'problem', problem: r.problem, status: r.status };
  if (r.status === 202 || !('session_token' in r.data)) return { kind: 'pending', expires_at: r.data.expires_at };
  return { kind: 'session', session: r.data };
}

/** "ABCDEFGH" / "abcd-efgh" → "ABCD-EFGH" (anything else is returned upper-cased as it is). */
export function formatCode(code: string): string {
  const c = code.replace(/[-\s]/g, '').toUpperCase();
  return c.length === 8 ? `${c.slice(0, 4)}-${c.slice(4)}` : code.toUpperCase();
}

/** Whether a code looks like a hand-off code (Crockford base32 without I L O U, 8 characters). */
export function isCode(code: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(code.replace(/-/g, '').toUpperCase());
}

/** The address the QR code carries: this site's hand-off page for the code. */
export function handoffUrl(code: string): string {
  return `${location.origin}/#/handoff/${formatCode(code)}`;
}
