// Pieces the citizen pages share: problem and status messages, the "sign in first" box, the QR code.
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Problem } from '../lib/api';
import { tr, type Text } from '../lib/i18n';
import { useSignal } from '../lib/signal';
import { citizenProblemText } from './problems';
import { flash } from './session';

/** An API problem in words, announced at once (role=alert). */
export function ProblemBox({ problem, children }: { problem: (Problem & { retry_at?: string }) | null; children?: ComponentChildren }) {
  if (!problem) return null;
  return (
    <div class="error" role="alert">
      <p>{citizenProblemText(problem)}</p>
      {children}
    </div>
  );
}

/** A polite status message (role=status). */
export function StatusBox({ text, kind = 'ok' }: { text: string | null; kind?: 'ok' | 'info' }) {
  return (
    <div role="status" class={text ? (kind === 'ok' ? 'status-ok' : 'notice') : 'status-empty'}>
      {text ?? ''}
    </div>
  );
}

/** Shown where a page needs the citizen to be signed in. */
export function SignInFirst({ next, why }: { next: string; why: Text }) {
  return (
    <div class="card">
      <p>{tr(why)}</p>
      <a class="button" href={`#/sign-in?next=${encodeURIComponent(next)}`}>
        {tr({ ja: 'マイナンバーカードでサインイン', en: 'Sign in with your My Number Card' })}
      </a>
    </div>
  );
}

/** The message left for this page (signed out, sign-in expired, signed in); cleared when the page is left. */
export function FlashBox({ on }: { on: string }) {
  const f = useSignal(flash);
  useEffect(
    () => () => {
      if (flash.get()?.on === on) flash.set(null);
    },
    [on],
  );
  if (!f || f.on !== on) return null;
  return f.kind === 'error' ? (
    <div class="error" role="alert">
      <p>{tr(f.text)}</p>
    </div>
  ) : (
    <div class="notice" role="status">
      <p>{tr(f.text)}</p>
    </div>
  );
}

/** A labelled list of facts (term → value), readable at 360 px where a table would scroll. */
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
