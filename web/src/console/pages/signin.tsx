// Sign-in (staff id, password and, once enrolled, the authenticator's code) and the first-time
// steps the platform asks for: password change, then TOTP enrolment, then signing in again.
// The routes: POST /v1/staff/sessions, POST /v1/staff/me/password, POST /v1/staff/me/totp,
// POST /v1/staff/me/totp/confirm (docs/staff-and-audit.md, *Bootstrap and sign-in*).
import { useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { tr, type Text } from '../../lib/i18n';
import { signal, useSignal } from '../../lib/signal';
import { formatDateTime } from '../../lib/time';
import { Err, Field, Page, Status, useAction } from '../kit';
import { QrCode } from '../../lib/qr';
import { roleList } from '../words';
import { api, endedBecause, endSession, ok, refreshMe, session, setSession, type Session } from '../session';

/** The staff id last used, to fill in the next sign-in (memory only). */
const lastStaffId = signal('');

async function signIn(staffId: string, password: string, code: string | null): Promise<Session> {
  const r = await ok(
    api.POST('/v1/staff/sessions', {
      body: { staff_id: staffId, password, totp_code: code || null },
    }),
  );
  const s: Session = { token: r.access_token, expiresAt: r.expires_at, staffId: r.staff_id, roles: r.roles, pending: r.pending, me: null };
  setSession(s);
  lastStaffId.set(r.staff_id);
  return s;
}

export function SignIn() {
  const ended = useSignal(endedBecause);
  const [staffId, setStaffId] = useState(lastStaffId.get());
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const s = await signIn(staffId.trim(), password, code.trim());
      endedBecause.set(null);
      if (s.pending.length === 0) await refreshMe();
    });
  };
  return (
    <Page title={{ ja: 'サインイン', en: 'Sign in' }} lead={{ ja: '職員ID、パスワード、認証アプリの確認コードでサインインします。', en: 'Sign in with your staff ID, password and the code from your authenticator app.' }}>
      {ended && <Status>{tr(ended)}</Status>}
      <form onSubmit={submit} class="form" aria-describedby="signin-note">
        <Field label={{ ja: '職員ID', en: 'Staff ID' }} value={staffId} onValue={setStaffId} autoComplete="username" required autoCapitalize="off" spellcheck={false} name="staff_id" />
        <Field label={{ ja: 'パスワード', en: 'Password' }} type="password" value={password} onValue={setPassword} autoComplete="current-password" required name="password" />
        <Field
          label={{ ja: '確認コード（6桁）', en: 'Code (6 digits)' }}
          hint={{ ja: '認証アプリに表示される数字です。初めてのサインイン（一時パスワード）では空欄のままにしてください。', en: 'The number shown in your authenticator app. Leave it empty the first time (one-time password).' }}
          value={code}
          onValue={setCode}
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          name="totp_code"
        />
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {act.busy ? tr({ ja: '確認中…', en: 'Checking…' }) : tr({ ja: 'サインイン', en: 'Sign in' })}
          </button>
        </p>
      </form>
      <p class="hint" id="signin-note">
        {tr({
          ja: '5回続けて間違えると15分間ロックされます。アカウントや認証アプリを失くしたときは運用者に連絡してください。',
          en: 'Five failures in a row lock the account for 15 minutes. If you lost your account or authenticator, contact an operator.',
        })}
      </p>
    </Page>
  );
}

const STEPS: Text[] = [
  { ja: 'パスワードの変更', en: 'Change your password' },
  { ja: '認証アプリの登録', en: 'Set up your authenticator app' },
  { ja: 'もう一度サインイン', en: 'Sign in again' },
];

function Steps({ at }: { at: number }) {
  return (
    <ol class="steps" aria-label={tr({ ja: '初回設定の手順', en: 'First-time steps' })}>
      {STEPS.map((s, i) => (
        <li key={i} aria-current={i === at ? 'step' : undefined} class={i < at ? 'done' : i === at ? 'current' : ''}>
          {tr(s)}
          {i < at && <span class="visually-hidden">{tr({ ja: '（完了）', en: ' (done)' })}</span>}
        </li>
      ))}
    </ol>
  );
}

/** The steps a new (or reset, or expired-password) account must finish before anything else. */
export function Onboarding() {
  const s = useSignal(session)!;
  if (s.pending.includes('password_change')) return <PasswordStep s={s} />;
  return <TotpStep />;
}

function PasswordStep({ s }: { s: Session }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const act = useAction();
  const enrolLater = s.pending.includes('totp_enrolment');
  const submit = (e: Event) => {
    e.preventDefault();
    if (next !== again) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    void act.run(async () => {
      await ok(api.POST('/v1/staff/me/password', { body: { current_password: current, new_password: next } }));
      // Every session ended. Without an authenticator yet, sign in again with the new password
      // at once (no code needed); with one, the member signs in with a code.
      if (enrolLater) {
        await signIn(s.staffId, next, null);
      } else {
        endSession({ ja: 'パスワードを変更しました。新しいパスワードと確認コードでサインインしてください。', en: 'Your password was changed. Sign in with the new password and a code.' });
      }
    });
  };
  return (
    <Page title={{ ja: 'パスワードの変更', en: 'Change your password' }}>
      <Steps at={0} />
      <p>
        {tr({
          ja: '一時パスワードまたは期限切れのパスワードでサインインしました。続ける前に、新しいパスワードを決めてください。',
          en: 'You signed in with a one-time or expired password. Choose a new password before going on.',
        })}
      </p>
      <form onSubmit={submit} class="form">
        <input type="text" name="username" autoComplete="username" value={s.staffId} hidden readOnly />
        <Field label={{ ja: '今のパスワード（一時パスワード）', en: 'Current (one-time) password' }} type="password" value={current} onValue={setCurrent} autoComplete="current-password" required name="current_password" />
        <Field
          label={{ ja: '新しいパスワード', en: 'New password' }}
          hint={{ ja: '12〜128文字。3種類以上の文字を使い、職員IDを含めないでください。', en: '12–128 characters, at least 3 different ones, not containing your staff ID.' }}
          type="password"
          value={next}
          onValue={setNext}
          autoComplete="new-password"
          minLength={12}
          maxLength={128}
          required
          name="new_password"
        />
        <Field label={{ ja: '新しいパスワード（確認）', en: 'New password (again)' }} type="password" value={again} onValue={setAgain} autoComplete="new-password" required name="new_password_again" />
        {mismatch && (
          <div class="error" role="alert">
            {tr({ ja: '2つの新しいパスワードが一致しません。', en: 'The two new passwords differ.' })}
          </div>
        )}
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: 'パスワードを変更する', en: 'Change password' })}
          </button>
        </p>
      </form>
    </Page>
  );
}

type Enrolment = components['schemas']['TotpEnrolment'];

function TotpStep() {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState('');
  const start = useAction();
  const confirm = useAction();
  const begin = () =>
    void start.run(async () => {
      setEnrolment(await ok(api.POST('/v1/staff/me/totp')));
    });
  const submit = (e: Event) => {
    e.preventDefault();
    void confirm.run(async () => {
      await ok(api.POST('/v1/staff/me/totp/confirm', { body: { code: code.trim() } }));
      endSession({
        ja: '認証アプリを登録しました。新しいパスワードと、認証アプリに次に表示される確認コードでサインインしてください（登録に使ったコードは使えません）。',
        en: 'Your authenticator is set up. Sign in with your new password and the next code your app shows (the code used for setup does not work again).',
      });
    });
  };
  return (
    <Page title={{ ja: '認証アプリの登録', en: 'Set up your authenticator app' }}>
      <Steps at={1} />
      <p>
        {tr({
          ja: 'サインインには、パスワードに加えて認証アプリ（Google Authenticator、Microsoft Authenticator など）の6桁の確認コードが必要です。',
          en: 'Signing in needs, besides your password, the 6-digit code of an authenticator app (Google Authenticator, Microsoft Authenticator, …).',
        })}
      </p>
      {!enrolment && (
        <>
          <Err problem={start.problem} />
          <p>
            <button type="button" onClick={begin} disabled={start.busy}>
              {tr({ ja: '登録用のQRコードを表示する', en: 'Show the setup QR code' })}
            </button>
          </p>
        </>
      )}
      {enrolment && (
        <>
          <h2>{tr({ ja: '1. 認証アプリで読み取る', en: '1. Scan it with your app' })}</h2>
          <p class="warn">
            {tr({
              ja: 'このQRコードと鍵は今回だけ表示されます。他の人に見せないでください。',
              en: 'This QR code and key are shown only now. Do not show them to anyone.',
            })}
          </p>
          <QrCode text={enrolment.provisioning_uri} label={tr({ ja: '認証アプリ登録用のQRコード', en: 'QR code for your authenticator app' })} />
          <p>{tr({ ja: 'QRコードを読み取れないときは、次の鍵を認証アプリに入力してください（時間ベース、6桁、30秒）。', en: 'If you cannot scan it, type this key into the app (time-based, 6 digits, 30 seconds).' })}</p>
          <p>
            <code class="secret-value" data-totp-secret>
              {enrolment.secret}
            </code>
          </p>
          <h2>{tr({ ja: '2. 表示された確認コードを入力する', en: '2. Enter the code it shows' })}</h2>
          <form onSubmit={submit} class="form">
            <Field
              label={{ ja: '確認コード（6桁）', en: 'Code (6 digits)' }}
              value={code}
              onValue={setCode}
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              required
              name="totp_confirm"
            />
            <Err problem={confirm.problem} />
            <p>
              <button type="submit" disabled={confirm.busy}>
                {tr({ ja: '登録を完了する', en: 'Finish setup' })}
              </button>
            </p>
          </form>
        </>
      )}
    </Page>
  );
}

/** The member's own account: roles, expiry, and a voluntary password change. */
export function Account() {
  const s = useSignal(session)!;
  const me = s.me;
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      await ok(api.POST('/v1/staff/me/password', { body: { current_password: current, new_password: next } }));
      endSession({ ja: 'パスワードを変更しました。新しいパスワードと確認コードでサインインしてください。', en: 'Your password was changed. Sign in with the new password and a code.' });
    });
  };
  return (
    <Page title={{ ja: '自分のアカウント', en: 'My account' }}>
      <dl class="facts">
        <dt>{tr({ ja: '職員ID', en: 'Staff ID' })}</dt>
        <dd>{s.staffId}</dd>
        <dt>{tr({ ja: '役割', en: 'Roles' })}</dt>
        <dd>{roleList(me?.roles ?? s.roles)}</dd>
        {me?.municipality && (
          <>
            <dt>{tr({ ja: '自治体コード', en: 'Municipality code' })}</dt>
            <dd>{me.municipality}</dd>
          </>
        )}
        <dt>{tr({ ja: 'サインインの有効期限', en: 'Signed in until' })}</dt>
        <dd>{formatDateTime(s.expiresAt)}</dd>
        {me && (
          <>
            <dt>{tr({ ja: 'パスワードの有効期限', en: 'Password expires' })}</dt>
            <dd>{formatDateTime(me.password_expires_at)}</dd>
          </>
        )}
      </dl>
      <h2>{tr({ ja: 'パスワードを変更する', en: 'Change your password' })}</h2>
      <p class="hint">{tr({ ja: '変更すると、すべてのセッションが終了します。', en: 'Changing it ends every session.' })}</p>
      <form onSubmit={submit} class="form">
        <input type="text" name="username" autoComplete="username" value={s.staffId} hidden readOnly />
        <Field label={{ ja: '今のパスワード', en: 'Current password' }} type="password" value={current} onValue={setCurrent} autoComplete="current-password" required />
        <Field
          label={{ ja: '新しいパスワード', en: 'New password' }}
          hint={{ ja: '12〜128文字。3種類以上の文字を使い、職員IDを含めないでください。', en: '12–128 characters, at least 3 different ones, not containing your staff ID.' }}
          type="password"
          value={next}
          onValue={setNext}
          autoComplete="new-password"
          minLength={12}
          required
        />
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: 'パスワードを変更する', en: 'Change password' })}
          </button>
        </p>
      </form>
    </Page>
  );
}
