// Mynapoint measures: list (operators, auditors); configure missing ones, extend dates, suspend
// and resume (operators; each change If-Match with the version read, audited).
import { useEffect, useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { formatDateTime } from '../../lib/time';
import { Err, Field, Loading, Page, Status, fromJstInput, num, toJstInput, useAction, useLoad } from '../kit';
import { api, can, ok } from '../session';
import { MEASURES, word } from '../words';

type Measure = components['schemas']['MeasureView'];

function rule(m: Measure): string {
  return m.rule.kind === 'percent'
    ? tr({ ja: `利用額の${m.rule.percent}%（上限 ${num(m.rule.max_points)} ポイント）`, en: `${m.rule.percent}% of charges (at most ${num(m.rule.max_points)} points)` })
    : tr({ ja: `${num(m.rule.max_points)} ポイント`, en: `${num(m.rule.max_points)} points flat` });
}

function Standing({ m }: { m: Measure }) {
  if (m.status === 'suspended') return <span class="badge state-withdrawn">{tr({ ja: '停止中', en: 'Suspended' })}</span>;
  return m.open ? <span class="badge state-published">{tr({ ja: '受付中', en: 'Taking applications' })}</span> : <span class="badge state-expired">{tr({ ja: '期間外', en: 'Outside its period' })}</span>;
}

export function MeasureList() {
  const load = useLoad(() => ok(api.GET('/v1/ops/mynapoint/measures')), []);
  const seed = useAction();
  const [seeded, setSeeded] = useState<string | null>(null);
  const doSeed = () =>
    void seed.run(async () => {
      const r = await ok(api.POST('/v1/ops/mynapoint/measures/seed'));
      const made = r.items.filter((i) => i.created).map((i) => word(MEASURES, i.measure));
      setSeeded(made.length ? tr({ ja: `設定しました: ${made.join('、')}`, en: `Configured: ${made.join(', ')}` }) : tr({ ja: 'すべての施策は設定済みです（変更なし）。', en: 'Every measure was configured already (nothing changed).' }));
      await load.reload();
    });
  return (
    <Page title={{ ja: 'ポイント施策', en: 'Measures' }} lead={{ ja: 'マイナポイント第2弾の施策と、その受付期間（日本時間）です。', en: 'The phase-2 Mynapoint measures and their periods (Japan time).' }}>
      {load.loading && !load.data && <Loading />}
      <Err problem={load.problem} />
      {load.data && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '施策の一覧', en: 'Measures' })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{tr({ ja: '施策', en: 'Measure' })}</th>
                <th scope="col">{tr({ ja: '状態', en: 'Status' })}</th>
                <th scope="col">{tr({ ja: '受付期間', en: 'Period' })}</th>
                <th scope="col">{tr({ ja: 'ポイント', en: 'Points' })}</th>
              </tr>
            </thead>
            <tbody>
              {load.data.items.map((m) => (
                <tr key={m.measure}>
                  <td>
                    <a href={`#/mynapoint/measures/${m.measure}`}>
                      {m.number}. {word(MEASURES, m.measure)}
                    </a>
                  </td>
                  <td>
                    <Standing m={m} />
                  </td>
                  <td>
                    {formatDateTime(m.opens_at)} – {formatDateTime(m.closes_at)}
                  </td>
                  <td>{rule(m)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can('POST /v1/ops/mynapoint/measures/seed') && load.data && load.data.items.length < 3 && (
        <section aria-labelledby="seed-h">
          <h2 id="seed-h">{tr({ ja: '未設定の施策を設定', en: 'Configure missing measures' })}</h2>
          <p>{tr({ ja: 'まだ設定されていない施策を既定値で設定します。設定済みの施策は変わりません。', en: 'Configures the measures not configured yet from their defaults; configured ones do not change.' })}</p>
          <Err problem={seed.problem} />
          {seeded && <Status>{seeded}</Status>}
          <button type="button" onClick={doSeed} disabled={seed.busy}>
            {tr({ ja: '未設定の施策を設定する', en: 'Configure missing measures' })}
          </button>
        </section>
      )}
    </Page>
  );
}

export function MeasureDetail({ params }: { params: Record<string, string> }) {
  const name = params.measure!;
  const load = useLoad(async () => {
    const list = await ok(api.GET('/v1/ops/mynapoint/measures'));
    const m = list.items.find((i) => i.measure === name || String(i.number) === name);
    if (!m) throw { code: 'measure_not_configured', status: 404 };
    return m;
  }, [name]);
  const m = load.data;
  return (
    <Page title={{ ja: 'ポイント施策', en: 'Measure' }}>
      <p>
        <a href="#/mynapoint/measures">{tr({ ja: '施策の一覧へ戻る', en: 'Back to measures' })}</a>
      </p>
      {load.loading && !m && <Loading />}
      <Err problem={load.problem} />
      {m && (
        <>
          <h2>
            {m.number}. {word(MEASURES, m.measure)}
          </h2>
          <dl class="facts">
            <dt>{tr({ ja: '状態', en: 'Status' })}</dt>
            <dd>
              <Standing m={m} />
              {m.status_reason && ` — ${m.status_reason}`}
              {m.status_changed_at && ` (${formatDateTime(m.status_changed_at)})`}
            </dd>
            <dt>{tr({ ja: 'ポイント', en: 'Points' })}</dt>
            <dd>{rule(m)}</dd>
            <dt>{tr({ ja: '受付開始', en: 'Opens' })}</dt>
            <dd>{formatDateTime(m.opens_at)}</dd>
            <dt>{tr({ ja: '受付終了', en: 'Closes' })}</dt>
            <dd>{formatDateTime(m.closes_at)}</dd>
            <dt>{tr({ ja: '付与期限', en: 'Grant deadline' })}</dt>
            <dd>{formatDateTime(m.grant_deadline)}</dd>
            {m.registration_deadline && (
              <>
                <dt>{tr({ ja: '口座登録の期限', en: 'Registration deadline' })}</dt>
                <dd>{formatDateTime(m.registration_deadline)}</dd>
              </>
            )}
            <dt>{tr({ ja: '版', en: 'Version' })}</dt>
            <dd>{m.version}</dd>
          </dl>
          {can('PATCH /v1/ops/mynapoint/measures/{measure}') && <Dates m={m} set={load.setData} reload={() => void load.reload()} />}
          {can('POST /v1/ops/mynapoint/measures/{measure}/suspend') && <Suspend m={m} set={load.setData} />}
        </>
      )}
    </Page>
  );
}

function Dates({ m, set, reload }: { m: Measure; set: (m: Measure) => void; reload: () => void }) {
  const [opens, setOpens] = useState(toJstInput(m.opens_at));
  const [closes, setCloses] = useState(toJstInput(m.closes_at));
  const [grant, setGrant] = useState(toJstInput(m.grant_deadline));
  const [reg, setReg] = useState(toJstInput(m.registration_deadline));
  const [saved, setSaved] = useState(false);
  const act = useAction();
  // A new version (saved here, or loaded after a conflict) resets the fields to it.
  useEffect(() => {
    setOpens(toJstInput(m.opens_at));
    setCloses(toJstInput(m.closes_at));
    setGrant(toJstInput(m.grant_deadline));
    setReg(toJstInput(m.registration_deadline));
  }, [m.version]);
  const submit = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    void act.run(async () => {
      const body: components['schemas']['UpdateMeasureRequest'] = {};
      if (opens !== toJstInput(m.opens_at)) body.opens_at = fromJstInput(opens);
      if (closes !== toJstInput(m.closes_at)) body.closes_at = fromJstInput(closes);
      if (grant !== toJstInput(m.grant_deadline)) body.grant_deadline = fromJstInput(grant);
      if (m.measure === 'public_funds_account' && reg && reg !== toJstInput(m.registration_deadline)) body.registration_deadline = fromJstInput(reg);
      set(await ok(api.PATCH('/v1/ops/mynapoint/measures/{measure}', { params: { path: { measure: m.measure } }, body, headers: { 'If-Match': `"${m.version}"` } })));
      setSaved(true);
    });
  };
  return (
    <section aria-labelledby="dates-h">
      <h2 id="dates-h">{tr({ ja: '期間を変更（延長）する', en: 'Change (extend) the dates' })}</h2>
      <p class="hint">{tr({ ja: '日本時間で入力します。受付開始 < 受付終了 ≦ 付与期限 でなければなりません。', en: 'In Japan time. Opens < closes ≤ grant deadline.' })}</p>
      <form class="form" onSubmit={submit}>
        <Field label={{ ja: '受付開始', en: 'Opens' }} type="datetime-local" value={opens} onValue={setOpens} required />
        <Field label={{ ja: '受付終了', en: 'Closes' }} type="datetime-local" value={closes} onValue={setCloses} required />
        <Field label={{ ja: '付与期限', en: 'Grant deadline' }} type="datetime-local" value={grant} onValue={setGrant} required />
        {m.measure === 'public_funds_account' && <Field label={{ ja: '口座登録の期限', en: 'Registration deadline' }} type="datetime-local" value={reg} onValue={setReg} />}
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
        {saved && <Status>{tr({ ja: '期間を変更しました。', en: 'The dates were changed.' })}</Status>}
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '期間を保存する', en: 'Save the dates' })}
          </button>
        </p>
      </form>
    </section>
  );
}

function Suspend({ m, set }: { m: Measure; set: (m: Measure) => void }) {
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const act = useAction();
  const suspended = m.status === 'suspended';
  const submit = (e: Event) => {
    e.preventDefault();
    setDone(null);
    void act.run(async () => {
      const opts = { params: { path: { measure: m.measure } }, body: { reason: reason.trim() }, headers: { 'If-Match': `"${m.version}"` } };
      set(await ok(suspended ? api.POST('/v1/ops/mynapoint/measures/{measure}/resume', opts) : api.POST('/v1/ops/mynapoint/measures/{measure}/suspend', opts)));
      setReason('');
      setDone(suspended ? tr({ ja: '受付を再開しました。', en: 'Applications resumed.' }) : tr({ ja: '受付を停止しました。新しい申込はすぐに受け付けられなくなります。', en: 'Suspended: new applications are refused at once.' }));
    });
  };
  return (
    <section aria-labelledby="suspend-h">
      <h2 id="suspend-h">{suspended ? tr({ ja: '受付を再開する', en: 'Resume applications' }) : tr({ ja: '受付を停止する', en: 'Suspend applications' })}</h2>
      {!suspended && <p>{tr({ ja: '停止すると、新しい申込はすぐに受け付けられなくなります（申込済みのものは続きます）。', en: 'Suspending refuses new applications at once (existing ones continue).' })}</p>}
      <form class="form" onSubmit={submit}>
        <Field label={{ ja: '理由', en: 'Reason' }} hint={{ ja: '1〜200文字、1行。施策と監査記録に残ります。', en: '1–200 characters, one line; kept with the measure and in the audit trail.' }} value={reason} onValue={setReason} maxLength={200} required />
        <Err problem={act.problem} />
        {done && <Status>{done}</Status>}
        <p>
          <button type="submit" class={suspended ? '' : 'danger'} disabled={act.busy}>
            {suspended ? tr({ ja: '再開する', en: 'Resume' }) : tr({ ja: '停止する', en: 'Suspend' })}
          </button>
        </p>
      </form>
    </section>
  );
}
