// Mynapoint payment providers: list and read (operators, auditors), create and rotate the
// callback signing secret (operators; the secret is shown once, with a copy button).
import { useRef, useState } from 'preact/hooks';
import { idempotencyKey, type components } from '../../lib/api';
import { tr, type Text } from '../../lib/i18n';
import { formatDateTime } from '../../lib/time';
import { Err, Field, Flash, Loading, OnceSecret, Page, Select, Status, Yes, useAction, useLoad } from '../kit';
import { api, can, ok } from '../session';

type Secret = components['schemas']['SecretView'];

export const OVERLAPS: { value: string; label: Text }[] = [
  { value: '86400', label: { ja: '24時間（標準）', en: '24 hours (default)' } },
  { value: '3600', label: { ja: '1時間', en: '1 hour' } },
  { value: '604800', label: { ja: '7日間', en: '7 days' } },
  { value: '0', label: { ja: 'すぐに失効（漏えい時など）', en: 'At once (e.g. after a leak)' } },
];

export function SecretsTable({ items, label }: { items: Secret[]; label: Text }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={tr(label)}>
      <table>
        <thead>
          <tr>
            <th scope="col">{tr({ ja: '鍵ID', en: 'Secret ID' })}</th>
            <th scope="col">{tr({ ja: '作成', en: 'Created' })}</th>
            <th scope="col">{tr({ ja: '失効', en: 'Retires' })}</th>
            <th scope="col">{tr({ ja: '使用中', en: 'In use' })}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.secret_id}>
              <td>{s.secret_id}</td>
              <td>{formatDateTime(s.created_at)}</td>
              <td>{s.retires_at ? formatDateTime(s.retires_at) : tr({ ja: '（現在の鍵）', en: '(current)' })}</td>
              <td>
                <Yes v={s.active} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export const SECRET_WARNING: Text = {
  ja: 'この署名鍵は今だけ表示され、二度と表示できません。今すぐコピーして、事業者に安全な方法で渡してください。失くした場合は鍵を更新してください。',
  en: 'This signing secret is shown only now and never again. Copy it now and give it to the provider by a safe channel. If it is lost, rotate the secret.',
};

export function ProviderList() {
  const load = useLoad(() => ok(api.GET('/v1/ops/mynapoint/providers')), []);
  return (
    <Page title={{ ja: '決済事業者', en: 'Payment providers' }} lead={{ ja: 'マイナポイントの決済サービスを運営する事業者です。', en: 'The companies running Mynapoint payment services.' }}>
      <Flash />
      {can('POST /v1/ops/mynapoint/providers') && (
        <p>
          <a class="button" href="#/new/provider">
            {tr({ ja: '新しい事業者を登録する', en: 'Register a provider' })}
          </a>
        </p>
      )}
      {load.loading && <Loading />}
      <Err problem={load.problem} />
      {load.data && load.data.items.length === 0 && <p>{tr({ ja: '事業者はまだ登録されていません。', en: 'No providers yet.' })}</p>}
      {load.data && load.data.items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '事業者の一覧', en: 'Providers' })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{tr({ ja: '事業者ID', en: 'Provider ID' })}</th>
                <th scope="col">{tr({ ja: '名称', en: 'Name' })}</th>
                <th scope="col">{tr({ ja: '登録', en: 'Registered' })}</th>
              </tr>
            </thead>
            <tbody>
              {load.data.items.map((p) => (
                <tr key={p.provider_id}>
                  <td>
                    <a href={`#/mynapoint/providers/${encodeURIComponent(p.provider_id)}`}>{p.provider_id}</a>
                  </td>
                  <td>{p.name}</td>
                  <td>{formatDateTime(p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

export function ProviderNew() {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const key = useRef(idempotencyKey());
  const [created, setCreated] = useState<components['schemas']['ProviderCreated'] | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const r = await ok(api.POST('/v1/ops/mynapoint/providers', { params: { header: { 'Idempotency-Key': key.current } }, body: { provider_id: id.trim(), name: name.trim() } }));
      key.current = idempotencyKey();
      setCreated(r);
    });
  };
  if (created)
    return (
      <Page title={{ ja: '事業者を登録しました', en: 'Provider registered' }}>
        <p>
          {created.provider.provider_id} — {created.provider.name}
        </p>
        <OnceSecret label={{ ja: 'コールバック署名鍵（事業者→プラットフォーム）', en: 'Callback signing secret (provider → platform)' }} value={created.callback_secret.secret} warning={SECRET_WARNING} />
        <p>
          <a href={`#/mynapoint/providers/${encodeURIComponent(created.provider.provider_id)}`}>{tr({ ja: 'この事業者を見る', en: 'View this provider' })}</a>
        </p>
      </Page>
    );
  return (
    <Page title={{ ja: '新しい決済事業者', en: 'New payment provider' }}>
      <form class="form" onSubmit={submit}>
        <Field
          label={{ ja: '事業者ID', en: 'Provider ID' }}
          hint={{ ja: '2〜32文字（英小文字、数字、「-」）。後から変更できません。', en: '2–32 characters (a–z, 0–9, "-"). Permanent.' }}
          value={id}
          onValue={setId}
          pattern="[a-z0-9\-]{2,32}"
          required
          autoCapitalize="off"
          spellcheck={false}
        />
        <Field label={{ ja: '名称', en: 'Name' }} hint={{ ja: '1〜100文字。', en: '1–100 characters.' }} value={name} onValue={setName} maxLength={100} required />
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '登録する', en: 'Register' })}
          </button>
        </p>
      </form>
    </Page>
  );
}

/** Rotating a secret: overlap choice, Idempotency-Key, the new secret shown once. */
export function RotateSecret({ onRotate }: { onRotate: (key: string, overlap: number) => Promise<components['schemas']['RotatedSecret']> }) {
  const [overlap, setOverlap] = useState('86400');
  const key = useRef(idempotencyKey());
  const [secret, setSecret] = useState<string | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setSecret(null);
    void act.run(async () => {
      const r = await onRotate(key.current, Number(overlap));
      key.current = idempotencyKey();
      setSecret(r.secret.secret);
    });
  };
  return (
    <section aria-labelledby="rotate-h">
      <h2 id="rotate-h">{tr({ ja: '署名鍵を更新する', en: 'Rotate the signing secret' })}</h2>
      <p>{tr({ ja: '新しい鍵を作り、今の鍵は猶予期間のあと失効します（猶予中は両方の鍵が有効です）。', en: 'A new secret is made; the current ones retire after the overlap (both work meanwhile).' })}</p>
      <form class="form" onSubmit={submit}>
        <Select label={{ ja: '今の鍵の猶予期間', en: 'Overlap for the current secrets' }} value={overlap} onValue={setOverlap} options={OVERLAPS} />
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '新しい鍵を作る', en: 'Make a new secret' })}
          </button>
        </p>
      </form>
      {secret && (
        <>
          <Status>{tr({ ja: '新しい署名鍵を作りました。', en: 'A new signing secret was made.' })}</Status>
          <OnceSecret label={{ ja: '新しい署名鍵', en: 'New signing secret' }} value={secret} warning={SECRET_WARNING} />
        </>
      )}
    </section>
  );
}

export function ProviderDetail({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const load = useLoad(() => ok(api.GET('/v1/ops/mynapoint/providers/{provider_id}', { params: { path: { provider_id: id } } })), [id]);
  const p = load.data;
  return (
    <Page title={{ ja: '決済事業者', en: 'Payment provider' }}>
      <p>
        <a href="#/mynapoint/providers">{tr({ ja: '事業者の一覧へ戻る', en: 'Back to providers' })}</a>
      </p>
      {load.loading && !p && <Loading />}
      <Err problem={load.problem} />
      {p && (
        <>
          <dl class="facts">
            <dt>{tr({ ja: '事業者ID', en: 'Provider ID' })}</dt>
            <dd>{p.provider_id}</dd>
            <dt>{tr({ ja: '名称', en: 'Name' })}</dt>
            <dd>{p.name}</dd>
            <dt>{tr({ ja: '登録', en: 'Registered' })}</dt>
            <dd>{formatDateTime(p.created_at)}</dd>
          </dl>
          <p>
            <a href={`#/mynapoint/services?provider_id=${encodeURIComponent(p.provider_id)}`}>{tr({ ja: 'この事業者の決済サービス', en: "This provider's services" })}</a>
            {can('GET /v1/ops/mynapoint/reports/{provider_id}') && (
              <>
                {' · '}
                <a href={`#/reports/${encodeURIComponent(p.provider_id)}`}>{tr({ ja: '突合レポート', en: 'Reconciliation reports' })}</a>
              </>
            )}
          </p>
          <h2>{tr({ ja: 'コールバック署名鍵', en: 'Callback signing secrets' })}</h2>
          <p class="hint">{tr({ ja: '鍵そのものは表示されません（作成・更新のときに一度だけ表示）。', en: 'The secrets themselves are never shown (only once, when made).' })}</p>
          <SecretsTable items={p.callback_secrets} label={{ ja: 'コールバック署名鍵', en: 'Callback signing secrets' }} />
          {can('POST /v1/ops/mynapoint/providers/{provider_id}/secrets') && (
            <RotateSecret
              onRotate={async (key, overlap) => {
                const r = await ok(
                  api.POST('/v1/ops/mynapoint/providers/{provider_id}/secrets', {
                    params: { path: { provider_id: id }, header: { 'Idempotency-Key': key } },
                    body: { overlap_seconds: overlap },
                  }),
                );
                load.setData({ ...p, callback_secrets: r.secrets });
                return r;
              }}
            />
          )}
        </>
      )}
    </Page>
  );
}
