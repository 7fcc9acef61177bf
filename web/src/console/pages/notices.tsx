// Notices (お知らせ), operators only: list (paged), create (Idempotency-Key), edit (If-Match with
// the ETag read), withdraw. Citizens see published ones on the citizen site's home page.
import { useRef, useState } from 'preact/hooks';
import { idempotencyKey, type components } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { navigate } from '../../lib/router';
import { formatDateTime } from '../../lib/time';
import { ConfirmButton, Err, Field, Flash, Loading, Page, Select, Status, TextArea, flash, fromJstInput, toJstInput, useAction, useLoad } from '../kit';
import { api, can, ok, okWith } from '../session';
import { NOTICE_STATES, SEVERITIES, word } from '../words';

type Notice = components['schemas']['NoticeView'];

const SEVERITY_OPTIONS = [
  { value: 'info', label: SEVERITIES.info! },
  { value: 'important', label: SEVERITIES.important! },
];

export function NoticeList() {
  const [items, setItems] = useState<Notice[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const more = useAction();
  const first = useLoad(async () => {
    const page = await ok(api.GET('/v1/ops/notices', { params: { query: { limit: 20 } } }));
    setItems(page.items);
    setNext(page.next_cursor ?? null);
    return page;
  }, []);
  const loadMore = () =>
    void more.run(async () => {
      const page = await ok(api.GET('/v1/ops/notices', { params: { query: { limit: 20, cursor: next! } } }));
      setItems((old) => [...old, ...page.items]);
      setNext(page.next_cursor ?? null);
    });
  return (
    <Page title={{ ja: 'お知らせ', en: 'Notices' }} lead={{ ja: '市民向けサイトのホームに表示されるお知らせです（掲載中のもの）。', en: 'Notices shown on the citizen site home page while published.' }}>
      <Flash />
      {can('POST /v1/ops/notices') && (
        <p>
          <a class="button" href="#/new/notice">
            {tr({ ja: '新しいお知らせを作る', en: 'New notice' })}
          </a>
        </p>
      )}
      {first.loading && <Loading />}
      <Err problem={first.problem} />
      {!first.loading && !first.problem && items.length === 0 && <p>{tr({ ja: 'お知らせはまだありません。', en: 'No notices yet.' })}</p>}
      {items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: 'お知らせの一覧', en: 'Notice list' })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{tr({ ja: '題名', en: 'Title' })}</th>
                <th scope="col">{tr({ ja: '状態', en: 'State' })}</th>
                <th scope="col">{tr({ ja: '種別', en: 'Severity' })}</th>
                <th scope="col">{tr({ ja: '掲載期間', en: 'Published' })}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((n) => (
                <tr key={n.id}>
                  <td>
                    <a href={`#/notices/${encodeURIComponent(n.id)}`}>{n.title}</a>
                  </td>
                  <td>
                    <span class={`badge state-${n.state}`}>{word(NOTICE_STATES, n.state)}</span>
                  </td>
                  <td>{word(SEVERITIES, n.severity)}</td>
                  <td>
                    {formatDateTime(n.publish_from)} – {n.publish_until ? formatDateTime(n.publish_until) : tr({ ja: '終了日なし', en: 'no end' })}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
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

interface Draft {
  title: string;
  body: string;
  severity: string;
  from: string;
  until: string;
}

function NoticeFields({ d, set }: { d: Draft; set: (d: Draft) => void }) {
  return (
    <>
      <Field label={{ ja: '題名', en: 'Title' }} hint={{ ja: '1〜120文字、1行。', en: '1–120 characters, one line.' }} value={d.title} onValue={(title) => set({ ...d, title })} maxLength={120} required name="title" />
      <TextArea label={{ ja: '本文', en: 'Text' }} hint={{ ja: '1〜4000文字。', en: '1–4000 characters.' }} value={d.body} onValue={(body) => set({ ...d, body })} required />
      <Select label={{ ja: '種別', en: 'Severity' }} hint={{ ja: '「重要」は市民向けサイトで目立つように表示されます。', en: '"Important" is shown prominently on the citizen site.' }} value={d.severity} onValue={(severity) => set({ ...d, severity })} options={SEVERITY_OPTIONS} />
      <Field
        label={{ ja: '掲載開始（日本時間）', en: 'Publish from (Japan time)' }}
        hint={{ ja: '空欄にすると、すぐに掲載します。', en: 'Leave empty to publish at once.' }}
        type="datetime-local"
        value={d.from}
        onValue={(from) => set({ ...d, from })}
        name="publish_from"
      />
      <Field
        label={{ ja: '掲載終了（日本時間）', en: 'Publish until (Japan time)' }}
        hint={{ ja: '空欄にすると、終了日なしで掲載します。', en: 'Leave empty for no end.' }}
        type="datetime-local"
        value={d.until}
        onValue={(until) => set({ ...d, until })}
        name="publish_until"
      />
    </>
  );
}

export function NoticeNew() {
  const [d, setD] = useState<Draft>({ title: '', body: '', severity: 'info', from: '', until: '' });
  // One key per intended notice: a retry after a network failure sends the same key, so the
  // platform answers with the notice already made instead of making a second one.
  const key = useRef(idempotencyKey());
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const n = await ok(
        api.POST('/v1/ops/notices', {
          params: { header: { 'Idempotency-Key': key.current } },
          body: {
            title: d.title.trim(),
            body: d.body,
            severity: d.severity as 'info' | 'important',
            publish_from: d.from ? fromJstInput(d.from) : null,
            publish_until: d.until ? fromJstInput(d.until) : null,
          },
        }),
      );
      key.current = idempotencyKey();
      flash({ ja: `お知らせ「${n.title}」を作成しました。`, en: `Notice "${n.title}" created.` });
      navigate(`/notices/${encodeURIComponent(n.id)}`);
    });
  };
  return (
    <Page title={{ ja: '新しいお知らせ', en: 'New notice' }}>
      <form onSubmit={submit} class="form">
        <NoticeFields d={d} set={setD} />
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '作成する', en: 'Create' })}
          </button>{' '}
          <a href="#/notices">{tr({ ja: '一覧へ戻る', en: 'Back to the list' })}</a>
        </p>
      </form>
    </Page>
  );
}

function draftOf(n: Notice): Draft {
  return { title: n.title, body: n.body, severity: n.severity, from: toJstInput(n.publish_from), until: toJstInput(n.publish_until) };
}

export function NoticeEdit({ params }: { params: Record<string, string> }) {
  const id = params.id!;
  const [etag, setEtag] = useState('');
  const [d, setD] = useState<Draft | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const load = useLoad(async () => {
    const { data, response } = await okWith(api.GET('/v1/ops/notices/{id}', { params: { path: { id } } }));
    setEtag(response.headers.get('ETag') ?? `"${data.version}"`);
    setD(draftOf(data));
    return data;
  }, [id]);
  const save = useAction();
  const withdraw = useAction();
  const n = load.data;

  const accept = (r: { data: Notice; response: Response }, msg: string) => {
    load.setData(r.data);
    setEtag(r.response.headers.get('ETag') ?? `"${r.data.version}"`);
    setD(draftOf(r.data));
    setSaved(msg);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    if (!n || !d) return;
    setSaved(null);
    void save.run(async () => {
      const before = draftOf(n);
      const body: components['schemas']['UpdateNoticeRequest'] = {};
      if (d.title !== before.title) body.title = d.title.trim();
      if (d.body !== before.body) body.body = d.body;
      if (d.severity !== before.severity) body.severity = d.severity as 'info' | 'important';
      if (d.from !== before.from && d.from) body.publish_from = fromJstInput(d.from);
      if (d.until !== before.until) body.publish_until = d.until ? fromJstInput(d.until) : null;
      const r = await okWith(api.PATCH('/v1/ops/notices/{id}', { params: { path: { id } }, body, headers: { 'If-Match': etag } }));
      accept(r, tr({ ja: '保存しました。', en: 'Saved.' }));
    });
  };
  const doWithdraw = () => {
    setSaved(null);
    void withdraw.run(async () => {
      const r = await okWith(api.POST('/v1/ops/notices/{id}/withdraw', { params: { path: { id } }, headers: { 'If-Match': etag } }));
      accept(r, tr({ ja: 'お知らせを取り下げました。市民向けサイトには表示されなくなりました。', en: 'The notice was withdrawn; the citizen site no longer shows it.' }));
    });
  };
  const writable = can('PATCH /v1/ops/notices/{id}') && n && n.state !== 'withdrawn';
  return (
    <Page title={{ ja: 'お知らせの編集', en: 'Edit notice' }}>
      <Flash />
      <p>
        <a href="#/notices">{tr({ ja: 'お知らせの一覧へ戻る', en: 'Back to notices' })}</a>
      </p>
      {load.loading && !n && <Loading />}
      <Err problem={load.problem} />
      {saved && <Status>{saved}</Status>}
      {n && d && (
        <>
          <dl class="facts">
            <dt>{tr({ ja: '状態', en: 'State' })}</dt>
            <dd>
              <span class={`badge state-${n.state}`} data-state={n.state}>
                {word(NOTICE_STATES, n.state)}
              </span>
            </dd>
            <dt>{tr({ ja: '作成', en: 'Created' })}</dt>
            <dd>{formatDateTime(n.created_at)}</dd>
            <dt>{tr({ ja: '最終更新', en: 'Last changed' })}</dt>
            <dd>
              {formatDateTime(n.updated_at)} ({tr({ ja: '版', en: 'version' })} {n.version})
            </dd>
            {n.withdrawn_at && (
              <>
                <dt>{tr({ ja: '取り下げ', en: 'Withdrawn' })}</dt>
                <dd>{formatDateTime(n.withdrawn_at)}</dd>
              </>
            )}
          </dl>
          {writable ? (
            <>
              <form onSubmit={submit} class="form">
                <NoticeFields d={d} set={setD} />
                <Err problem={save.problem} />
                {save.problem?.code === 'version_mismatch' && (
                  <p>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => {
                        save.setProblem(null);
                        void load.reload();
                      }}
                    >
                      {tr({ ja: '最新の内容を読み込む', en: 'Load the latest version' })}
                    </button>
                  </p>
                )}
                <p>
                  <button type="submit" disabled={save.busy}>
                    {tr({ ja: '保存する', en: 'Save' })}
                  </button>
                </p>
              </form>
              <h2>{tr({ ja: '取り下げ', en: 'Withdraw' })}</h2>
              <p>{tr({ ja: '取り下げると、すぐに市民向けサイトから消え、以後は変更できません。', en: 'Withdrawing removes it from the citizen site at once; it can no longer change.' })}</p>
              <Err problem={withdraw.problem} />
              <ConfirmButton
                danger
                label={{ ja: 'このお知らせを取り下げる', en: 'Withdraw this notice' }}
                question={{ ja: '本当に取り下げますか？元に戻せません。', en: 'Really withdraw it? This cannot be undone.' }}
                confirmLabel={{ ja: '取り下げる', en: 'Withdraw' }}
                onConfirm={doWithdraw}
                busy={withdraw.busy}
              />
            </>
          ) : (
            <section aria-label={tr({ ja: '内容', en: 'Content' })}>
              <h2>{n.title}</h2>
              <p class="pre">{n.body}</p>
            </section>
          )}
        </>
      )}
    </Page>
  );
}
