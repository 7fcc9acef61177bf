// The audit trail (auditors): verify the hash chains and seals of a date range, and export its
// records as JSON Lines (paged with MKPF-Next-Cursor; at most 31 days per request). Both are
// audited themselves.
import { useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { formatDate, formatDateTime } from '../../lib/time';
import { AuditedNote, Err, Field, Page, Status, jstToday, num, saveBlob, useAction } from '../kit';
import { api, can, ok, rawFetch } from '../session';

interface AuditRecord {
  chain: string;
  seq: number;
  at: string;
  actor: { kind: string; id?: string | null };
  action: string;
  targets: string[];
  outcome: string;
}

type Verification = components['schemas']['VerificationView'];

export function Audit() {
  const [from, setFrom] = useState(jstToday());
  const [to, setTo] = useState(jstToday());
  const verify = useAction();
  const exp = useAction();
  const [report, setReport] = useState<Verification | null>(null);
  const [fetched, setFetched] = useState<number | null>(null);
  const [exported, setExported] = useState<{ text: string; records: AuditRecord[]; from: string; to: string } | null>(null);

  const doVerify = () => {
    setReport(null);
    void verify.run(async () => {
      setReport(await ok(api.GET('/v1/audit/verification', { params: { query: { from, to } } })));
    });
  };
  const doExport = () => {
    setExported(null);
    setFetched(0);
    void exp.run(async () => {
      let text = '';
      let cursor: string | null = null;
      let n = 0;
      do {
        const q = new URLSearchParams({ from, to, limit: '5000' });
        if (cursor) q.set('cursor', cursor);
        const r = await rawFetch(`/v1/audit/records?${q}`);
        const page = await r.text();
        text += page;
        n += page.split('\n').filter(Boolean).length;
        setFetched(n);
        cursor = r.headers.get('MKPF-Next-Cursor');
      } while (cursor);
      const lines = text.split('\n').filter(Boolean);
      const records = lines.map((l) => JSON.parse(l) as AuditRecord).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
      setExported({ text, records: records.slice(0, 20), from, to });
    });
  };

  return (
    <Page title={{ ja: '監査記録', en: 'Audit trail' }} lead={{ ja: 'すべての変更と個人情報の閲覧は、改ざんを検出できる形（日ごとのハッシュチェーンと署名）で記録されています。', en: 'Every change and every read of personal data is recorded tamper-evidently (daily hash chains and signed seals).' }}>
      <AuditedNote what={{ ja: '検証と書き出しも、それ自体が監査記録に残ります。', en: 'Verifications and exports are recorded in the audit trail too.' }} />
      <form class="form" onSubmit={(e) => e.preventDefault()}>
        <div class="pair">
          <Field label={{ ja: '開始日（日本時間）', en: 'From (Japan date)' }} type="date" value={from} onValue={setFrom} required />
          <Field label={{ ja: '終了日（日本時間）', en: 'To (Japan date)' }} type="date" value={to} onValue={setTo} required />
        </div>
        <p class="hint">{tr({ ja: '1回に31日分まで。', en: 'At most 31 days at a time.' })}</p>
        <div class="buttons">
          {can('GET /v1/audit/verification') && (
            <button type="button" onClick={doVerify} disabled={verify.busy}>
              {verify.busy ? tr({ ja: '検証中…', en: 'Verifying…' }) : tr({ ja: '改ざんがないか検証する', en: 'Verify the chains' })}
            </button>
          )}
          {can('GET /v1/audit/records') && (
            <button type="button" class="secondary" onClick={doExport} disabled={exp.busy}>
              {exp.busy ? tr({ ja: '書き出し中…', en: 'Exporting…' }) : tr({ ja: '記録を書き出す（JSON Lines）', en: 'Export the records (JSON Lines)' })}
            </button>
          )}
        </div>
      </form>

      <Err problem={verify.problem} />
      {report && (
        <section aria-labelledby="verify-h">
          <h2 id="verify-h">{tr({ ja: '検証の結果', en: 'Verification' })}</h2>
          <div role="status" class={report.intact ? 'notice ok-box' : 'error'} data-intact={String(report.intact)}>
            {report.intact
              ? tr({ ja: `改ざんは見つかりませんでした（${num(report.chains)} チェーン、${num(report.records)} 件）。`, en: `No tampering found (${num(report.chains)} chains, ${num(report.records)} records).` })
              : tr({ ja: `問題が ${report.findings.length} 件見つかりました。`, en: `${report.findings.length} problems found.` })}
          </div>
          <dl class="facts">
            <dt>{tr({ ja: '署名で確認した日', en: 'Days checked against their seal' })}</dt>
            <dd>{report.sealed_days.length ? report.sealed_days.map((d) => formatDate(d)).join(tr({ ja: '、', en: ', ' })) : '—'}</dd>
            <dt>{tr({ ja: 'まだ署名がない日', en: 'Days not sealed yet' })}</dt>
            <dd>
              {report.unsealed_days.length ? report.unsealed_days.map((d) => formatDate(d)).join(tr({ ja: '、', en: ', ' })) : '—'}
              <br />
              <span class="hint">{tr({ ja: '当日分は翌日0時15分に署名されます。', en: "A day is sealed at 00:15 the next day." })}</span>
            </dd>
          </dl>
          {report.findings.length > 0 && (
            <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '見つかった問題', en: 'Findings' })}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{tr({ ja: 'チェーン', en: 'Chain' })}</th>
                    <th scope="col">{tr({ ja: '位置', en: 'Position' })}</th>
                    <th scope="col">{tr({ ja: '問題', en: 'Problem' })}</th>
                  </tr>
                </thead>
                <tbody>
                  {report.findings.map((f, i) => (
                    <tr key={i}>
                      <td>{f.chain}</td>
                      <td>{f.seq ?? '—'}</td>
                      <td lang="en">{f.problem}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}

      <Err problem={exp.problem} />
      {exp.busy && fetched !== null && <p role="status">{tr({ ja: `${num(fetched)} 件を取得しました…`, en: `${num(fetched)} records fetched…` })}</p>}
      {exported && (
        <section aria-labelledby="export-h">
          <h2 id="export-h">{tr({ ja: '書き出し', en: 'Export' })}</h2>
          <Status>{tr({ ja: `${num(exported.text.split('\n').filter(Boolean).length)} 件の記録を取得しました。`, en: `${num(exported.text.split('\n').filter(Boolean).length)} records fetched.` })}</Status>
          <p>
            <button type="button" onClick={() => saveBlob(new Blob([exported.text], { type: 'application/x-ndjson' }), `audit-${exported.from}-${exported.to}.jsonl`)}>
              {tr({ ja: 'ファイルとして保存する', en: 'Save as a file' })}
            </button>
          </p>
          <h3>{tr({ ja: '最新の記録（最大20件）', en: 'Latest records (up to 20)' })}</h3>
          <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '最新の記録', en: 'Latest records' })}>
            <table class="audit-table">
              <thead>
                <tr>
                  <th scope="col">{tr({ ja: '日時', en: 'When' })}</th>
                  <th scope="col">{tr({ ja: '誰が', en: 'Who' })}</th>
                  <th scope="col">{tr({ ja: '操作', en: 'Action' })}</th>
                  <th scope="col">{tr({ ja: '対象', en: 'Targets' })}</th>
                  <th scope="col">{tr({ ja: '結果', en: 'Outcome' })}</th>
                </tr>
              </thead>
              <tbody>
                {exported.records.map((r) => (
                  <tr key={`${r.chain}-${r.seq}`}>
                    <td class="nowrap">{formatDateTime(r.at)}</td>
                    <td class="actor">
                      {r.actor.kind}
                      {r.actor.id ? `: ${r.actor.id}` : ''}
                    </td>
                    <td>
                      <code>{r.action}</code>
                    </td>
                    <td class="targets">
                      <span class="break">{r.targets.join(', ')}</span>
                    </td>
                    <td>{r.outcome}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </Page>
  );
}
