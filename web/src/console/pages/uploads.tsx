// Uploads: J-LIS CRLs (application/pkix-crl), renewal linkage feeds and Mynapoint eligibility
// feeds (text/csv). Each upload shows how much was sent; a feed's page then polls its view until
// the background processing is done, with its counters and the rows it reported.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { components, Problem } from '../../lib/api';
import { tr, type Text } from '../../lib/i18n';
import { navigate } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { AuditedNote, Err, Field, Loading, Page, Select, Status, num, useLoad } from '../kit';
import { api, can, ok, upload } from '../session';
import { FEED_KINDS, word } from '../words';

type Linkage = components['schemas']['LinkageFeedView'];
type Feed = components['schemas']['FeedView'];

export function UploadsHub() {
  const cards: { href: string; title: Text; text: Text; show: boolean }[] = [
    {
      href: '#/uploads/crl',
      title: { ja: '失効リスト（CRL）', en: 'Revocation lists (CRLs)' },
      text: { ja: 'J-LIS の証明書失効リストを取り込み、各ルートの現在の CRL を確認します。', en: "Import J-LIS certificate revocation lists and check each root's current CRL." },
      show: can('GET /v1/ops/card-auth/crls'),
    },
    {
      href: '#/uploads/linkage',
      title: { ja: '更新連携ファイル', en: 'Renewal linkage feeds' },
      text: { ja: 'カードの更新・再発行で新旧の証明書をつなぐファイルを取り込みます。', en: 'Import the feed linking renewed or reissued certificates to earlier ones.' },
      show: can('GET /v1/ops/card-auth/linkage-feeds/{feed_id}'),
    },
    {
      href: '#/uploads/eligibility',
      title: { ja: '資格ファイル（マイナポイント）', en: 'Eligibility feeds (Mynapoint)' },
      text: { ja: '健康保険証の利用登録、公金受取口座の登録、第1弾ポイントの実績を取り込みます。', en: 'Import health-insurance and public-funds-account registrations and phase-1 points.' },
      show: can('GET /v1/ops/mynapoint/eligibility-feeds/{kind}/{feed_id}'),
    },
  ];
  return (
    <Page title={{ ja: 'ファイル取込', en: 'Uploads' }}>
      <ul class="cards">
        {cards
          .filter((c) => c.show)
          .map((c) => (
            <li key={c.href} class="card">
              <h2>
                <a href={c.href}>{tr(c.title)}</a>
              </h2>
              <p>{tr(c.text)}</p>
            </li>
          ))}
      </ul>
    </Page>
  );
}

/** A file chooser with an upload button and the share of the file sent. */
function UploadForm({
  label,
  hint,
  accept,
  contentType,
  path,
  onDone,
  extra,
  button,
}: {
  label: Text;
  hint: Text;
  accept: string;
  contentType: string;
  path: () => string;
  onDone: (json: unknown) => void;
  extra?: ComponentChildren;
  button: Text;
}) {
  const id = useId();
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const [noFile, setNoFile] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) {
      setNoFile(true);
      return;
    }
    setNoFile(false);
    setProblem(null);
    setBusy(true);
    setSent(0);
    try {
      const json = await upload(path(), file, contentType, (s, t) => setSent(t ? Math.round((s / t) * 100) : 100));
      setSent(100);
      onDone(json);
    } catch (err) {
      setProblem(err as Problem);
      setSent(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form" onSubmit={submit}>
      {extra}
      <div class="field">
        <label for={id}>{tr(label)}</label>
        <p class="hint" id={`${id}-hint`}>
          {tr(hint)}
        </p>
        <input id={id} type="file" accept={accept} aria-describedby={`${id}-hint`} onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      </div>
      {noFile && (
        <div class="error" role="alert">
          {tr({ ja: 'ファイルを選んでください。', en: 'Choose a file.' })}
        </div>
      )}
      {sent !== null && (
        <div class="progress-row">
          <label for={`${id}-sent`}>{tr({ ja: '送信', en: 'Sent' })}</label>
          <progress id={`${id}-sent`} max={100} value={sent}>
            {sent}%
          </progress>
          <span>{sent}%</span>
        </div>
      )}
      <Err problem={problem} />
      <p>
        <button type="submit" disabled={busy}>
          {busy ? tr({ ja: '送信中…', en: 'Uploading…' }) : tr(button)}
        </button>
      </p>
    </form>
  );
}

// ---- CRLs

export function CrlPage() {
  const status = useLoad(() => ok(api.GET('/v1/ops/card-auth/crls')), []);
  const [result, setResult] = useState<components['schemas']['CrlImport'] | null>(null);
  return (
    <Page title={{ ja: '失効リスト（CRL）', en: 'Revocation lists (CRLs)' }}>
      <p>
        <a href="#/uploads">{tr({ ja: 'ファイル取込へ戻る', en: 'Back to uploads' })}</a>
      </p>
      <h2>{tr({ ja: '各ルート認証局の現在のCRL', en: "Each root's current CRL" })}</h2>
      {status.loading && !status.data && <Loading />}
      <Err problem={status.problem} />
      {status.data && status.data.issuers.length === 0 && <p>{tr({ ja: 'CRLはまだ取り込まれていません。', en: 'No CRL has been imported yet.' })}</p>}
      {status.data && status.data.issuers.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: 'CRLの状態', en: 'CRL state' })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{tr({ ja: 'ルート（鍵ID）', en: 'Root (key id)' })}</th>
                <th scope="col">{tr({ ja: '発行', en: 'This update' })}</th>
                <th scope="col">{tr({ ja: '次回更新', en: 'Next update' })}</th>
                <th scope="col">{tr({ ja: '失効件数', en: 'Entries' })}</th>
                <th scope="col">{tr({ ja: '有効', en: 'Current' })}</th>
              </tr>
            </thead>
            <tbody>
              {status.data.issuers.map((i) => (
                <tr key={i.issuer}>
                  <td>
                    <code class="break">{i.issuer}</code>
                  </td>
                  <td>{formatDateTime(i.this_update)}</td>
                  <td>{formatDateTime(i.next_update)}</td>
                  <td>{num(i.entries)}</td>
                  <td>
                    {i.current ? (
                      <span class="badge state-published">{tr({ ja: '有効', en: 'Current' })}</span>
                    ) : (
                      <span class="badge state-withdrawn">{tr({ ja: '期限切れ（サインイン不可）', en: 'Expired (sign-in fails)' })}</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {can('POST /v1/ops/card-auth/crls') && (
        <section aria-labelledby="crl-up">
          <h2 id="crl-up">{tr({ ja: 'CRLを取り込む', en: 'Import a CRL' })}</h2>
          <UploadForm
            label={{ ja: 'CRLファイル（DER形式）', en: 'CRL file (DER)' }}
            hint={{ ja: 'ルート認証局が署名した完全なCRL（4 MiB まで）。同じCRLをもう一度取り込んでも変化はありません。', en: "A root's complete CRL, DER, up to 4 MiB. Importing the same CRL again changes nothing." }}
            accept=".crl,.der,application/pkix-crl"
            contentType="application/pkix-crl"
            path={() => '/v1/ops/card-auth/crls'}
            button={{ ja: '取り込む', en: 'Import' }}
            onDone={(j) => {
              setResult(j as components['schemas']['CrlImport']);
              void status.reload();
            }}
          />
          {result && (
            <Status>
              {result.result === 'imported' ? tr({ ja: 'CRLを取り込みました。', en: 'The CRL was imported.' }) : tr({ ja: 'このCRLは取り込み済みでした（変更なし）。', en: 'This CRL was already current (nothing changed).' })}{' '}
              {tr({ ja: `失効件数 ${num(result.entries)}、次回更新 ${formatDateTime(result.next_update)}。`, en: `${num(result.entries)} entries, next update ${formatDateTime(result.next_update)}.` })}
            </Status>
          )}
        </section>
      )}
    </Page>
  );
}

// ---- feed progress

/** Polls `fetch` until the view says done (1 s, then 3 s after 10 polls); stops on unmount. */
function usePoll<T extends { status: string }>(fetch: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const alive = useRef(true);
  useEffect(() => {
    alive.current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let n = 0;
    const tick = async () => {
      try {
        const v = await fetch();
        if (!alive.current) return;
        setData(v);
        setProblem(null);
        if (v.status !== 'done') timer = setTimeout(tick, ++n > 10 ? 3000 : 1000);
      } catch (e) {
        if (alive.current) setProblem(e as Problem);
      }
    };
    void tick();
    return () => {
      alive.current = false;
      if (timer) clearTimeout(timer);
    };
  }, deps);
  return { data, problem };
}

function Progress({ done, total, status }: { done: number; total: number; status: string }) {
  const id = useId();
  const finished = status === 'done';
  return (
    <div class="feed-progress">
      <div role="status" class={finished ? 'notice ok-box' : 'notice'} data-feed-status={status}>
        {finished ? tr({ ja: '処理が完了しました。', en: 'Processing is done.' }) : tr({ ja: '処理中です。この画面は自動で更新されます。', en: 'Processing. This page updates by itself.' })}
      </div>
      <div class="progress-row">
        <label for={id}>{tr({ ja: '処理済みのまとまり', en: 'Batches done' })}</label>
        <progress id={id} max={Math.max(total, 1)} value={total ? done : finished ? 1 : 0}>
          {done} / {total}
        </progress>
        <span>
          {num(done)} / {num(total)}
        </span>
      </div>
    </div>
  );
}

function Counters({ items, label }: { items: { label: Text; value: number; key: string }[]; label: Text }) {
  return (
    <dl class="counters" aria-label={tr(label)}>
      {items.map((i) => (
        <div key={i.key} data-counter={i.key}>
          <dt>{tr(i.label)}</dt>
          <dd>{num(i.value)}</dd>
        </div>
      ))}
    </dl>
  );
}

// ---- linkage feeds

function FeedLookup({ onGo, kinds }: { onGo: (id: string, kind: string) => void; kinds?: boolean }) {
  const [id, setId] = useState('');
  const [kind, setKind] = useState('health_insurance');
  return (
    <form
      class="form"
      onSubmit={(e) => {
        e.preventDefault();
        onGo(id.trim(), kind);
      }}
    >
      {kinds && <Select label={{ ja: '種類', en: 'Kind' }} value={kind} onValue={setKind} options={Object.entries(FEED_KINDS).map(([value, label]) => ({ value, label }))} />}
      <Field label={{ ja: '取込ID', en: 'Import ID' }} hint={{ ja: '取り込んだときに表示されたID（32桁の英数字など）。', en: 'The ID shown when the file was imported.' }} value={id} onValue={setId} required spellcheck={false} autoCapitalize="off" />
      <p>
        <button type="submit" class="secondary">
          {tr({ ja: '進み具合を見る', en: 'Show progress' })}
        </button>
      </p>
    </form>
  );
}

export function LinkagePage() {
  return (
    <Page title={{ ja: '更新連携ファイル', en: 'Renewal linkage feeds' }}>
      <p>
        <a href="#/uploads">{tr({ ja: 'ファイル取込へ戻る', en: 'Back to uploads' })}</a>
      </p>
      <p>
        {tr({
          ja: 'カードの更新・再発行で、どの新しい証明書がどの古い証明書を引き継ぐかを示す J-LIS のファイルです。各行はバックグラウンドで処理されます。',
          en: "J-LIS's file saying which new certificate succeeds which old one after a renewal or reissue. Its rows are processed in the background.",
        })}
      </p>
      {can('POST /v1/ops/card-auth/linkage-feeds') && (
        <section aria-labelledby="lk-up">
          <h2 id="lk-up">{tr({ ja: 'ファイルを取り込む', en: 'Import a file' })}</h2>
          <p class="hint">
            {tr({ ja: '形式（CSV、UTF-8、1行目は見出し）:', en: 'Format (CSV, UTF-8, first line the header):' })} <code>old_issuer,old_serial,new_issuer,new_serial,linked_on</code>
          </p>
          <UploadForm
            label={{ ja: '更新連携ファイル（CSV）', en: 'Linkage feed (CSV)' }}
            hint={{ ja: '10万行まで。形式に誤りがあると、ファイル全体を受け付けません（誤りのある行を表示します）。', en: 'Up to 100,000 rows. Any error refuses the whole file (naming the line).' }}
            accept=".csv,text/csv"
            contentType="text/csv"
            path={() => '/v1/ops/card-auth/linkage-feeds'}
            button={{ ja: '取り込む', en: 'Import' }}
            onDone={(j) => navigate(`/uploads/linkage/${encodeURIComponent((j as Linkage).feed_id)}`)}
          />
        </section>
      )}
      <h2>{tr({ ja: '取込の進み具合を見る', en: 'Look up an import' })}</h2>
      <FeedLookup onGo={(id) => navigate(`/uploads/linkage/${encodeURIComponent(id)}`)} />
    </Page>
  );
}

export function LinkageFeed({ params }: { params: Record<string, string> }) {
  const id = params.feed_id!;
  const { data: f, problem } = usePoll(() => ok(api.GET('/v1/ops/card-auth/linkage-feeds/{feed_id}', { params: { path: { feed_id: id } } })), [id]);
  return (
    <Page title={{ ja: '更新連携ファイルの取込', en: 'Linkage feed import' }}>
      <p>
        <a href="#/uploads/linkage">{tr({ ja: '更新連携ファイルへ戻る', en: 'Back to linkage feeds' })}</a>
      </p>
      <AuditedNote />
      <Err problem={problem} />
      {!f && !problem && <Loading />}
      {f && (
        <>
          <dl class="facts">
            <dt>{tr({ ja: '取込ID', en: 'Import ID' })}</dt>
            <dd>
              <code class="break" data-feed-id>
                {f.feed_id}
              </code>
            </dd>
            <dt>{tr({ ja: '取込日時', en: 'Imported' })}</dt>
            <dd>{formatDateTime(f.created_at)}</dd>
          </dl>
          <Progress done={f.batches_done} total={f.batches} status={f.status} />
          <Counters
            label={{ ja: '件数', en: 'Counts' }}
            items={[
              { key: 'rows', label: { ja: '行数', en: 'Rows' }, value: f.rows },
              { key: 'linked', label: { ja: '新たにつないだ', en: 'Linked' }, value: f.linked },
              { key: 'already_linked', label: { ja: 'つないであった', en: 'Already linked' }, value: f.already_linked },
              { key: 'merged', label: { ja: '統合した', en: 'Merged' }, value: f.merged },
              { key: 'unknown', label: { ja: '該当者なし', en: 'Unknown' }, value: f.unknown },
              { key: 'conflict', label: { ja: '競合（要確認）', en: 'Conflicts (to check)' }, value: f.conflict },
            ]}
          />
          <h2>{tr({ ja: '報告された行', en: 'Rows reported' })}</h2>
          <p class="hint">
            {tr({
              ja: '「該当者なし」は古い証明書を持つ人がいない行、「競合」は新しい証明書がすでにマイキーIDを持つ別の人のものである行です（データ修正が必要です）。',
              en: '"Unknown": nobody has the old certificate. "Conflict": the new certificate belongs to another person with a MyKey ID (needs a data patch).',
            })}
          </p>
          {f.reported.length === 0 ? (
            <p>{tr({ ja: '報告された行はありません。', en: 'No rows reported.' })}</p>
          ) : (
            <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '報告された行', en: 'Rows reported' })}>
              <table data-reported>
                <thead>
                  <tr>
                    <th scope="col">{tr({ ja: '行', en: 'Line' })}</th>
                    <th scope="col">{tr({ ja: '結果', en: 'Outcome' })}</th>
                    <th scope="col">{tr({ ja: '古い証明書', en: 'Old certificate' })}</th>
                    <th scope="col">{tr({ ja: '新しい証明書', en: 'New certificate' })}</th>
                  </tr>
                </thead>
                <tbody>
                  {f.reported.map((r) => (
                    <tr key={r.line}>
                      <td>{r.line}</td>
                      <td>{r.outcome === 'conflict' ? tr({ ja: '競合', en: 'Conflict' }) : tr({ ja: '該当者なし', en: 'Unknown' })}</td>
                      <td>
                        <code class="break">
                          {r.old_issuer} / {r.old_serial}
                        </code>
                      </td>
                      <td>
                        <code class="break">
                          {r.new_issuer} / {r.new_serial}
                        </code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Page>
  );
}

// ---- eligibility feeds

const HEADERS: Record<string, string> = {
  health_insurance: 'issuer,serial,registered_on',
  public_funds_account: 'issuer,serial,registered_on',
  phase1_points: 'issuer,serial,points',
};

export function EligibilityPage() {
  const [kind, setKind] = useState('health_insurance');
  return (
    <Page title={{ ja: '資格ファイル（マイナポイント）', en: 'Eligibility feeds (Mynapoint)' }}>
      <p>
        <a href="#/uploads">{tr({ ja: 'ファイル取込へ戻る', en: 'Back to uploads' })}</a>
      </p>
      <p>
        {tr({
          ja: 'マイナポイントの資格判定に使う事実（健康保険証の利用登録、公金受取口座の登録、第1弾で受け取ったポイント）を、証明書ごとに取り込みます。',
          en: 'Imports, per certificate, the facts Mynapoint eligibility uses: health-insurance registrations, public-funds-account registrations and phase-1 points received.',
        })}
      </p>
      {can('POST /v1/ops/mynapoint/eligibility-feeds/{kind}') && (
        <section aria-labelledby="el-up">
          <h2 id="el-up">{tr({ ja: 'ファイルを取り込む', en: 'Import a file' })}</h2>
          <UploadForm
            extra={
              <>
                <Select label={{ ja: '種類', en: 'Kind' }} value={kind} onValue={setKind} options={Object.entries(FEED_KINDS).map(([value, label]) => ({ value, label }))} />
                <p class="hint">
                  {tr({ ja: '1行目（見出し）:', en: 'Header line:' })} <code>{HEADERS[kind]}</code>
                </p>
              </>
            }
            label={{ ja: '資格ファイル（CSV）', en: 'Eligibility feed (CSV)' }}
            hint={{ ja: 'UTF-8、10万行・4 MiB まで。形式に誤りがあると、ファイル全体を受け付けません（誤りのある行を表示します）。', en: 'UTF-8, up to 100,000 rows and 4 MiB. Any error refuses the whole file (naming the line).' }}
            accept=".csv,text/csv"
            contentType="text/csv"
            path={() => `/v1/ops/mynapoint/eligibility-feeds/${kind}`}
            button={{ ja: '取り込む', en: 'Import' }}
            onDone={(j) => navigate(`/uploads/eligibility/${(j as Feed).kind}/${encodeURIComponent((j as Feed).feed_id)}`)}
          />
        </section>
      )}
      <h2>{tr({ ja: '取込の進み具合を見る', en: 'Look up an import' })}</h2>
      <FeedLookup kinds onGo={(id, k) => navigate(`/uploads/eligibility/${k}/${encodeURIComponent(id)}`)} />
    </Page>
  );
}

export function EligibilityFeed({ params }: { params: Record<string, string> }) {
  const kind = params.kind!;
  const id = params.feed_id!;
  const { data: f, problem } = usePoll(() => ok(api.GET('/v1/ops/mynapoint/eligibility-feeds/{kind}/{feed_id}', { params: { path: { kind, feed_id: id } } })), [kind, id]);
  return (
    <Page title={{ ja: '資格ファイルの取込', en: 'Eligibility feed import' }}>
      <p>
        <a href="#/uploads/eligibility">{tr({ ja: '資格ファイルへ戻る', en: 'Back to eligibility feeds' })}</a>
      </p>
      <AuditedNote />
      <Err problem={problem} />
      {!f && !problem && <Loading />}
      {f && (
        <>
          <dl class="facts">
            <dt>{tr({ ja: '種類', en: 'Kind' })}</dt>
            <dd>{word(FEED_KINDS, f.kind)}</dd>
            <dt>{tr({ ja: '取込ID', en: 'Import ID' })}</dt>
            <dd>
              <code class="break" data-feed-id>
                {f.feed_id}
              </code>
            </dd>
            <dt>{tr({ ja: '取込日時', en: 'Imported' })}</dt>
            <dd>{formatDateTime(f.created_at)}</dd>
          </dl>
          <Progress done={f.batches_done} total={f.batches} status={f.status} />
          <Counters
            label={{ ja: '件数', en: 'Counts' }}
            items={[
              { key: 'rows', label: { ja: '行数', en: 'Rows' }, value: f.rows },
              { key: 'recorded', label: { ja: '新たに記録', en: 'Recorded' }, value: f.recorded },
              { key: 'updated', label: { ja: '更新', en: 'Updated' }, value: f.updated },
              { key: 'unchanged', label: { ja: '変化なし', en: 'Unchanged' }, value: f.unchanged },
              { key: 'unmatched', label: { ja: '該当者なし', en: 'Unmatched' }, value: f.unmatched },
            ]}
          />
          <h2>{tr({ ja: '該当者がいなかった行', en: 'Rows without a person' })}</h2>
          <p class="hint">
            {tr({
              ja: 'まだ誰にもつながっていない証明書の行です。事実は証明書ごとに保管され、その証明書で初めてサインインしたときに本人に反映されます。',
              en: 'Rows whose certificate is linked to nobody yet. Their facts are kept by certificate and join the person at their first sign-in with it.',
            })}
          </p>
          {f.unmatched_rows.length === 0 ? (
            <p>{tr({ ja: '該当者がいなかった行はありません。', en: 'None.' })}</p>
          ) : (
            <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '該当者がいなかった行', en: 'Rows without a person' })}>
              <table data-unmatched>
                <thead>
                  <tr>
                    <th scope="col">{tr({ ja: '行', en: 'Line' })}</th>
                    <th scope="col">{tr({ ja: '発行者（鍵ID）', en: 'Issuer (key id)' })}</th>
                    <th scope="col">{tr({ ja: 'シリアル番号', en: 'Serial' })}</th>
                  </tr>
                </thead>
                <tbody>
                  {f.unmatched_rows.map((r) => (
                    <tr key={r.line}>
                      <td>{r.line}</td>
                      <td>
                        <code class="break">{r.issuer}</code>
                      </td>
                      <td>
                        <code class="break">{r.serial}</code>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Page>
  );
}
