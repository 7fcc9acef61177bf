// Sign-in (#/sign-in): the card hand-off (docs/card-handoff.md). The page starts a hand-off,
// shows its QR code and code, and polls for the session with the one-time browser secret (kept
// in this component's memory only) every poll_interval_secs until the card holder's device has
// signed, the code expires or is refused. Leaving the page stops the polling.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Problem } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { navigate } from '../../lib/router';
import { useSignal } from '../../lib/signal';
import { formatDateTime } from '../../lib/time';
import { PageTitle } from '../../lib/ui';
import { citizenProblemText } from '../problems';
import { formatCode, handoffUrl, pollHandoff, startHandoff, type HandoffStarted } from '../handoff';
import { flash, live, session, setSession } from '../session';
import { QrCode } from '../../lib/qr';
import { FlashBox, ProblemBox } from '../ui';
import { SITE } from '../words';

type State =
  | { kind: 'starting' }
  | { kind: 'waiting'; handoff: HandoffStarted }
  /** The hand-off cannot go on (start refused, unknown, used, expired): start again. */
  | { kind: 'failed'; problem: Problem }
  | { kind: 'done' };

/** Answers that end a hand-off (404 unknown, 409 used, 410 expired, any other refusal); a network
 * failure, 429 or 5xx is retried at the next poll. */
const final = (status: number) => status >= 400 && status < 500 && status !== 429;

export function SignInPage({ next }: { next: string | null }) {
  const s = useSignal(session);
  const [state, setState] = useState<State>({ kind: 'starting' });
  const [attempt, setAttempt] = useState(0);
  const [transient, setTransient] = useState<Problem | null>(null);
  const restart = useRef<HTMLButtonElement>(null);
  const codeHeading = useRef<HTMLHeadingElement>(null);
  const signedIn = live(s) && state.kind !== 'done';

  // Start a hand-off (again on "start again").
  useEffect(() => {
    if (signedIn) return;
    const ctrl = new AbortController();
    setState({ kind: 'starting' });
    setTransient(null);
    startHandoff(ctrl.signal)
      .then((r) => {
        if (r.ok) setState({ kind: 'waiting', handoff: r.data });
        else setState({ kind: 'failed', problem: r.problem });
      })
      .catch(() => {
        /* aborted: the page was left */
      });
    return () => ctrl.abort();
  }, [attempt, signedIn]);

  // Poll for the session while waiting.
  const handoff = state.kind === 'waiting' ? state.handoff : null;
  useEffect(() => {
    if (!handoff) return;
    const ctrl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const interval = Math.max(1, handoff.poll_interval_secs || 2) * 1000;
    const expiry = Date.parse(handoff.expires_at);
    const tick = async () => {
      let r;
      try {
        r = await pollHandoff(handoff.handoff_id, handoff.browser_secret, ctrl.signal);
      } catch {
        return; // aborted
      }
      if (ctrl.signal.aborted) return;
      if (r.kind === 'session') {
        setState({ kind: 'done' });
        setSession({ token: r.session.session_token, expires_at: r.session.expires_at, mykey_id: r.session.mykey_id ?? null });
        const to = next ?? '/mykey';
        flash.set({ text: { ja: 'サインインしました。', en: 'You are signed in.' }, kind: 'info', on: to });
        navigate(to);
        return;
      }
      if (r.kind === 'problem' && final(r.status)) {
        setState({ kind: 'failed', problem: r.problem });
        return;
      }
      // Pending, or a passing failure (offline, busy): ask again, but not long past the expiry
      // (the platform answers 410 then; this is only for a clock far off).
      setTransient(r.kind === 'problem' ? r.problem : null);
      if (!Number.isNaN(expiry) && Date.now() > expiry + 30_000) {
        setState({ kind: 'failed', problem: { code: 'handoff_expired', status: 410 } });
        return;
      }
      timer = setTimeout(tick, interval);
    };
    timer = setTimeout(tick, interval);
    return () => {
      ctrl.abort();
      clearTimeout(timer);
    };
  }, [handoff]);

  // Focus: the code when a hand-off is shown (after "start again"), the button when it failed.
  useEffect(() => {
    if (attempt === 0) return;
    if (state.kind === 'waiting') codeHeading.current?.focus();
  }, [state.kind, attempt]);
  useEffect(() => {
    if (state.kind === 'failed') restart.current?.focus();
  }, [state.kind]);

  const title = { ja: 'マイナンバーカードでサインイン', en: 'Sign in with your My Number Card' };

  if (signedIn) {
    return (
      <>
        <PageTitle text={title} site={SITE} />
        <div class="notice" role="status">
          <p>{tr({ ja: 'すでにサインインしています。', en: 'You are already signed in.' })}</p>
        </div>
        <p class="actions">
          <a class="button" href={`#${next ?? '/mykey'}`}>
            {tr({ ja: '続ける', en: 'Continue' })}
          </a>
        </p>
      </>
    );
  }

  return (
    <>
      <PageTitle text={title} site={SITE} />
      <FlashBox on="/sign-in" />
      <p class="lead">
        {tr({
          ja: 'マイナンバーカードに対応したアプリでQRコードを読み取るか、コードを入力してください。カードでの確認が済むと、この画面は自動でサインインします。',
          en: 'Scan the QR code with an app that supports the My Number Card, or enter the code. Once your card has been checked, this page signs you in by itself.',
        })}
      </p>

      {state.kind === 'starting' && (
        <p role="status" aria-busy="true">
          {tr({ ja: 'コードを準備しています…', en: 'Preparing your code…' })}
        </p>
      )}

      {state.kind === 'waiting' && (
        <section class="handoff card" aria-labelledby="code-h">
          <h2 id="code-h" tabIndex={-1} ref={codeHeading}>
            {tr({ ja: 'サインイン用のコード', en: 'Your sign-in code' })}
          </h2>
          <div class="handoff-grid">
            <QrCode
              text={handoffUrl(state.handoff.code)}
              label={tr({ ja: `サインイン用のQRコード（コード ${formatCode(state.handoff.code)}）`, en: `Sign-in QR code (code ${formatCode(state.handoff.code)})` })}
            />
            <div>
              <p class="hint">{tr({ ja: 'コード', en: 'Code' })}</p>
              <p class="code code-big" data-testid="handoff-code">
                {formatCode(state.handoff.code)}
              </p>
              <Countdown until={state.handoff.expires_at} />
              <p class="waiting" role="status">
                <span class="spinner" aria-hidden="true" />
                {tr({ ja: 'カードでの確認を待っています…', en: 'Waiting for your card…' })}
              </p>
            </div>
          </div>
          <ProblemBox problem={transient} />
        </section>
      )}

      {state.kind === 'failed' && (
        <div class="error" role="alert">
          <FailText problem={state.problem} />
          <button type="button" ref={restart} onClick={() => setAttempt((a) => a + 1)}>
            {tr({ ja: 'はじめからやり直す', en: 'Start again' })}
          </button>
        </div>
      )}

      {state.kind === 'done' && (
        <p role="status">{tr({ ja: 'サインインしました。', en: 'You are signed in.' })}</p>
      )}

      <section class="warning" aria-labelledby="safety-h">
        <h2 id="safety-h">{tr({ ja: 'ご注意ください', en: 'Please be careful' })}</h2>
        <ul>
          <li>
            <strong>
              {tr({
                ja: '他人から送られてきたQRコードやコードは読み取らないでください。',
                en: 'Never scan a QR code or enter a code that someone sent you.',
              })}
            </strong>{' '}
            {tr({
              ja: '読み取ると、その人があなたとしてサインインできてしまいます。',
              en: 'If you do, that person could sign in as you.',
            })}
          </li>
          <li>
            {tr({
              ja: '読み取るのは、あなたが自分で開いたこの画面に表示されたコードだけにしてください。アプリに表示される開始時刻が、この画面を開いた時刻と合っているか確かめてください。',
              en: 'Only scan the code shown on this screen, which you opened yourself. Check that the start time the app shows matches when you opened this page.',
            })}
          </li>
          <li>
            {tr({
              ja: 'コードの有効期限は5分です。マイナンバーカードの暗証番号は、アプリにだけ入力してください。',
              en: 'The code lasts 5 minutes. Enter your card PIN only in the app.',
            })}
          </li>
        </ul>
      </section>
    </>
  );
}

function FailText({ problem }: { problem: Problem }) {
  return <p>{citizenProblemText(problem)}</p>;
}

/** Time left until the code expires, every second (role=timer: not read out each second), and one spoken warning at 1 minute. */
function Countdown({ until }: { until: string }) {
  const end = Date.parse(until);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [until]);
  const left = Math.max(0, Math.floor((end - now) / 1000));
  const mm = Math.floor(left / 60);
  const ss = String(left % 60).padStart(2, '0');
  return (
    <>
      <p class="countdown">
        {tr({ ja: '有効期限まで', en: 'Time left' })}{' '}
        <span role="timer" class="countdown-time">
          {left > 0 ? `${mm}:${ss}` : tr({ ja: '期限切れ', en: 'expired' })}
        </span>
        <span class="hint countdown-until">
          {tr({ ja: `（${formatDateTime(until)}まで）`, en: ` (until ${formatDateTime(until)})` })}
        </span>
      </p>
      <p class="visually-hidden" aria-live="polite">
        {left <= 60 && left > 0 ? tr({ ja: '有効期限まであと1分です。', en: 'One minute left.' }) : ''}
      </p>
    </>
  );
}
