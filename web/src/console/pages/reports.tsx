// Reconciliation reports (operators, auditors): a provider's daily CSVs and monthly summaries,
// newest first, each downloadable (the download is audited; large reports by part).
import { useState } from 'preact/hooks';
import type { components, Problem } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { formatDate, formatDateTime } from '../../lib/time';
import { AuditedNote, Err, Loading, Page, Select, Status, num, saveBlob, useLoad } from '../kit';
import { api, ok, rawFetch } from '../session';

type Report = components['schemas']['ReportInfo'];

export function ReportsPick() {
  const load = useLoad(() => ok(api.GET('/v1/ops/mynapoint/providers')), []);
  return (
    <Page title={{ ja: '突合レポート', en: 'Reconciliation reports' }} lead={{ ja: '事業者ごとの日次レポート（CSV）と月次集計です。毎日2時（日本時間）に前日分が作られます。', en: 'Daily CSV reports and monthly summaries per provider, written at 02:00 Japan time for the day before.' }}>
      {load.loading && <Loading />}
      <Err problem={load.problem} />
      {load.data && load.data.items.length === 0 && <p>{tr({ ja: '事業者が登録されていません。', en: 'No providers are registered.' })}</p>}
      {load.data && load.data.items.length > 0 && (
        <>
          <h2>{tr({ ja: '事業者を選ぶ', en: 'Choose a provider' })}</h2>
          <ul>
            {load.data.items.map((p) => (
              <li key={p.provider_id}>
                <a href={`#/reports/${encodeURIComponent(p.provider_id)}`}>
                  {p.name}（{p.provider_id}）
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}

function period(r: Report): string {
  if (r.kind === 'daily') return formatDate(r.period);
  const [y, m] = r.period.split('-');
  return tr({ ja: `${y}年${Number(m)}月`, en: `${m}/${y}` });
}

export function ReportList({ params }: { params: Record<string, string> }) {
  const provider = params.provider_id!;
  const [kind, setKind] = useState('');
  const [items, setItems] = useState<Report[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [downloaded, setDownloaded] = useState<string | null>(null);
  const [dlProblem, setDlProblem] = useState<Problem | null>(null);
  const query = (cursor?: string) => ({ limit: 50, ...(kind ? { kind: kind as 'daily' | 'monthly' } : {}), ...(cursor ? { cursor } : {}) });
  const load = useLoad(async () => {
    const page = await ok(api.GET('/v1/ops/mynapoint/reports/{provider_id}', { params: { path: { provider_id: provider }, query: query() } }));
    setItems(page.items);
    setNext(page.next_cursor ?? null);
    return page;
  }, [provider, kind]);
  const more = async () => {
    try {
      const page = await ok(api.GET('/v1/ops/mynapoint/reports/{provider_id}', { params: { path: { provider_id: provider }, query: query(next!) } }));
      setItems((old) => [...old, ...page.items]);
      setNext(page.next_cursor ?? null);
    } catch (e) {
      setDlProblem(e as Problem);
    }
  };
  const download = async (r: Report, part?: number) => {
    setDownloaded(null);
    setDlProblem(null);
    try {
      const q = part ? `?part=${part}` : '';
      const resp = await rawFetch(`/v1/ops/mynapoint/reports/${encodeURIComponent(provider)}/${r.kind}/${r.period}${q}`);
      const name = `${provider}-${r.kind}-${r.period}${part ? `-part${part}` : ''}.csv`;
      saveBlob(await resp.blob(), name);
      setDownloaded(tr({ ja: `${name} をダウンロードしました（監査記録に残ります）。`, en: `Downloaded ${name} (recorded in the audit trail).` }));
    } catch (e) {
      setDlProblem(e as Problem);
    }
  };
  return (
    <Page title={{ ja: `突合レポート: ${provider}`, en: `Reconciliation reports: ${provider}` }}>
      <p>
        <a href="#/reports">{tr({ ja: '事業者を選び直す', en: 'Choose another provider' })}</a>
      </p>
      <AuditedNote what={{ ja: 'レポートのダウンロードは監査記録に残ります。', en: 'Downloading a report is recorded in the audit trail.' }} />
      <Select
        label={{ ja: '種類', en: 'Kind' }}
        value={kind}
        onValue={setKind}
        options={[
          { value: '', label: { ja: 'すべて', en: 'All' } },
          { value: 'daily', label: { ja: '日次レポート', en: 'Daily reports' } },
          { value: 'monthly', label: { ja: '月次集計', en: 'Monthly summaries' } },
        ]}
      />
      {load.loading && <Loading />}
      <Err problem={load.problem} />
      {downloaded && <Status>{downloaded}</Status>}
      <Err problem={dlProblem} />
      {!load.loading && !load.problem && items.length === 0 && <p>{tr({ ja: 'レポートはまだありません。', en: 'No reports yet.' })}</p>}
      {items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: 'レポートの一覧', en: 'Reports' })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{tr({ ja: '期間', en: 'Period' })}</th>
                <th scope="col">{tr({ ja: '種類', en: 'Kind' })}</th>
                <th scope="col">{tr({ ja: '申込', en: 'Applications' })}</th>
                <th scope="col">{tr({ ja: '付与ポイント', en: 'Points granted' })}</th>
                <th scope="col">{tr({ ja: '上限超過で拒否', en: 'Refused over cap' })}</th>
                <th scope="col">{tr({ ja: '作成', en: 'Written' })}</th>
                <th scope="col">{tr({ ja: 'ダウンロード', en: 'Download' })}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={`${r.kind}-${r.period}`}>
                  <td>{period(r)}</td>
                  <td>{r.kind === 'daily' ? tr({ ja: '日次', en: 'Daily' }) : tr({ ja: '月次', en: 'Monthly' })}</td>
                  <td>{num(r.totals.applications)}</td>
                  <td>{num(r.totals.points_granted)}</td>
                  <td>{num(r.totals.refused_over_cap)}</td>
                  <td>
                    {formatDateTime(r.generated_at)}
                    <br />
                    <span class="hint">
                      {tr({ ja: `${num(r.rows)} 行、${num(r.bytes)} バイト`, en: `${num(r.rows)} rows, ${num(r.bytes)} bytes` })}
                    </span>
                  </td>
                  <td>
                    {r.bytes > 5 * 1024 * 1024 && r.parts > 1 ? (
                      Array.from({ length: r.parts }, (_, i) => (
                        <button type="button" class="secondary small" key={i} onClick={() => void download(r, i + 1)}>
                          {tr({ ja: `部分 ${i + 1}`, en: `Part ${i + 1}` })}
                          <span class="visually-hidden"> {period(r)}</span>
                        </button>
                      ))
                    ) : (
                      <button type="button" class="secondary small" onClick={() => void download(r)}>
                        CSV<span class="visually-hidden"> {period(r)}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <p>
          <button type="button" class="secondary" onClick={() => void more()}>
            {tr({ ja: 'さらに表示', en: 'Show more' })}
          </button>
        </p>
      )}
    </Page>
  );
}
