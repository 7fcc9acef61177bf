// The citizen's session: the token lives in memory and in sessionStorage (this tab only, gone
// when it closes) — never localStorage or cookies. Every citizen route goes through `api`, which
// sends the token; a 401 from a citizen route ends the session here and sends the citizen back
// to the sign-in page with a message (`expireSession`).
import type { Problem } from '../lib/api';
import { asProblem, client } from '../lib/api';
import { type Text } from '../lib/i18n';
import { navigate, route } from '../lib/router';
import { signal } from '../lib/signal';

export interface Session {
  token: string;
  /** RFC 3339: when the token stops working. */
  expires_at: string;
  /** The MyKey ID the sign-in answered with (null: none yet); refreshed by the MyKey page. */
  mykey_id: string | null;
}

const KEY = 'mkpf.citizen.session';

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== 'string' || typeof s.expires_at !== 'string') return null;
    return s;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(load());

/** Whether a session is there and not past its expiry. */
export function live(s: Session | null): s is Session {
  if (!s) return false;
  const until = Date.parse(s.expires_at);
  return Number.isNaN(until) || until > Date.now();
}

/** A message for the next page (sign-in after an expiry, home after signing out). */
export interface Flash {
  text: Text;
  kind: 'info' | 'error';
  /** The route (without query) whose page shows it; that page clears it when left. */
  on: string;
}
export const flash = signal<Flash | null>(null);

function save(s: Session | null) {
  try {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: the session lasts as long as this page */
  }
}

export function setSession(s: Session | null) {
  save(s);
  session.set(s);
}

export function setMyKeyId(id: string | null) {
  const s = session.get();
  if (s && s.mykey_id !== id) setSession({ ...s, mykey_id: id });
}

/** The token while it is (as far as we know) still valid. */
export function token(): string | null {
  const s = session.get();
  return live(s) ? s.token : null;
}

/** The current route without its query, for "come back here after signing in". */
function here(): string {
  return route.get().split('?')[0] ?? '/';
}

/** Ends the session on our side and sends the citizen to sign in again, then back here. */
export function expireSession(text: Text) {
  setSession(null);
  flash.set({ text, kind: 'error', on: '/sign-in' });
  const back = here();
  navigate(back.startsWith('/sign-in') ? '/sign-in' : `/sign-in?next=${encodeURIComponent(back)}`);
}

export const SESSION_EXPIRED: Text = {
  ja: 'サインインの有効期限が切れました。もう一度サインインしてください。',
  en: 'Your sign-in has expired. Please sign in again.',
};

export const api = client(token);

export type Result<T> = { ok: true; data: T; status: number; response: Response } | { ok: false; problem: Problem; status: number; response?: Response };

/**
 * Awaits an openapi-fetch call and folds it into a Result. `citizen`: the route needs the
 * session, so a 401 ends it (expired, signed out elsewhere) and goes to the sign-in page.
 */
export async function call<T>(
  p: Promise<{ data?: T; error?: unknown; response: Response }>,
  opts: { citizen?: boolean } = {},
): Promise<Result<T>> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    return { ok: false, problem: asProblem(null), status: 0 };
  }
  const status = r.response.status;
  if (r.response.ok) return { ok: true, data: r.data as T, status, response: r.response };
  const problem = withRetryAfter(asProblem(r.error, status), r.response);
  if (opts.citizen && status === 401) expireSession(SESSION_EXPIRED);
  return { ok: false, problem, status, response: r.response };
}

/** A problem with the instant its `Retry-After` points to (for "wait until …" messages). */
export type TimedProblem = Problem & { retry_at?: string };

function withRetryAfter(p: Problem, res: Response): TimedProblem {
  const ra = res.headers.get('Retry-After');
  const secs = ra && /^\d+$/.test(ra) ? Number(ra) : NaN;
  return Number.isFinite(secs) ? { ...p, retry_at: new Date(Date.now() + secs * 1000).toISOString() } : p;
}
