// MyKey ID (#/mykey): create it, see it with the card certificates linked to you and the IDs you
// have held, change it (to one you choose or a suggestion), or revoke it after a confirmation.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { useSignal } from '../../lib/signal';
import { formatDateTime } from '../../lib/time';
import { PageTitle } from '../../lib/ui';
import { api, call, live, session, setMyKeyId, type TimedProblem } from '../session';
import { Facts, FlashBox, ProblemBox, SignInFirst, StatusBox } from '../ui';
import { certStateName, SITE } from '../words';

type View = components['schemas']['MyKeyView'];

/** The MyKey ID alphabet: digits 2–9 and A–Z without I, L, O. */
const MYKEY = /^[2-9A-HJKMNP-Z]{8}$/;

export function MyKeyPage() {
  const s = useSignal(session);
  const title = { ja: 'マイキーID', en: 'MyKey ID' };
  if (!live(s)) {
    return (
      <>
        <PageTitle text={title} site={SITE} />
        <SignInFirst next="/mykey" why={{ ja: 'マイキーIDを作成・確認するには、マイナンバーカードでサインインしてください。', en: 'Sign in with your My Number Card to create or see your MyKey ID.' }} />
      </>
    );
  }
  return <MyKey />;
}

function MyKey() {
  const [view, setView] = useState<View | null>(null);
  const [loadProblem, setLoadProblem] = useState<TimedProblem | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [createProblem, setCreateProblem] = useState<TimedProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const idHeading = useRef<HTMLHeadingElement>(null);

  async function load() {
    const r = await call(api.GET('/v1/mykey-ids/me'), { citizen: true });
    if (r.ok) {
      setView(r.data);
      setLoadProblem(null);
      setMyKeyId(r.data.mykey_id);
    } else setLoadProblem(r.problem);
  }
  useEffect(() => {
    load();
  }, []);

  async function create() {
    setBusy(true);
    setCreateProblem(null);
    setStatus(null);
    const r = await call(api.POST('/v1/mykey-ids'), { citizen: true });
    setBusy(false);
    if (r.ok) {
      setView(r.data);
      setMyKeyId(r.data.mykey_id);
      setStatus(
        r.status === 201
          ? tr({ ja: `マイキーIDを作成しました: ${r.data.mykey_id}`, en: `Your MyKey ID has been created: ${r.data.mykey_id}` })
          : tr({ ja: `マイキーIDはすでにあります: ${r.data.mykey_id}`, en: `You already have a MyKey ID: ${r.data.mykey_id}` }),
      );
      idHeading.current?.focus();
    } else setCreateProblem(r.problem);
  }

  const title = { ja: 'マイキーID', en: 'MyKey ID' };
  const pendingUntil = view?.link_pending_until ?? null;
  const blocked = view ? view.lapsed || pendingUntil !== null : true;

  return (
    <>
      <PageTitle text={title} site={SITE} />
      <FlashBox on="/mykey" />
      <StatusBox text={status} />
      <ProblemBox problem={loadProblem}>
        <button type="button" class="secondary" onClick={load}>
          {tr({ ja: 'もう一度読み込む', en: 'Try again' })}
        </button>
      </ProblemBox>
      {!view && !loadProblem && <p aria-busy="true">{tr({ ja: '読み込んでいます…', en: 'Loading…' })}</p>}

      {view && (
        <>
          {view.lapsed && (
            <div class="warning">
              <p>
                {tr({
                  ja: 'あなたのカードの電子証明書はすべて有効期限切れか失効しています。マイキーIDの確認と取り消しはできますが、作成・変更や申込みはできません。新しいカードを受け取ったら、そのカードでサインインしてください。',
                  en: 'All your card certificates have expired or been revoked. You can see and revoke your MyKey ID, but not create or change one, or apply. When you get a new card, sign in with it.',
                })}
              </p>
            </div>
          )}
          {pendingUntil && (
            <div class="warning">
              <p>
                {tr({
                  ja: `カードが最近発行・更新されたため、以前のカードとの確認をしています。${formatDateTime(pendingUntil)}まで（確認が済めばそれより早く）、マイキーIDの作成や申込みはできません。`,
                  en: `Your card was issued or renewed recently, so we are matching it with your earlier card. Until ${formatDateTime(pendingUntil)} (or sooner, once matched) you cannot create a MyKey ID or apply.`,
                })}
              </p>
            </div>
          )}

          <section class="card" aria-labelledby="id-h">
            <h2 id="id-h" tabIndex={-1} ref={idHeading}>
              {tr({ ja: 'あなたのマイキーID', en: 'Your MyKey ID' })}
            </h2>
            {view.mykey_id ? (
              <>
                <p class="code code-big" data-testid="mykey-id">
                  {view.mykey_id}
                </p>
                <p class="hint">
                  {tr({
                    ja: 'マイナポイントなどの手続きで使います。人に教える必要はありません。',
                    en: 'Used for Mynapoint and other programmes. You do not need to tell it to anyone.',
                  })}
                </p>
              </>
            ) : (
              <>
                <p>
                  {tr({
                    ja: 'マイキーIDはまだありません。マイナポイントに申し込むには、マイキーIDが必要です。作成すると、8文字のIDが自動で決まります（あとで変更できます）。',
                    en: 'You have no MyKey ID yet. You need one to apply for Mynapoint. Creating one gives you an 8-character ID (you can change it later).',
                  })}
                </p>
                <ProblemBox problem={createProblem} />
                <button type="button" onClick={create} disabled={busy || blocked}>
                  {busy ? tr({ ja: '作成しています…', en: 'Creating…' }) : tr({ ja: 'マイキーIDを作成する', en: 'Create my MyKey ID' })}
                </button>
              </>
            )}
          </section>

          {view.mykey_id && !view.lapsed && (
            <ChangeForm current={view.mykey_id} onDone={(v, text) => { setView(v); setMyKeyId(v.mykey_id); setStatus(text); }} />
          )}
          {view.mykey_id && <RevokeBox id={view.mykey_id} onDone={(text) => { setStatus(text); load(); }} />}

          <section aria-labelledby="certs-h">
            <h2 id="certs-h">{tr({ ja: 'あなたのカードの電子証明書', en: 'Your card certificates' })}</h2>
            <p class="hint">
              {tr({
                ja: 'サインインに使ったマイナンバーカードの利用者証明用電子証明書です。カードを更新すると追加されます。',
                en: 'The user-authentication certificates of the My Number Cards you signed in with. A renewed card adds one.',
              })}
            </p>
            {view.certificates.length === 0 ? (
              <p>{tr({ ja: 'ありません。', en: 'None.' })}</p>
            ) : (
              <ul class="plain">
                {view.certificates.map((c) => (
                  <li key={`${c.issuer}/${c.serial}`} class="card">
                    <Facts
                      items={[
                        [tr({ ja: 'シリアル番号', en: 'Serial number' }), <span class="mono">{c.serial}</span>],
                        [tr({ ja: '状態', en: 'State' }), <span class={`state state-${c.state}`}>{certStateName(c.state)}</span>],
                        [tr({ ja: '有効期限', en: 'Valid until' }), c.expires_at ? formatDateTime(c.expires_at) : tr({ ja: '未確認', en: 'Not known yet' })],
                        [tr({ ja: '登録日時', en: 'Linked' }), formatDateTime(c.linked_at)],
                      ]}
                    />
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section aria-labelledby="hist-h">
            <h2 id="hist-h">{tr({ ja: 'マイキーIDの履歴', en: 'MyKey ID history' })}</h2>
            {view.history.length === 0 ? (
              <p>{tr({ ja: 'まだありません。', en: 'None yet.' })}</p>
            ) : (
              <ul class="plain">
                {view.history.map((h) => (
                  <li key={h.mykey_id} class="card">
                    <Facts
                      items={[
                        [tr({ ja: 'マイキーID', en: 'MyKey ID' }), <span class="mono">{h.mykey_id}</span>],
                        [
                          tr({ ja: '状態', en: 'State' }),
                          h.state === 'active'
                            ? tr({ ja: '現在使用中', en: 'In use' })
                            : h.retired_reason === 'revoked'
                              ? tr({ ja: '取り消し済み', en: 'Revoked' })
                              : tr({ ja: '変更済み', en: 'Changed' }),
                        ],
                        [tr({ ja: '作成日時', en: 'Created' }), formatDateTime(h.created_at)],
                        ...(h.retired_at ? ([[tr({ ja: '終了日時', en: 'Ended' }), formatDateTime(h.retired_at)]] as [string, string][]) : []),
                      ]}
                    />
                  </li>
                ))}
              </ul>
            )}
            <p class="hint">
              {tr({
                ja: '一度使われたマイキーIDは、ほかの人に割り当てられることはありません。',
                en: 'A MyKey ID that has been used is never given to anyone else.',
              })}
            </p>
          </section>
        </>
      )}
    </>
  );
}

function ChangeForm({ current, onDone }: { current: string; onDone: (v: View, text: string) => void }) {
  const [value, setValue] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const [suggestions, setSuggestions] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  async function suggest() {
    setProblem(null);
    const r = await call(api.GET('/v1/mykey-ids/me/suggestions'), { citizen: true });
    if (r.ok) setSuggestions(r.data.suggestions);
    else setProblem(r.problem);
  }

  async function submit(e: Event) {
    e.preventDefault();
    setProblem(null);
    const id = value.trim().toUpperCase();
    let err: string | null = null;
    if (!MYKEY.test(id)) {
      err = tr({
        ja: '8文字で入力してください。使える文字は、数字の2〜9と、英字のA〜Z（I・L・Oを除く）です。',
        en: 'Enter 8 characters: digits 2–9 and letters A–Z except I, L and O.',
      });
    } else if (id === current) {
      err = tr({ ja: '今のマイキーIDと同じです。', en: 'This is your current MyKey ID.' });
    }
    setFieldError(err);
    if (err) {
      input.current?.focus();
      return;
    }
    setBusy(true);
    const r = await call(api.PUT('/v1/mykey-ids/me', { body: { mykey_id: id } }), { citizen: true });
    setBusy(false);
    if (r.ok) {
      setValue('');
      setSuggestions(null);
      onDone(r.data, tr({ ja: `マイキーIDを ${r.data.mykey_id} に変更しました。`, en: `Your MyKey ID is now ${r.data.mykey_id}.` }));
    } else {
      setProblem(r.problem);
      if (r.problem.code === 'mykey_id_taken') setSuggestions(null);
    }
  }

  return (
    <section class="card" aria-labelledby="change-h">
      <h2 id="change-h">{tr({ ja: 'マイキーIDを変更する', en: 'Change your MyKey ID' })}</h2>
      <p class="hint">
        {tr({
          ja: '好きなIDを入力するか、候補から選べます。変更前のIDは、あなたもほかの人も二度と使えなくなります。',
          en: 'Enter an ID you like or pick a suggestion. Your old ID can then never be used again, by you or anyone.',
        })}
      </p>
      <form onSubmit={submit} noValidate>
        <label for="new-id">{tr({ ja: '新しいマイキーID（8文字）', en: 'New MyKey ID (8 characters)' })}</label>
        <p class="hint" id="new-id-hint">
          {tr({ ja: '数字の2〜9と、英字のA〜Z（I・L・Oを除く）。小文字でも入力できます。', en: 'Digits 2–9 and letters A–Z except I, L and O. Lower case is fine.' })}
        </p>
        {fieldError && (
          <p class="field-error" id="new-id-error">
            {fieldError}
          </p>
        )}
        <input
          id="new-id"
          ref={input}
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          maxLength={8}
          aria-invalid={fieldError ? 'true' : undefined}
          aria-describedby={fieldError ? 'new-id-hint new-id-error' : 'new-id-hint'}
          class="input-code"
        />
        <p>
          <button type="button" class="secondary" onClick={suggest}>
            {tr({ ja: '候補を表示する', en: 'Show suggestions' })}
          </button>
        </p>
        {suggestions && (
          <fieldset>
            <legend>{tr({ ja: '候補（選ぶと入力欄に入ります）', en: 'Suggestions (choosing one fills in the field)' })}</legend>
            {suggestions.length === 0 && <p>{tr({ ja: '候補はありません。', en: 'No suggestions.' })}</p>}
            {suggestions.map((sgt) => (
              <label key={sgt} class="radio">
                <input type="radio" name="suggestion" value={sgt} checked={value.toUpperCase() === sgt} onChange={() => setValue(sgt)} />
                <span class="mono">{sgt}</span>
              </label>
            ))}
            <p class="hint">
              {tr({ ja: '候補は予約されていません。先にほかの人が使うと、変更できないことがあります。', en: 'Suggestions are not reserved: someone may take one first.' })}
            </p>
          </fieldset>
        )}
        <ProblemBox problem={problem} />
        <p>
          <button type="submit" disabled={busy}>
            {busy ? tr({ ja: '変更しています…', en: 'Changing…' }) : tr({ ja: '変更する', en: 'Change' })}
          </button>
        </p>
      </form>
    </section>
  );
}

function RevokeBox({ id, onDone }: { id: string; onDone: (text: string) => void }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<TimedProblem | null>(null);
  const confirmHeading = useRef<HTMLHeadingElement>(null);
  const openButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (asking) confirmHeading.current?.focus();
  }, [asking]);

  async function revoke() {
    setBusy(true);
    setProblem(null);
    const r = await call(api.DELETE('/v1/mykey-ids/me'), { citizen: true });
    setBusy(false);
    if (r.ok) {
      setAsking(false);
      onDone(tr({ ja: `マイキーID ${id} を取り消しました。`, en: `Your MyKey ID ${id} has been revoked.` }));
    } else setProblem(r.problem);
  }

  function cancel() {
    setAsking(false);
    setProblem(null);
    // Back to where the citizen was.
    setTimeout(() => openButton.current?.focus(), 0);
  }

  return (
    <section class="card" aria-labelledby="revoke-h">
      <h2 id="revoke-h">{tr({ ja: 'マイキーIDを取り消す', en: 'Revoke your MyKey ID' })}</h2>
      {!asking ? (
        <>
          <p class="hint">
            {tr({
              ja: '取り消したあとで、新しいマイキーIDを作成できます。取り消したIDは二度と使えません。',
              en: 'You can create a new MyKey ID afterwards. A revoked ID can never be used again.',
            })}
          </p>
          <button type="button" class="danger-outline" ref={openButton} onClick={() => setAsking(true)}>
            {tr({ ja: '取り消す…', en: 'Revoke…' })}
          </button>
        </>
      ) : (
        <div class="confirm" role="group" aria-labelledby="confirm-h">
          <h3 id="confirm-h" tabIndex={-1} ref={confirmHeading}>
            {tr({ ja: `マイキーID ${id} を本当に取り消しますか？`, en: `Really revoke your MyKey ID ${id}?` })}
          </h3>
          <p>
            {tr({
              ja: 'このIDは二度と使えなくなります。このIDで登録したサービスでは、手続きが必要になることがあります。',
              en: 'This ID can never be used again. Services where you registered it may need you to act.',
            })}
          </p>
          <ProblemBox problem={problem} />
          <p class="actions">
            <button type="button" class="danger" onClick={revoke} disabled={busy}>
              {busy ? tr({ ja: '取り消しています…', en: 'Revoking…' }) : tr({ ja: '取り消す', en: 'Revoke' })}
            </button>
            <button type="button" class="secondary" onClick={cancel} disabled={busy}>
              {tr({ ja: 'やめる', en: 'Cancel' })}
            </button>
          </p>
        </div>
      )}
    </section>
  );
}
