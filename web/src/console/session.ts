// The signed-in staff member: token and profile in memory, mirrored to sessionStorage so a reload
// keeps the tab signed in (never localStorage or cookies: closing the tab forgets the token).
// Tokens are opaque (never parsed); what the member may do comes from GET /v1/staff/me.
import { asProblem, client, type components, type Problem } from '../lib/api';
import { signal } from '../lib/signal';
import type { Text } from '../lib/i18n';
import access from './access.json';

export type Me = components['schemas']['Me'];
export type RouteKey = keyof typeof access;

export interface Session {
  token: string;
  expiresAt: string;
  staffId: string;
  roles: string[];
  pending: string[];
  me: Me | null;
}

const KEY = 'mkpf.console.session';

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(load());
/** Why the last session ended (shown on the sign-in page), if it ended by itself. */
export const endedBecause = signal<Text | null>(null);

export function setSession(s: Session | null) {
  try {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: the session lives in memory only */
  }
  session.set(s);
}

/** Forgets the session locally (after sign-out, or when the platform says it is over). */
export function endSession(reason: Text | null) {
  endedBecause.set(reason);
  setSession(null);
}

const ENDED: Record<string, Text> = {
  token_expired: {
    ja: 'サインインの有効期限（15分）が切れました。もう一度サインインしてください。',
    en: 'Your sign-in has expired (15 minutes). Please sign in again.',
  },
  session_ended: {
    ja: 'このセッションは終了しました（サインアウト、パスワード変更、リセットまたは無効化）。もう一度サインインしてください。',
    en: 'This session has ended (sign-out, password change, reset or disabled account). Please sign in again.',
  },
  token_invalid: { ja: 'もう一度サインインしてください。', en: 'Please sign in again.' },
};

/** The typed API client with the member's token; a 401 that ends the session signs out here. */
export const api = client(() => session.get()?.token ?? null);
api.use({
  async onResponse({ request, response }) {
    if (response.status === 401 && request.headers.has('Authorization')) {
      try {
        const p = (await response.clone().json()) as Problem;
        const why = p.code ? ENDED[p.code] : undefined;
        if (why) endSession(why);
      } catch {
        /* not a problem body */
      }
    }
    return response;
  },
});

/** Awaits an openapi-fetch call: its data, or throws its problem. */
export async function ok<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch {
    throw asProblem(null);
  }
  if (r.error !== undefined || !r.response.ok) throw asProblem(r.error, r.response.status);
  return r.data as T;
}

/** Like `ok`, with the response too (for ETag and paging headers). */
export async function okWith<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<{ data: T; response: Response }> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch {
    throw asProblem(null);
  }
  if (r.error !== undefined || !r.response.ok) throw asProblem(r.error, r.response.status);
  return { data: r.data as T, response: r.response };
}

/** A fetch with the token, for bodies the typed client does not model (CSV, NDJSON, DER). */
export async function rawFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const t = session.get()?.token;
  if (t) headers.set('Authorization', `Bearer ${t}`);
  let r: Response;
  try {
    r = await fetch(path, { ...init, headers });
  } catch {
    throw asProblem(null);
  }
  if (!r.ok) {
    let body: unknown = null;
    try {
      body = await r.json();
    } catch {
      /* not JSON */
    }
    if (r.status === 401 && body && typeof body === 'object') {
      const why = ENDED[(body as Problem).code ?? ''];
      if (why) endSession(why);
    }
    throw asProblem(body, r.status);
  }
  return r;
}

/**
 * Uploads a body with XMLHttpRequest (fetch has no upload progress), reporting the share sent.
 * Resolves with the parsed JSON answer; rejects with its problem.
 */
export function upload(path: string, body: Blob, contentType: string, onProgress: (sent: number, total: number) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    x.setRequestHeader('Content-Type', contentType);
    const t = session.get()?.token;
    if (t) x.setRequestHeader('Authorization', `Bearer ${t}`);
    x.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
    x.onerror = () => reject(asProblem(null));
    x.onload = () => {
      let json: unknown = null;
      try {
        json = JSON.parse(x.responseText);
      } catch {
        /* not JSON */
      }
      if (x.status >= 200 && x.status < 300) return resolve(json);
      if (x.status === 401 && json && typeof json === 'object') {
        const why = ENDED[(json as Problem).code ?? ''];
        if (why) endSession(why);
      }
      reject(asProblem(json, x.status));
    };
    x.send(body);
  });
}

/** Whether the member's roles admit a route (the route table's access list, as docs/api.md shows it). */
export function can(key: RouteKey, roles: string[] | undefined = session.get()?.roles): boolean {
  const list: string[] = access[key];
  if (list.includes('staff:any')) return true;
  return (roles ?? []).some((r) => list.includes(`staff:${r}`));
}

/** Reads GET /v1/staff/me into the session. */
export async function refreshMe(): Promise<Me> {
  const me = await ok(api.GET('/v1/staff/me'));
  const s = session.get();
  if (s) setSession({ ...s, roles: me.roles, pending: me.pending, me });
  return me;
}
