// Mynapoint payment services: list and read (operators, auditors); create (the webhook signing
// secret shown once), change (If-Match), set intake (If-Match), rotate the secret (operators).
import { useEffect, useRef, useState } from 'preact/hooks';
import { idempotencyKey, type components } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { useRoute } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { Checks, ConfirmButton, Err, Field, Loading, OnceSecret, Page, Select, Status, useAction, useLoad } from '../kit';
import { api, can, ok, okWith } from '../session';
import { INTAKES, KINDS, MEASURES, word } from '../words';
import { RotateSecret, SECRET_WARNING, SecretsTable } from './providers';

type Rule = components['schemas']['CodeRuleBody'];
type Measure = components['schemas']['MeasureName'];
type Kind = components['schemas']['ServiceKindName'];
type Service = components['schemas']['ServiceDetailView'];

const MEASURE_OPTIONS = Object.entries(MEASURES).map(([value, label]) => ({ value, label }));
const KIND_OPTIONS = Object.entries(KINDS).map(([value, label]) => ({ value, label }));
const INTAKE_OPTIONS = Object.entries(INTAKES).map(([value, label]) => ({ value, label }));

function query(path: string): URLSearchParams {
  const i = path.indexOf('?');
  return new URLSearchParams(i >= 0 ? path.slice(i + 1) : '');
}

export function ServiceList() {
  const path = useRoute();
  const provider = query(path).get('provider_id') ?? '';
  const load = useLoad(() => ok(api.GET('/v1/ops/mynapoint/services', { params: { query: provider ? { provider_id: provider } : {} } })), [provider]);
  return (
    <Page title={{ ja: '決済サービス', en: 'Payment services' }} lead={{ ja: '市民がマイナポイントの申込先に選ぶ決済サービスです。', en: 'The payment services citizens choose when applying for Mynapoint.' }}>
      {provider && (
        <p>
          {tr({ ja: `事業者 ${provider} のサービスだけを表示しています。`, en: `Showing only the services of provider ${provider}.` })} <a href="#/mynapoint/services">{tr({ ja: 'すべて表示', en: 'Show all' })}</a>
        </p>
      )}
      {can('POST /v1/ops/mynapoint/services') && (
        <p>
          <a class="button" href="#/new/service">
            {tr({ ja: '新しい決済サービスを登録する', en: 'Register a payment service' })}
          </a>
        </p>
      )}
      {load.loading && <Loading />}
      <Err problem={load.problem} />
      {load.data && load.data.items.length === 0 && <p>{tr({ ja: '決済サービスはありません。', en: 'No payment services.' })}</p>}
      {load.data && load.data.items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '決済サービスの一覧', en: 'Payment services' })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{tr({ ja: 'コード', en: 'Code' })}</th>
                <th scope="col">{tr({ ja: '名称', en: 'Name' })}</th>
                <th scope="col">{tr({ ja: '事業者', en: 'Provider' })}</th>
                <th scope="col">{tr({ ja: '対象施策', en: 'Measures' })}</th>
                <th scope="col">{tr({ ja: '受付', en: 'Intake' })}</th>
                <th scope="col">{tr({ ja: '送信先', en: 'Endpoint' })}</th>
              </tr>
            </thead>
            <tbody>
              {load.data.items.map((s) => (
                <tr key={s.code}>
                  <td>
                    <a href={`#/mynapoint/services/${encodeURIComponent(s.code)}`}>{s.code}</a>
                  </td>
                  <td>
                    {s.name}
                    <br />
                    <span class="hint">{word(KINDS, s.kind)}</span>
                  </td>
                  <td>{s.provider_id}</td>
                  <td>{s.measures.map((m) => word(MEASURES, m)).join(tr({ ja: '、', en: ', ' }))}</td>
                  <td>{word(INTAKES, s.intake)}</td>
                  <td>{s.endpoint_enabled ? tr({ ja: '有効', en: 'Enabled' }) : tr({ ja: '停止中', en: 'Disabled' })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

function RulesEditor({ rules, set }: { rules: Rule[]; set: (r: Rule[]) => void }) {
  const put = (i: number, r: Rule) => set(rules.map((x, j) => (j === i ? r : x)));
  return (
    <fieldset class="rules">
      <legend>{tr({ ja: '市民が入力する確認コード（1〜3個）', en: 'Security codes citizens enter (1–3)' })}</legend>
      {rules.map((r, i) => (
        <fieldset key={i} class="rule">
          <legend>{tr({ ja: `確認コード ${i + 1}`, en: `Code ${i + 1}` })}</legend>
          <Field label={{ ja: '表示名（例: PIN）', en: 'Label (e.g. PIN)' }} value={r.label} onValue={(label) => put(i, { ...r, label })} maxLength={40} required />
          <Select
            label={{ ja: '文字の種類', en: 'Characters' }}
            value={r.charset}
            onValue={(charset) => put(i, { ...r, charset: charset as Rule['charset'] })}
            options={[
              { value: 'digits', label: { ja: '数字', en: 'Digits' } },
              { value: 'alphanumeric', label: { ja: '英数字', en: 'Letters and digits' } },
            ]}
          />
          <div class="pair">
            <Field label={{ ja: '最小桁数', en: 'Min length' }} type="number" min={1} max={32} value={String(r.min_len)} onValue={(v) => put(i, { ...r, min_len: Number(v) })} required />
            <Field label={{ ja: '最大桁数', en: 'Max length' }} type="number" min={1} max={32} value={String(r.max_len)} onValue={(v) => put(i, { ...r, max_len: Number(v) })} required />
          </div>
          {rules.length > 1 && (
            <button type="button" class="secondary small" onClick={() => set(rules.filter((_, j) => j !== i))}>
              {tr({ ja: `確認コード ${i + 1} を削除`, en: `Remove code ${i + 1}` })}
            </button>
          )}
        </fieldset>
      ))}
      {rules.length < 3 && (
        <button type="button" class="secondary small" onClick={() => set([...rules, { label: '', charset: 'digits', min_len: 4, max_len: 4 }])}>
          {tr({ ja: '確認コードを追加', en: 'Add a code' })}
        </button>
      )}
    </fieldset>
  );
}

export function ServiceNew() {
  const providers = useLoad(() => ok(api.GET('/v1/ops/mynapoint/providers')), []);
  const [code, setCode] = useState('');
  const [provider, setProvider] = useState('');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('e_money');
  const [measures, setMeasures] = useState<string[]>(['card_acquisition']);
  const [rules, setRules] = useState<Rule[]>([{ label: 'PIN', charset: 'digits', min_len: 4, max_len: 4 }]);
  const [endpoint, setEndpoint] = useState('https://');
  const key = useRef(idempotencyKey());
  const [created, setCreated] = useState<components['schemas']['ServiceCreated'] | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const r = await ok(
        api.POST('/v1/ops/mynapoint/services', {
          params: { header: { 'Idempotency-Key': key.current } },
          body: { code: code.trim(), provider_id: provider || providers.data?.items[0]?.provider_id || '', name: name.trim(), kind, measures: measures as Measure[], code_rules: rules, endpoint: endpoint.trim() },
        }),
      );
      key.current = idempotencyKey();
      setCreated(r);
    });
  };
  if (created)
    return (
      <Page title={{ ja: '決済サービスを登録しました', en: 'Payment service registered' }}>
        <p>
          {created.service.code} — {created.service.name}
        </p>
        <OnceSecret label={{ ja: 'Webhook署名鍵（プラットフォーム→事業者）', en: 'Webhook signing secret (platform → provider)' }} value={created.webhook_secret.secret} warning={SECRET_WARNING} />
        <p>
          <a href={`#/mynapoint/services/${encodeURIComponent(created.service.code)}`}>{tr({ ja: 'このサービスを見る', en: 'View this service' })}</a>
        </p>
      </Page>
    );
  return (
    <Page title={{ ja: '新しい決済サービス', en: 'New payment service' }}>
      <Err problem={providers.problem} />
      {providers.data && providers.data.items.length === 0 && (
        <p class="warn">
          {tr({ ja: '事業者が登録されていません。先に', en: 'No provider is registered. First ' })}
          <a href="#/new/provider">{tr({ ja: '事業者を登録してください', en: 'register a provider' })}</a>
          {tr({ ja: '。', en: '.' })}
        </p>
      )}
      <form class="form" onSubmit={submit}>
        <Field
          label={{ ja: 'サービスコード', en: 'Service code' }}
          hint={{ ja: '2〜16文字（英大文字、数字、「_」）。後から変更できません。', en: '2–16 characters (A–Z, 0–9, "_"). Permanent.' }}
          value={code}
          onValue={setCode}
          pattern="[A-Z0-9_]{2,16}"
          required
          autoCapitalize="characters"
          spellcheck={false}
        />
        <Select
          label={{ ja: '事業者', en: 'Provider' }}
          value={provider || providers.data?.items[0]?.provider_id || ''}
          onValue={setProvider}
          options={(providers.data?.items ?? []).map((p) => ({ value: p.provider_id, label: { ja: `${p.name}（${p.provider_id}）`, en: `${p.name} (${p.provider_id})` } }))}
        />
        <Field label={{ ja: '名称', en: 'Name' }} hint={{ ja: '1〜100文字。市民に表示されます。', en: '1–100 characters, shown to citizens.' }} value={name} onValue={setName} maxLength={100} required />
        <Select label={{ ja: '種類', en: 'Kind' }} value={kind} onValue={(v) => setKind(v as Kind)} options={KIND_OPTIONS} />
        <Checks legend={{ ja: '対象施策', en: 'Measures' }} values={measures} onValues={setMeasures} options={MEASURE_OPTIONS} />
        <RulesEditor rules={rules} set={setRules} />
        <Field
          label={{ ja: '申込の送信先URL（Webhook）', en: 'Where applications are sent (webhook URL)' }}
          hint={{ ja: 'https:// で始まるURL。利用者名・パスワード・# は使えません。', en: 'An https:// URL, without user, password or fragment.' }}
          type="url"
          value={endpoint}
          onValue={setEndpoint}
          required
        />
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

export function ServiceDetail({ params }: { params: Record<string, string> }) {
  const code = params.code!;
  const [etag, setEtag] = useState('');
  const load = useLoad(async () => {
    const r = await okWith(api.GET('/v1/ops/mynapoint/services/{code}', { params: { path: { code } } }));
    setEtag(r.response.headers.get('ETag') ?? `"${r.data.version}"`);
    return r.data;
  }, [code]);
  const s = load.data;
  const accept = (r: { data: Service; response: Response }) => {
    load.setData(r.data);
    setEtag(r.response.headers.get('ETag') ?? `"${r.data.version}"`);
  };
  return (
    <Page title={{ ja: '決済サービス', en: 'Payment service' }}>
      <p>
        <a href="#/mynapoint/services">{tr({ ja: '決済サービスの一覧へ戻る', en: 'Back to payment services' })}</a>
      </p>
      {load.loading && !s && <Loading />}
      <Err problem={load.problem} />
      {s && (
        <>
          <dl class="facts">
            <dt>{tr({ ja: 'コード', en: 'Code' })}</dt>
            <dd>{s.code}</dd>
            <dt>{tr({ ja: '名称', en: 'Name' })}</dt>
            <dd>{s.name}</dd>
            <dt>{tr({ ja: '事業者', en: 'Provider' })}</dt>
            <dd>
              <a href={`#/mynapoint/providers/${encodeURIComponent(s.provider_id)}`}>{s.provider_id}</a>
            </dd>
            <dt>{tr({ ja: '種類', en: 'Kind' })}</dt>
            <dd>{word(KINDS, s.kind)}</dd>
            <dt>{tr({ ja: '対象施策', en: 'Measures' })}</dt>
            <dd>{s.measures.map((m) => word(MEASURES, m)).join(tr({ ja: '、', en: ', ' }))}</dd>
            <dt>{tr({ ja: '確認コード', en: 'Security codes' })}</dt>
            <dd>
              {s.code_rules
                .map((r) => `${r.label} (${r.charset === 'digits' ? tr({ ja: '数字', en: 'digits' }) : tr({ ja: '英数字', en: 'letters and digits' })} ${r.min_len}–${r.max_len})`)
                .join(' / ')}
            </dd>
            <dt>{tr({ ja: '受付', en: 'Intake' })}</dt>
            <dd>
              {word(INTAKES, s.intake)} ({formatDateTime(s.intake_changed_at)})
            </dd>
            <dt>{tr({ ja: '送信先', en: 'Endpoint' })}</dt>
            <dd>
              <span class="break">{s.endpoint ?? '—'}</span> ({s.endpoint_enabled ? tr({ ja: '有効', en: 'enabled' }) : tr({ ja: '停止中', en: 'disabled' })})
            </dd>
            <dt>{tr({ ja: '版', en: 'Version' })}</dt>
            <dd>{s.version}</dd>
          </dl>
          {can('PATCH /v1/ops/mynapoint/services/{code}') && <ServiceEdit s={s} etag={etag} accept={accept} reload={() => void load.reload()} />}
          {can('PUT /v1/ops/mynapoint/services/{code}/intake') && <IntakeEdit s={s} etag={etag} accept={accept} />}
          <h2>{tr({ ja: 'Webhook署名鍵', en: 'Webhook signing secrets' })}</h2>
          <SecretsTable items={s.webhook_secrets} label={{ ja: 'Webhook署名鍵', en: 'Webhook signing secrets' }} />
          {can('POST /v1/ops/mynapoint/services/{code}/secrets') && (
            <RotateSecret
              onRotate={async (key, overlap) => {
                const r = await ok(
                  api.POST('/v1/ops/mynapoint/services/{code}/secrets', {
                    params: { path: { code }, header: { 'Idempotency-Key': key } },
                    body: { overlap_seconds: overlap },
                  }),
                );
                load.setData({ ...s, webhook_secrets: r.secrets });
                return r;
              }}
            />
          )}
        </>
      )}
    </Page>
  );
}

function ServiceEdit({ s, etag, accept, reload }: { s: Service; etag: string; accept: (r: { data: Service; response: Response }) => void; reload: () => void }) {
  const [name, setName] = useState(s.name);
  const [endpoint, setEndpoint] = useState(s.endpoint ?? '');
  const [enabled, setEnabled] = useState(s.endpoint_enabled);
  const [measures, setMeasures] = useState<string[]>(s.measures);
  const [rules, setRules] = useState<Rule[]>(s.code_rules);
  const [saved, setSaved] = useState(false);
  const act = useAction();
  // A new version (saved here, or loaded after a conflict) resets the fields to it.
  useEffect(() => {
    setName(s.name);
    setEndpoint(s.endpoint ?? '');
    setEnabled(s.endpoint_enabled);
    setMeasures(s.measures);
    setRules(s.code_rules);
  }, [s.version]);
  const submit = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    void act.run(async () => {
      const body: components['schemas']['UpdateServiceRequest'] = {};
      if (name.trim() !== s.name) body.name = name.trim();
      if (endpoint.trim() !== (s.endpoint ?? '')) body.endpoint = endpoint.trim();
      if (enabled !== s.endpoint_enabled) body.endpoint_enabled = enabled;
      if (measures.join() !== s.measures.join()) body.measures = measures as Measure[];
      if (JSON.stringify(rules) !== JSON.stringify(s.code_rules)) body.code_rules = rules;
      accept(await okWith(api.PATCH('/v1/ops/mynapoint/services/{code}', { params: { path: { code: s.code } }, body, headers: { 'If-Match': etag } })));
      setSaved(true);
    });
  };
  return (
    <section aria-labelledby="svc-edit">
      <h2 id="svc-edit">{tr({ ja: '内容を変更する', en: 'Change it' })}</h2>
      <form class="form" onSubmit={submit}>
        <Field label={{ ja: '名称', en: 'Name' }} value={name} onValue={setName} maxLength={100} required />
        <Checks legend={{ ja: '対象施策', en: 'Measures' }} values={measures} onValues={setMeasures} options={MEASURE_OPTIONS} />
        <RulesEditor rules={rules} set={setRules} />
        <Field label={{ ja: '申込の送信先URL（Webhook）', en: 'Webhook URL' }} type="url" value={endpoint} onValue={setEndpoint} required />
        <label class="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} />
          <span>{tr({ ja: '送信先へ申込を送る（外すと送信を止め、申込は待機します）', en: 'Send applications to the endpoint (unticked: sending stops, applications wait)' })}</span>
        </label>
        <Err problem={act.problem} />
        {act.problem?.code === 'version_mismatch' && (
          <p>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                act.setProblem(null);
                reload();
              }}
            >
              {tr({ ja: '最新の内容を読み込む', en: 'Load the latest version' })}
            </button>
          </p>
        )}
        {saved && <Status>{tr({ ja: '保存しました。', en: 'Saved.' })}</Status>}
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '保存する', en: 'Save' })}
          </button>
        </p>
      </form>
    </section>
  );
}

function IntakeEdit({ s, etag, accept }: { s: Service; etag: string; accept: (r: { data: Service; response: Response }) => void }) {
  const [intake, setIntake] = useState<string>(s.intake);
  const [saved, setSaved] = useState(false);
  const act = useAction();
  const put = () => {
    setSaved(false);
    void act.run(async () => {
      accept(
        await okWith(
          api.PUT('/v1/ops/mynapoint/services/{code}/intake', {
            params: { path: { code: s.code } },
            body: { intake: intake as components['schemas']['IntakeName'] },
            headers: { 'If-Match': etag },
          }),
        ),
      );
      setSaved(true);
    });
  };
  if (s.intake === 'withdrawn')
    return <p>{tr({ ja: 'このサービスは撤退済みです。受付状態はもう変更できません。', en: 'This service has withdrawn; its intake can no longer change.' })}</p>;
  return (
    <section aria-labelledby="svc-intake">
      <h2 id="svc-intake">{tr({ ja: '受付状態', en: 'Intake' })}</h2>
      <Select
        label={{ ja: '新しい受付状態', en: 'New intake status' }}
        hint={{ ja: '「受付終了」は新しい申込だけを止めます。「撤退」は最終で、元に戻せません。', en: '"Intake closed" stops new applications only. "Withdrawn" is final.' }}
        value={intake}
        onValue={setIntake}
        options={INTAKE_OPTIONS}
      />
      <Err problem={act.problem} />
      {saved && <Status>{tr({ ja: '受付状態を変更しました。', en: 'The intake status was changed.' })}</Status>}
      <p>
        {intake === 'withdrawn' ? (
          <ConfirmButton
            danger
            label={{ ja: '撤退にする', en: 'Set withdrawn' }}
            question={{ ja: '撤退は最終です。以後、受付状態は変更できません。よろしいですか？', en: 'Withdrawn is final; the intake can never change again. Go on?' }}
            confirmLabel={{ ja: '撤退にする', en: 'Set withdrawn' }}
            onConfirm={put}
            busy={act.busy}
          />
        ) : (
          <button type="button" onClick={put} disabled={act.busy || intake === s.intake}>
            {tr({ ja: '受付状態を変更する', en: 'Change intake' })}
          </button>
        )}
      </p>
    </section>
  );
}
