// Mynapoint (#/mynapoint): the measures and their periods, a search of the payment services that
// take applications, the application form (the service's security-code rules shown and checked
// before sending; one Idempotency-Key per submit, reused for its retries), and the citizen's
// applications with state and points.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { idempotencyKey } from '../../lib/api';
import { tr, type Text } from '../../lib/i18n';
import { useSignal } from '../../lib/signal';
import { formatDateTime } from '../../lib/time';
import { PageTitle } from '../../lib/ui';
import { api, call, live, session, type TimedProblem } from '../session';
import { Facts, FlashBox, ProblemBox, SignInFirst, StatusBox } from '../ui';
import { kindName, measureName, points, reasonName, SITE, stateHelp, stateName } from '../words';

type Measure = components['schemas']['PublicMeasureView'];
type Service = components['schemas']['PublicServiceView'];
type Rule = components['schemas']['CodeRuleBody'];
type Application = components['schemas']['ApplicationView'];
type AppEvent = components['schemas']['EventView'];

export function MynapointPage() {
  const s = useSignal(session);
  const [measures, setMeasures] = useState<Measure[] | null>(null);
  const [services, setServices] = useState<Service[] | null>(null);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const [choice, setChoice] = useState<{ measure: string; service: string; n: number } | null>(null);
  const [appsVersion, setAppsVersion] = useState(0);
  const signedIn = live(s);

  useEffect(() => {
    call(api.GET('/v1/mynapoint/measures')).then((r) => (r.ok ? setMeasures(r.data.items) : setProblem(r.problem)));
    call(api.GET('/v1/mynapoint/services')).then((r) => (r.ok ? setServices(r.data.items) : setProblem(r.problem)));
  }, []);

  return (
    <>
      <PageTitle text={{ ja: 'マイナポイント', en: 'Mynapoint' }} site={SITE} />
      <FlashBox on="/mynapoint" />
      <p class="lead">
        {tr({
          ja: 'マイナポイントは、選んだキャッシュレス決済サービスで受け取れるポイントです。施策ごとに1つの決済サービスで申し込めます。',
          en: 'Mynapoint gives you points on the cashless payment service you choose. You apply once per programme, with one payment service.',
        })}
      </p>
      <nav class="toc" aria-label={tr({ ja: 'このページの内容', en: 'On this page' })}>
        <ul>
          <li><a href="#/mynapoint" onClick={jump('measures-h')}>{tr({ ja: '施策と期間', en: 'Programmes and periods' })}</a></li>
          <li><a href="#/mynapoint" onClick={jump('search-h')}>{tr({ ja: '決済サービスを探す', en: 'Find a payment service' })}</a></li>
          <li><a href="#/mynapoint" onClick={jump('apply-h')}>{tr({ ja: '申し込む', en: 'Apply' })}</a></li>
          <li><a href="#/mynapoint" onClick={jump('apps-h')}>{tr({ ja: '申込み状況', en: 'Your applications' })}</a></li>
        </ul>
      </nav>
      <ProblemBox problem={problem} />
      <Measures measures={measures} />
      <Search measures={measures} onChoose={(measure, service) => setChoice({ measure, service, n: Date.now() })} />
      <section aria-labelledby="apply-h">
        <h2 id="apply-h" tabIndex={-1}>{tr({ ja: '申し込む', en: 'Apply' })}</h2>
        {signedIn ? (
          measures && services ? (
            <ApplyForm measures={measures} services={services} choice={choice} onApplied={() => setAppsVersion((v) => v + 1)} />
          ) : (
            !problem && <p aria-busy="true">{tr({ ja: '読み込んでいます…', en: 'Loading…' })}</p>
          )
        ) : (
          <SignInFirst next="/mynapoint" why={{ ja: '申し込むには、マイナンバーカードでサインインしてください。', en: 'Sign in with your My Number Card to apply.' }} />
        )}
      </section>
      <section aria-labelledby="apps-h">
        <h2 id="apps-h" tabIndex={-1}>{tr({ ja: '申込み状況', en: 'Your applications' })}</h2>
        {signedIn ? (
          <Applications version={appsVersion} services={services ?? []} />
        ) : (
          <p>{tr({ ja: 'サインインすると、申込みの状況と付与されたポイントを確認できます。', en: 'Sign in to see your applications and the points granted.' })}</p>
        )}
      </section>
    </>
  );
}

/** In-page links that move focus to a section heading (the hash is the route, so no #anchors). */
function jump(id: string) {
  return (e: Event) => {
    e.preventDefault();
    const h = document.getElementById(id);
    if (h) {
      if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
      h.focus();
      h.scrollIntoView({ block: 'start' });
    }
  };
}

function ruleText(m: Measure): string {
  if (m.rule.kind === 'percent') {
    return tr({
      ja: `チャージやお買い物の金額の${m.rule.percent ?? 0}%（上限${points(m.rule.max_points)}ポイント）`,
      en: `${m.rule.percent ?? 0}% of what you charge or spend (up to ${points(m.rule.max_points)} points)`,
    });
  }
  return tr({ ja: `${points(m.rule.max_points)}ポイント`, en: `${points(m.rule.max_points)} points` });
}

function Measures({ measures }: { measures: Measure[] | null }) {
  return (
    <section aria-labelledby="measures-h">
      <h2 id="measures-h">{tr({ ja: '施策と期間', en: 'Programmes and periods' })}</h2>
      {!measures && <p aria-busy="true">{tr({ ja: '読み込んでいます…', en: 'Loading…' })}</p>}
      {measures && measures.length === 0 && <p>{tr({ ja: '現在、施策はありません。', en: 'There are no programmes right now.' })}</p>}
      {measures && (
        <ul class="plain measures">
          {measures.map((m) => (
            <li key={m.measure} class="card">
              <h3>
                {measureName(m.measure, m.name)}{' '}
                <span class={m.open ? 'badge badge-open' : 'badge badge-closed'}>
                  {m.open ? tr({ ja: '受付中', en: 'Open' }) : tr({ ja: '受付していません', en: 'Not open' })}
                </span>
              </h3>
              <Facts
                items={[
                  [tr({ ja: 'もらえるポイント', en: 'Points' }), ruleText(m)],
                  [tr({ ja: '申込み期間', en: 'Application period' }), `${formatDateTime(m.opens_at)} 〜 ${formatDateTime(m.closes_at)}`],
                  [tr({ ja: 'ポイント付与の期限', en: 'Points granted by' }), formatDateTime(m.grant_deadline)],
                  ...(m.registration_deadline
                    ? ([[tr({ ja: '口座登録の期限', en: 'Account registered by' }), formatDateTime(m.registration_deadline)]] as [string, string][])
                    : []),
                ]}
              />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function rulesText(rules: Rule[]): string {
  return rules
    .map((r) => {
      const chars = r.charset === 'digits' ? tr({ ja: '数字', en: 'digits' }) : tr({ ja: '英数字', en: 'letters and digits' });
      const len = r.min_len === r.max_len ? `${r.min_len}` : `${r.min_len}〜${r.max_len}`;
      return tr({ ja: `${r.label}（${chars}${len}桁）`, en: `${r.label} (${len} ${chars})` });
    })
    .join(tr({ ja: '、', en: ', ' }));
}

function Search({ measures, onChoose }: { measures: Measure[] | null; onChoose: (measure: string, service: string) => void }) {
  const [measure, setMeasure] = useState('');
  const [keyword, setKeyword] = useState('');
  const [found, setFound] = useState<Service[] | null>(null);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const [busy, setBusy] = useState(false);

  async function search(e?: Event) {
    e?.preventDefault();
    setBusy(true);
    setProblem(null);
    const query = measure ? { measure: measure as Measure['measure'] } : {};
    const r = await call(api.GET('/v1/mynapoint/services', { params: { query } }));
    setBusy(false);
    if (!r.ok) {
      setProblem(r.problem);
      return;
    }
    const k = keyword.trim().toLowerCase();
    setFound(
      r.data.items.filter(
        (sv) => !k || sv.name.toLowerCase().includes(k) || sv.provider_name.toLowerCase().includes(k) || sv.code.toLowerCase().includes(k) || kindName(sv.kind).toLowerCase().includes(k),
      ),
    );
  }
  useEffect(() => {
    search();
  }, []);

  return (
    <section aria-labelledby="search-h">
      <h2 id="search-h">{tr({ ja: '決済サービスを探す', en: 'Find a payment service' })}</h2>
      <form onSubmit={search} class="search" role="search" aria-labelledby="search-h">
        <div>
          <label for="search-measure">{tr({ ja: '施策', en: 'Programme' })}</label>
          <select id="search-measure" value={measure} onChange={(e) => setMeasure((e.target as HTMLSelectElement).value)}>
            <option value="">{tr({ ja: 'すべて', en: 'All' })}</option>
            {(measures ?? []).map((m) => (
              <option key={m.measure} value={m.measure}>
                {measureName(m.measure, m.name)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="search-keyword">{tr({ ja: 'キーワード（サービス名・事業者名）', en: 'Keyword (service or company name)' })}</label>
          <input id="search-keyword" type="search" value={keyword} onInput={(e) => setKeyword((e.target as HTMLInputElement).value)} />
        </div>
        <p>
          <button type="submit" disabled={busy}>
            {tr({ ja: '検索する', en: 'Search' })}
          </button>
        </p>
      </form>
      <ProblemBox problem={problem} />
      <div role="status" class="result-count">
        {found && tr({ ja: `${found.length}件の決済サービスが見つかりました。`, en: `${found.length} payment service(s) found.` })}
      </div>
      {found && found.length > 0 && (
        <ul class="plain services">
          {found.map((sv) => (
            <li key={sv.code} class="card">
              <h3>{sv.name}</h3>
              <Facts
                items={[
                  [tr({ ja: '事業者', en: 'Company' }), sv.provider_name],
                  [tr({ ja: '種類', en: 'Kind' }), kindName(sv.kind)],
                  [tr({ ja: 'サービスコード', en: 'Service code' }), <span class="mono">{sv.code}</span>],
                  [tr({ ja: '申し込める施策', en: 'Programmes' }), sv.measures.map((m) => measureName(m)).join(tr({ ja: '、', en: ', ' }))],
                  [tr({ ja: '申込みに必要なもの', en: 'You will need' }), `${tr({ ja: '決済サービスID', en: 'Your service account ID' })}${tr({ ja: '、', en: ', ' })}${rulesText(sv.code_rules)}`],
                ]}
              />
              <button type="button" class="secondary" onClick={() => onChoose(measure || sv.measures[0] || '', sv.code)}>
                {tr({ ja: `${sv.name}で申し込む`, en: `Apply with ${sv.name}` })}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** What the form checks before sending: the account id's syntax and each code against its rule. */
function checkCode(rule: Rule, v: string): Text | null {
  if (!v) return { ja: `${rule.label}を入力してください。`, en: `Enter the ${rule.label}.` };
  const okChars = rule.charset === 'digits' ? /^[0-9]+$/.test(v) : /^[A-Za-z0-9]+$/.test(v);
  if (!okChars) {
    return rule.charset === 'digits'
      ? { ja: `${rule.label}は数字だけで入力してください。`, en: `The ${rule.label} must be digits only.` }
      : { ja: `${rule.label}は英字と数字だけで入力してください。`, en: `The ${rule.label} must be letters and digits only.` };
  }
  if (v.length < rule.min_len || v.length > rule.max_len) {
    const len = rule.min_len === rule.max_len ? `${rule.min_len}` : `${rule.min_len}〜${rule.max_len}`;
    return { ja: `${rule.label}は${len}桁で入力してください。`, en: `The ${rule.label} must be ${len} characters long.` };
  }
  return null;
}

function checkAccount(v: string): Text | null {
  if (!v) return { ja: '決済サービスIDを入力してください。', en: 'Enter your service account ID.' };
  if (v.length > 64 || !/^[A-Za-z0-9-]+$/.test(v)) {
    return { ja: '決済サービスIDは、英字・数字・ハイフン（-）の64文字以内で入力してください。', en: 'The service account ID is up to 64 letters, digits and hyphens (-).' };
  }
  return null;
}

interface Draft {
  measure: string;
  service: string;
  account: string;
  codes: string[];
}

function ApplyForm({ measures, services, choice, onApplied }: { measures: Measure[]; services: Service[]; choice: { measure: string; service: string; n: number } | null; onApplied: () => void }) {
  const open = measures.filter((m) => m.open);
  const [d, setD] = useState<Draft>({ measure: open[0]?.measure ?? '', service: '', account: '', codes: [] });
  const [errors, setErrors] = useState<Record<string, Text>>({});
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // The key of the submit being made: a retry of the same content reuses it, a change makes a new one.
  const pending = useRef<{ body: string; key: string } | null>(null);
  const summary = useRef<HTMLDivElement>(null);
  const confirmHeading = useRef<HTMLHeadingElement>(null);
  const formHeading = useRef<HTMLHeadingElement>(null);

  const forMeasure = useMemo(() => services.filter((sv) => sv.measures.includes(d.measure as Service['measures'][number])), [services, d.measure]);
  const service = forMeasure.find((sv) => sv.code === d.service) ?? null;
  const rules = service?.code_rules ?? [];

  // "Apply with this service" from the search.
  useEffect(() => {
    if (!choice) return;
    const m = open.some((x) => x.measure === choice.measure) ? choice.measure : d.measure;
    setD((x) => ({ ...x, measure: m, service: choice.service, codes: [] }));
    setConfirming(false);
    setErrors({});
    setTimeout(() => document.getElementById('apply-h')?.focus(), 0);
  }, [choice?.n]);

  useEffect(() => {
    if (confirming) confirmHeading.current?.focus();
  }, [confirming]);

  function set(p: Partial<Draft>) {
    setD((x) => ({ ...x, ...p }));
    setDone(null);
  }

  function check(e: Event) {
    e.preventDefault();
    setProblem(null);
    const errs: Record<string, Text> = {};
    if (!d.measure) errs.measure = { ja: '施策を選んでください。', en: 'Choose a programme.' };
    if (!service) errs.service = { ja: '決済サービスを選んでください。', en: 'Choose a payment service.' };
    const acc = checkAccount(d.account.trim());
    if (acc) errs.account = acc;
    rules.forEach((r, i) => {
      const c = checkCode(r, (d.codes[i] ?? '').trim());
      if (c) errs[`code${i}`] = c;
    });
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      setTimeout(() => summary.current?.focus(), 0);
      return;
    }
    setConfirming(true);
  }

  async function send() {
    if (!service) return;
    const body = {
      measure: d.measure,
      service_code: service.code,
      service_account_id: d.account.trim(),
      security_codes: rules.map((_, i) => (d.codes[i] ?? '').trim()),
    };
    const json = JSON.stringify(body);
    if (!pending.current || pending.current.body !== json) pending.current = { body: json, key: idempotencyKey() };
    setBusy(true);
    setProblem(null);
    const r = await call(api.POST('/v1/mynapoint/applications', { body, params: { header: { 'Idempotency-Key': pending.current.key } } }), { citizen: true });
    setBusy(false);
    if (r.ok) {
      pending.current = null;
      setConfirming(false);
      setD({ measure: d.measure, service: '', account: '', codes: [] });
      setDone(
        tr({
          ja: `${measureName(r.data.measure)}に${service.name}で申し込みました。決済事業者の確認が済むと、下の申込み状況に表示されます。`,
          en: `You applied for ${measureName(r.data.measure)} with ${service.name}. The state below changes once the provider has checked it.`,
        }),
      );
      onApplied();
      setTimeout(() => document.getElementById('apps-h')?.focus(), 0);
    } else {
      // The key stays with this content: pressing "Apply" again (after a network failure, a 5xx,
      // or after creating the MyKey ID asked for) is the same submit and can never apply twice.
      setProblem(r.problem);
    }
  }

  const errList = Object.entries(errors);
  const fieldId = (k: string) => (k === 'measure' ? 'apply-measure' : k === 'service' ? 'apply-service' : k === 'account' ? 'apply-account' : `apply-${k}`);
  const errProps = (k: string, hint?: string) => ({
    'aria-invalid': errors[k] ? ('true' as const) : undefined,
    'aria-describedby': [hint, errors[k] ? `${fieldId(k)}-error` : undefined].filter(Boolean).join(' ') || undefined,
  });
  const FieldError = ({ k }: { k: string }) =>
    errors[k] ? (
      <p class="field-error" id={`${fieldId(k)}-error`}>
        {tr(errors[k]!)}
      </p>
    ) : null;

  if (open.length === 0) {
    return <p>{tr({ ja: '現在、申込みを受け付けている施策はありません。', en: 'No programme is taking applications now.' })}</p>;
  }

  return (
    <div class="card">
      <StatusBox text={done} />
      <ProblemBox problem={problem}>
        {problem?.code === 'mykey_id_required' && (
          <p>
            <a href="#/mykey">{tr({ ja: 'マイキーIDを作成する', en: 'Create your MyKey ID' })}</a>
          </p>
        )}
        {problem && !busy && confirming && (problem.status === undefined || problem.status === 0 || problem.status >= 500) && (
          <p>{tr({ ja: '「申し込む」をもう一度押すと、同じ申込みとして送り直します（二重には申し込まれません）。', en: 'Pressing “Apply” again re-sends the same application (it is never made twice).' })}</p>
        )}
      </ProblemBox>
      {!confirming ? (
        <form onSubmit={check} noValidate aria-labelledby="apply-form-h">
          <h3 id="apply-form-h" tabIndex={-1} ref={formHeading}>
            {tr({ ja: '申込み内容の入力', en: 'Your application' })}
          </h3>
          {errList.length > 0 && (
            <div class="error" role="alert" tabIndex={-1} ref={summary}>
              <p>{tr({ ja: '入力内容を確認してください。', en: 'Please check what you entered.' })}</p>
              <ul>
                {errList.map(([k, t]) => (
                  <li key={k}>
                    <a href="#/mynapoint" onClick={(e) => { e.preventDefault(); document.getElementById(fieldId(k))?.focus(); }}>
                      {tr(t)}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          )}
          <label for="apply-measure">{tr({ ja: '施策', en: 'Programme' })}</label>
          <FieldError k="measure" />
          <select id="apply-measure" value={d.measure} onChange={(e) => set({ measure: (e.target as HTMLSelectElement).value, service: '', codes: [] })} {...errProps('measure')}>
            {open.map((m) => (
              <option key={m.measure} value={m.measure}>
                {measureName(m.measure, m.name)}
              </option>
            ))}
          </select>

          <label for="apply-service">{tr({ ja: '決済サービス', en: 'Payment service' })}</label>
          <p class="hint" id="apply-service-hint">
            {tr({ ja: '1つの施策に申し込めるのは1つの決済サービスだけです。あとから変えることはできません。', en: 'One payment service per programme; you cannot change it later.' })}
          </p>
          <FieldError k="service" />
          <select id="apply-service" value={d.service} onChange={(e) => set({ service: (e.target as HTMLSelectElement).value, codes: [] })} {...errProps('service', 'apply-service-hint')}>
            <option value="">{tr({ ja: '選んでください', en: 'Choose one' })}</option>
            {forMeasure.map((sv) => (
              <option key={sv.code} value={sv.code}>
                {sv.name}（{sv.provider_name}）
              </option>
            ))}
          </select>

          <label for="apply-account">{tr({ ja: '決済サービスID', en: 'Service account ID' })}</label>
          <p class="hint" id="apply-account-hint">
            {tr({
              ja: 'ご本人の決済サービスのID（会員番号など）です。英字・数字・ハイフン（-）で64文字以内。未成年の方は法定代理人のものを入力してください。',
              en: 'Your own account ID at the payment service (such as a member number): up to 64 letters, digits and hyphens. For a minor, the legal representative’s.',
            })}
          </p>
          <FieldError k="account" />
          <input id="apply-account" value={d.account} autocomplete="off" spellcheck={false} maxLength={64} onInput={(e) => set({ account: (e.target as HTMLInputElement).value })} {...errProps('account', 'apply-account-hint')} />

          {service && rules.length > 0 && (
            <fieldset>
              <legend>{tr({ ja: `${service.name}のセキュリティコード`, en: `Security codes for ${service.name}` })}</legend>
              {rules.map((r, i) => {
                const hintId = `apply-code${i}-hint`;
                const len = r.min_len === r.max_len ? `${r.min_len}` : `${r.min_len}〜${r.max_len}`;
                return (
                  <div key={`${service.code}-${i}`}>
                    <label for={`apply-code${i}`}>{r.label}</label>
                    <p class="hint" id={hintId}>
                      {r.charset === 'digits'
                        ? tr({ ja: `数字${len}桁`, en: `${len} digits` })
                        : tr({ ja: `英字と数字で${len}文字`, en: `${len} letters and digits` })}
                    </p>
                    <FieldError k={`code${i}`} />
                    <input
                      id={`apply-code${i}`}
                      class="input-code"
                      type="password"
                      autocomplete="off"
                      inputMode={r.charset === 'digits' ? 'numeric' : 'text'}
                      maxLength={r.max_len}
                      value={d.codes[i] ?? ''}
                      onInput={(e) => {
                        const codes = [...d.codes];
                        codes[i] = (e.target as HTMLInputElement).value;
                        set({ codes });
                      }}
                      {...errProps(`code${i}`, hintId)}
                    />
                  </div>
                );
              })}
            </fieldset>
          )}
          <p>
            <button type="submit">{tr({ ja: '内容を確認する', en: 'Review' })}</button>
          </p>
        </form>
      ) : (
        <div role="group" aria-labelledby="confirm-apply-h">
          <h3 id="confirm-apply-h" tabIndex={-1} ref={confirmHeading}>
            {tr({ ja: 'この内容で申し込みますか？', en: 'Apply with these details?' })}
          </h3>
          <Facts
            items={[
              [tr({ ja: '施策', en: 'Programme' }), measureName(d.measure)],
              [tr({ ja: '決済サービス', en: 'Payment service' }), service ? `${service.name}（${service.provider_name}）` : ''],
              [tr({ ja: '決済サービスID', en: 'Service account ID' }), <span class="mono">{d.account.trim()}</span>],
              ...rules.map((r) => [r.label, tr({ ja: '入力済み（表示しません）', en: 'Entered (not shown)' })] as [string, string]),
            ]}
          />
          <p class="hint">
            {tr({
              ja: '申し込んだあとで決済サービスを変えることはできません。セキュリティコードは決済事業者へ送ったあと、このシステムから消去されます。',
              en: 'You cannot change the payment service after applying. The security codes are deleted from this system once the provider has them.',
            })}
          </p>
          <p class="actions">
            <button type="button" onClick={send} disabled={busy}>
              {busy ? tr({ ja: '送信しています…', en: 'Sending…' }) : tr({ ja: '申し込む', en: 'Apply' })}
            </button>
            <button type="button" class="secondary" onClick={() => { setConfirming(false); setTimeout(() => formHeading.current?.focus(), 0); }} disabled={busy}>
              {tr({ ja: '戻って直す', en: 'Go back and edit' })}
            </button>
          </p>
        </div>
      )}
    </div>
  );
}

function Applications({ version, services }: { version: number; services: Service[] }) {
  const [apps, setApps] = useState<Application[] | null>(null);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const [changed, setChanged] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [loadedAt, setLoadedAt] = useState<string | null>(null);
  const last = useRef<string>('');

  async function load(): Promise<Application[] | null> {
    setBusy(true);
    const r = await call(api.GET('/v1/mynapoint/applications'), { citizen: true });
    setBusy(false);
    if (!r.ok) {
      setProblem(r.problem);
      return null;
    }
    setProblem(null);
    const sig = r.data.applications.map((a) => `${a.application_id}:${a.state}:${a.points_granted}`).join(',');
    if (last.current && sig !== last.current) setChanged(tr({ ja: '申込み状況が更新されました。', en: 'Your applications have been updated.' }));
    last.current = sig;
    setApps(r.data.applications);
    setLoadedAt(new Date().toISOString());
    return r.data.applications;
  }

  // Load, and while an application waits for the provider, look again every 3 s (at most 2 minutes).
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let rounds = 0;
    const round = async () => {
      const list = await load();
      if (stop || !list) return;
      const waiting = list.some((a) => a.state === 'submitted' || a.state === 'dispatched' || (a.state === 'accepted' && a.points_granted === 0));
      if (waiting && rounds++ < 40) timer = setTimeout(round, 3000);
    };
    round();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [version]);

  const serviceName = (code: string) => services.find((s) => s.code === code)?.name ?? code;

  return (
    <>
      <StatusBox text={changed} kind="info" />
      <ProblemBox problem={problem} />
      <p>
        <button type="button" class="secondary" onClick={load} disabled={busy}>
          {tr({ ja: '最新の状況に更新', en: 'Refresh' })}
        </button>
      </p>
      {apps === null && !problem && <p aria-busy="true">{tr({ ja: '読み込んでいます…', en: 'Loading…' })}</p>}
      {apps && apps.length === 0 && <p>{tr({ ja: 'まだ申し込んでいません。', en: 'You have not applied yet.' })}</p>}
      {apps && apps.length > 0 && (
        <ul class="plain applications">
          {apps.map((a) => (
            <li key={a.application_id} class="card" data-testid="application" data-state={a.state}>
              <h3>{measureName(a.measure)}</h3>
              <p>
                <span class={`state state-${a.state}`}>{stateName(a.state)}</span> <span class="hint">{stateHelp(a.state)}</span>
              </p>
              <Facts
                items={[
                  [tr({ ja: '付与されたポイント', en: 'Points granted' }), <strong data-testid="points-granted">{tr({ ja: `${points(a.points_granted)}ポイント`, en: `${points(a.points_granted)} points` })}</strong>],
                  [tr({ ja: 'これから受け取れるポイント', en: 'Points still to earn' }), tr({ ja: `${points(a.points_remaining)}ポイント（上限${points(a.points_cap)}）`, en: `${points(a.points_remaining)} points (cap ${points(a.points_cap)})` })],
                  ...(a.balance !== null ? ([[tr({ ja: '決済サービスでの残高', en: 'Balance at the service' }), tr({ ja: `${points(a.balance)}ポイント`, en: `${points(a.balance)} points` })]] as [string, string][]) : []),
                  [tr({ ja: '決済サービス', en: 'Payment service' }), serviceName(a.service_code)],
                  [tr({ ja: '決済サービスID', en: 'Service account ID' }), <span class="mono">{a.service_account_hint}</span>],
                  [tr({ ja: '申込み日時', en: 'Applied' }), formatDateTime(a.applied_at)],
                  ...(a.reason ? ([[tr({ ja: '理由', en: 'Reason' }), reasonName(a.reason)]] as [string, string][]) : []),
                  [tr({ ja: '申込み番号', en: 'Application number' }), <span class="mono small">{a.application_id}</span>],
                ]}
              />
              <History id={a.application_id} />
            </li>
          ))}
        </ul>
      )}
      {loadedAt && (
        <p class="hint">
          {tr({ ja: `最終更新: ${formatDateTime(loadedAt)}。ポイントは決済事業者が付与します。`, en: `Last updated ${formatDateTime(loadedAt)}. Points are granted by the payment provider.` })}
        </p>
      )}
    </>
  );
}

/** What happened to one application (GET /v1/mynapoint/applications/{id}), shown on request. */
function History({ id }: { id: string }) {
  const [open, setOpen] = useState(false);
  const [events, setEvents] = useState<AppEvent[] | null>(null);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const listId = `history-${id}`;

  async function toggle() {
    if (open) {
      setOpen(false);
      return;
    }
    setOpen(true);
    setProblem(null);
    const r = await call(api.GET('/v1/mynapoint/applications/{application_id}', { params: { path: { application_id: id } } }), { citizen: true });
    if (r.ok) setEvents(r.data.events);
    else setProblem(r.problem);
  }

  return (
    <div class="history">
      <button type="button" class="secondary" aria-expanded={open} aria-controls={listId} onClick={toggle}>
        {open ? tr({ ja: '経過を閉じる', en: 'Hide the history' }) : tr({ ja: '経過を見る', en: 'Show the history' })}
      </button>
      <div id={listId} hidden={!open}>
        <ProblemBox problem={problem} />
        {open && events === null && !problem && <p aria-busy="true">{tr({ ja: '読み込んでいます…', en: 'Loading…' })}</p>}
        {events && events.length === 0 && <p>{tr({ ja: 'まだ決済事業者からの連絡はありません。', en: 'Nothing from the provider yet.' })}</p>}
        {events && events.length > 0 && (
          <ol class="events">
            {events.map((e, i) => (
              <li key={i}>
                <span class="hint">{formatDateTime(e.received_at)}</span> {eventText(e)}
              </li>
            ))}
          </ol>
        )}
      </div>
    </div>
  );
}

function eventText(e: AppEvent): string {
  const yen = (n: number) => n.toLocaleString('ja-JP');
  switch (e.type) {
    case 'application.dispatched':
      return tr({ ja: '決済事業者へ申込みを送りました。', en: 'Sent to the payment provider.' });
    case 'application.accepted':
      return tr({ ja: '決済事業者が申込みを受け付けました。', en: 'The provider accepted the application.' });
    case 'application.rejected':
      return tr({ ja: `決済事業者が申込みを受け付けませんでした（${reasonName(e.reason)}）。`, en: `The provider did not accept the application (${reasonName(e.reason)}).` });
    case 'points.granted': {
      const pts = points(e.points ?? 0);
      const charge = e.charge_amount !== null ? tr({ ja: `（${yen(e.charge_amount)}円のチャージ・お買い物に対して）`, en: ` (for ¥${yen(e.charge_amount)} charged or spent)` }) : '';
      return e.outcome === 'refused_over_cap'
        ? tr({ ja: `上限を超えるため、${pts}ポイントの付与は取り消されました。`, en: `${pts} points were not granted: over the cap.` })
        : tr({ ja: `${pts}ポイントが付与されました${charge}。`, en: `${pts} points were granted${charge}.` });
    }
    case 'balance.reported':
      return tr({ ja: `決済サービスでの残高は${points(e.balance ?? 0)}ポイントです。`, en: `Your balance at the service is ${points(e.balance ?? 0)} points.` });
    case 'link.stopped':
      return tr({ ja: `決済サービスとの連携が止まりました（${reasonName(e.reason)}）。`, en: `The link with the payment service stopped (${reasonName(e.reason)}).` });
    default:
      return e.type;
  }
}
