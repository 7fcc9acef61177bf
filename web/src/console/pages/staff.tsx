// Staff accounts: list and read (operators, auditors; every read audited), create, MFA reset,
// password reset and disable (operators; never their own account).
import { useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { tr, type Text } from '../../lib/i18n';
import { formatDateTime } from '../../lib/time';
import { AuditedNote, Checks, ConfirmButton, Err, Field, Loading, OnceSecret, Page, Status, Yes, useAction, useLoad } from '../kit';
import { api, can, ok, session } from '../session';
import { ROLES, STAFF_STATUS, roleList, word } from '../words';

type Staff = components['schemas']['StaffView'];

export function StaffTable({ items, link }: { items: Staff[]; link: boolean }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '職員アカウントの一覧', en: 'Staff accounts' })}>
      <table>
        <thead>
          <tr>
            <th scope="col">{tr({ ja: '職員ID', en: 'Staff ID' })}</th>
            <th scope="col">{tr({ ja: '氏名', en: 'Name' })}</th>
            <th scope="col">{tr({ ja: '役割', en: 'Roles' })}</th>
            <th scope="col">{tr({ ja: '状態', en: 'Status' })}</th>
            <th scope="col">{tr({ ja: '認証アプリ', en: 'Authenticator' })}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.staff_id}>
              <td>{link ? <a href={`#/staff/${encodeURIComponent(s.staff_id)}`}>{s.staff_id}</a> : s.staff_id}</td>
              <td>{s.display_name}</td>
              <td>
                {roleList(s.roles)}
                {s.municipality && ` (${s.municipality})`}
              </td>
              <td>
                {word(STAFF_STATUS, s.status)}
                {s.locked_until && <span class="badge state-withdrawn">{tr({ ja: 'ロック中', en: 'Locked' })}</span>}
              </td>
              <td>{s.totp_enrolled ? tr({ ja: '登録済み', en: 'Set up' }) : tr({ ja: '未登録', en: 'Not set up' })}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function StaffList() {
  const [items, setItems] = useState<Staff[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [muni, setMuni] = useState('');
  const [scope, setScope] = useState('');
  const more = useAction();
  const query = (cursor?: string) => ({ limit: 50, ...(scope ? { municipality: scope } : {}), ...(cursor ? { cursor } : {}) });
  const first = useLoad(async () => {
    const page = await ok(api.GET('/v1/ops/staff', { params: { query: query() } }));
    setItems(page.items);
    setNext(page.next_cursor ?? null);
    return page;
  }, [scope]);
  const loadMore = () =>
    void more.run(async () => {
      const page = await ok(api.GET('/v1/ops/staff', { params: { query: query(next!) } }));
      setItems((old) => [...old, ...page.items]);
      setNext(page.next_cursor ?? null);
    });
  return (
    <Page title={{ ja: '職員アカウント', en: 'Staff accounts' }}>
      <AuditedNote what={{ ja: '一覧の表示は監査記録に残ります（職員の氏名は個人情報です）。', en: 'Showing this list is recorded in the audit trail (staff names are personal data).' }} />
      {can('POST /v1/ops/staff') && (
        <p>
          <a class="button" href="#/new/staff">
            {tr({ ja: '新しいアカウントを作る', en: 'New account' })}
          </a>
        </p>
      )}
      <form
        class="form inline"
        onSubmit={(e) => {
          e.preventDefault();
          setScope(muni.trim());
        }}
      >
        <Field
          label={{ ja: '自治体で絞り込む（自治体コード）', en: 'Only one municipality (code)' }}
          hint={{ ja: '空欄: 運用者・監査担当などプラットフォームの職員。6桁のコード: その自治体の職員。', en: "Empty: the platform's own staff. A 6-digit code: that municipality's staff." }}
          value={muni}
          onValue={setMuni}
          inputMode="numeric"
          pattern="[0-9]{6}"
          maxLength={6}
        />
        <p>
          <button type="submit" class="secondary">
            {tr({ ja: '表示する', en: 'Show' })}
          </button>
        </p>
      </form>
      <h2>{scope ? tr({ ja: `自治体 ${scope} の職員`, en: `Staff of municipality ${scope}` }) : tr({ ja: 'プラットフォームの職員', en: "The platform's staff" })}</h2>
      {first.loading && <Loading />}
      <Err problem={first.problem} />
      {!first.loading && !first.problem && items.length === 0 && <p>{tr({ ja: 'アカウントはありません。', en: 'No accounts.' })}</p>}
      {items.length > 0 && <StaffTable items={items} link />}
      <Err problem={more.problem} />
      {next && (
        <p>
          <button type="button" class="secondary" onClick={loadMore} disabled={more.busy}>
            {tr({ ja: 'さらに表示', en: 'Show more' })}
          </button>
        </p>
      )}
    </Page>
  );
}

const ROLE_OPTIONS = Object.entries(ROLES).map(([value, label]) => ({ value, label }));

const OTP_WARNING: Text = {
  ja: 'この一時パスワードは今だけ表示され、二度と表示できません。本人に安全な方法で渡してください。本人は初回サインインで新しいパスワードへの変更と認証アプリの登録を行います。',
  en: 'This one-time password is shown only now and never again. Give it to the person by a safe channel. At their first sign-in they choose a new password and set up an authenticator.',
};

export function StaffNew() {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [muni, setMuni] = useState('');
  const [created, setCreated] = useState<components['schemas']['StaffWithPassword'] | null>(null);
  const [noRole, setNoRole] = useState(false);
  const act = useAction();
  const municipal = roles.includes('municipal_staff');
  const submit = (e: Event) => {
    e.preventDefault();
    if (roles.length === 0) {
      setNoRole(true);
      return;
    }
    setNoRole(false);
    void act.run(async () => {
      setCreated(
        await ok(
          api.POST('/v1/ops/staff', {
            body: { staff_id: id.trim(), display_name: name.trim(), roles, municipality: municipal ? muni.trim() : null },
          }),
        ),
      );
    });
  };
  if (created)
    return (
      <Page title={{ ja: 'アカウントを作成しました', en: 'Account created' }}>
        <dl class="facts">
          <dt>{tr({ ja: '職員ID', en: 'Staff ID' })}</dt>
          <dd>{created.staff.staff_id}</dd>
          <dt>{tr({ ja: '役割', en: 'Roles' })}</dt>
          <dd>{roleList(created.staff.roles)}</dd>
        </dl>
        <OnceSecret label={{ ja: '一時パスワード', en: 'One-time password' }} value={created.one_time_password} warning={OTP_WARNING} />
        <p>
          <a href={`#/staff/${encodeURIComponent(created.staff.staff_id)}`}>{tr({ ja: 'このアカウントを見る', en: 'View this account' })}</a> ·{' '}
          <a href="#/staff">{tr({ ja: '一覧へ戻る', en: 'Back to the list' })}</a>
        </p>
      </Page>
    );
  return (
    <Page title={{ ja: '新しい職員アカウント', en: 'New staff account' }}>
      <form onSubmit={submit} class="form">
        <Field
          label={{ ja: '職員ID', en: 'Staff ID' }}
          hint={{ ja: '英小文字で始まる3〜32文字（英小文字、数字、「.」「_」「-」）。後から変更できません。', en: '3–32 characters starting with a lower-case letter (a–z, 0–9, ".", "_", "-"). Permanent.' }}
          value={id}
          onValue={setId}
          pattern="[a-z][a-z0-9._\-]{2,31}"
          required
          autoCapitalize="off"
          spellcheck={false}
          name="staff_id"
        />
        <Field label={{ ja: '氏名', en: 'Name' }} hint={{ ja: '1〜64文字。', en: '1–64 characters.' }} value={name} onValue={setName} maxLength={64} required name="display_name" />
        <Checks legend={{ ja: '役割', en: 'Roles' }} hint={{ ja: '1つ以上選んでください。', en: 'Choose at least one.' }} values={roles} onValues={setRoles} options={ROLE_OPTIONS} />
        {noRole && (
          <div class="error" role="alert">
            {tr({ ja: '役割を1つ以上選んでください。', en: 'Choose at least one role.' })}
          </div>
        )}
        {municipal && (
          <Field
            label={{ ja: '自治体コード', en: 'Municipality code' }}
            hint={{ ja: '自治体職員の所属（6桁の全国地方公共団体コード。例: 千代田区 131016）。', en: "The municipal staff's municipality (6-digit local government code, e.g. Chiyoda 131016)." }}
            value={muni}
            onValue={setMuni}
            inputMode="numeric"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            name="municipality"
          />
        )}
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '作成する', en: 'Create' })}
          </button>{' '}
          <a href="#/staff">{tr({ ja: '一覧へ戻る', en: 'Back to the list' })}</a>
        </p>
      </form>
    </Page>
  );
}

export function StaffDetail({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const load = useLoad(() => ok(api.GET('/v1/ops/staff/{id}', { params: { path: { id } } })), [id]);
  const act = useAction();
  const [done, setDone] = useState<string | null>(null);
  const [otp, setOtp] = useState<string | null>(null);
  const s = load.data;
  const self = session.get()?.staffId === id;
  const action = (path: 'mfa-reset' | 'password-reset' | 'disable', msg: Text) => {
    setDone(null);
    setOtp(null);
    void act.run(async () => {
      const opts = { params: { path: { id } } };
      if (path === 'password-reset') {
        const r = await ok(api.POST('/v1/ops/staff/{id}/password-reset', opts));
        load.setData(r.staff);
        setOtp(r.one_time_password);
      } else if (path === 'mfa-reset') {
        load.setData(await ok(api.POST('/v1/ops/staff/{id}/mfa-reset', opts)));
      } else {
        load.setData(await ok(api.POST('/v1/ops/staff/{id}/disable', opts)));
      }
      setDone(tr(msg));
    });
  };
  return (
    <Page title={{ ja: '職員アカウント', en: 'Staff account' }}>
      <p>
        <a href="#/staff">{tr({ ja: '一覧へ戻る', en: 'Back to the list' })}</a>
      </p>
      <AuditedNote />
      {load.loading && !s && <Loading />}
      <Err problem={load.problem} />
      {s && (
        <>
          <dl class="facts">
            <dt>{tr({ ja: '職員ID', en: 'Staff ID' })}</dt>
            <dd>{s.staff_id}</dd>
            <dt>{tr({ ja: '氏名', en: 'Name' })}</dt>
            <dd>{s.display_name}</dd>
            <dt>{tr({ ja: '役割', en: 'Roles' })}</dt>
            <dd>{roleList(s.roles)}</dd>
            {s.municipality && (
              <>
                <dt>{tr({ ja: '自治体コード', en: 'Municipality' })}</dt>
                <dd>{s.municipality}</dd>
              </>
            )}
            <dt>{tr({ ja: '状態', en: 'Status' })}</dt>
            <dd data-status={s.status}>{word(STAFF_STATUS, s.status)}</dd>
            <dt>{tr({ ja: '認証アプリ登録済み', en: 'Authenticator set up' })}</dt>
            <dd>
              <Yes v={s.totp_enrolled} />
            </dd>
            <dt>{tr({ ja: '次回パスワード変更が必要', en: 'Must change password' })}</dt>
            <dd>
              <Yes v={s.must_change_password} />
            </dd>
            {s.locked_until && (
              <>
                <dt>{tr({ ja: 'ロック解除', en: 'Locked until' })}</dt>
                <dd>{formatDateTime(s.locked_until)}</dd>
              </>
            )}
            <dt>{tr({ ja: '作成', en: 'Created' })}</dt>
            <dd>
              {formatDateTime(s.created_at)} ({s.created_by})
            </dd>
          </dl>
          {done && <Status>{done}</Status>}
          {otp && (
            <OnceSecret label={{ ja: '新しい一時パスワード', en: 'New one-time password' }} value={otp} warning={OTP_WARNING} />
          )}
          <Err problem={act.problem} />
          {can('POST /v1/ops/staff/{id}/disable') && self && (
            <p class="hint">{tr({ ja: '自分自身のアカウントはリセット・無効化できません。', en: 'You cannot reset or disable your own account.' })}</p>
          )}
          {can('POST /v1/ops/staff/{id}/disable') && !self && s.status === 'active' && (
            <section class="actions" aria-labelledby="staff-actions">
              <h2 id="staff-actions">{tr({ ja: '操作', en: 'Actions' })}</h2>
              <p>{tr({ ja: 'どの操作も、この職員のセッションをすべて終了させます。', en: "Each action ends all of this member's sessions." })}</p>
              <div class="buttons">
                <ConfirmButton
                  label={{ ja: '認証アプリをリセット', en: 'Reset authenticator' }}
                  question={{ ja: '認証アプリの登録を消します。本人は次回サインイン時に登録し直します。よろしいですか？', en: 'This removes the authenticator; they set up a new one at their next sign-in. Go on?' }}
                  confirmLabel={{ ja: 'リセットする', en: 'Reset' }}
                  onConfirm={() => action('mfa-reset', { ja: '認証アプリをリセットしました。', en: 'The authenticator was reset.' })}
                  busy={act.busy}
                />
                <ConfirmButton
                  label={{ ja: 'パスワードをリセット', en: 'Reset password' }}
                  question={{ ja: '新しい一時パスワードを発行し、ロックも解除します。よろしいですか？', en: 'This issues a new one-time password and lifts any lock. Go on?' }}
                  confirmLabel={{ ja: 'リセットする', en: 'Reset' }}
                  onConfirm={() => action('password-reset', { ja: 'パスワードをリセットしました。', en: 'The password was reset.' })}
                  busy={act.busy}
                />
                <ConfirmButton
                  danger
                  label={{ ja: 'アカウントを無効にする', en: 'Disable account' }}
                  question={{ ja: 'このアカウントではサインインできなくなります。よろしいですか？', en: 'Nobody can sign in with this account any more. Go on?' }}
                  confirmLabel={{ ja: '無効にする', en: 'Disable' }}
                  onConfirm={() => action('disable', { ja: 'アカウントを無効にしました。', en: 'The account was disabled.' })}
                  busy={act.busy}
                />
              </div>
            </section>
          )}
        </>
      )}
    </Page>
  );
}
