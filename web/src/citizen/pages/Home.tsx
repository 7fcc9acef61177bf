// Home (#/): notices, the programmes, and the sign-in button or who is signed in.
import { useEffect, useState } from 'preact/hooks';
import type { components, Problem } from '../../lib/api';
import { tr } from '../../lib/i18n';
import { useSignal } from '../../lib/signal';
import { formatDateTime } from '../../lib/time';
import { PageTitle } from '../../lib/ui';
import { api, call, session } from '../session';
import { FlashBox, ProblemBox } from '../ui';
import { SITE } from '../words';

type Notice = components['schemas']['PublicNotice'];

export function HomePage() {
  const s = useSignal(session);
  const [notices, setNotices] = useState<Notice[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    let live = true;
    call(api.GET('/v1/notices')).then((r) => {
      if (!live) return;
      if (r.ok) setNotices(r.data.items);
      else setProblem(r.problem);
    });
    return () => {
      live = false;
    };
  }, []);

  return (
    <>
      <PageTitle text={{ ja: 'マイキープラットフォーム', en: 'MyKey Platform' }} site={SITE} />
      <FlashBox on="/" />
      <p class="lead">
        {tr({
          ja: 'マイナンバーカードでサインインして、マイキーIDを作り、マイナポイントなどに申し込めます。',
          en: 'Sign in with your My Number Card, create your MyKey ID, and apply for Mynapoint and other programmes.',
        })}
      </p>

      <section aria-labelledby="you" class="card">
        <h2 id="you">{s ? tr({ ja: 'サインイン中です', en: 'You are signed in' }) : tr({ ja: 'はじめに', en: 'Getting started' })}</h2>
        {s ? (
          <>
            <p>
              {s.mykey_id
                ? `${tr({ ja: 'あなたのマイキーID', en: 'Your MyKey ID' })}: `
                : tr({ ja: 'マイキーIDはまだありません。', en: 'You have no MyKey ID yet.' })}
              {s.mykey_id && <span class="code-inline">{s.mykey_id}</span>}
            </p>
            <p class="hint">
              {tr({ ja: 'サインインの有効期限', en: 'Signed in until' })}: {formatDateTime(s.expires_at)}
            </p>
            <p class="actions">
              <a class="button" href="#/mykey">
                {s.mykey_id ? tr({ ja: 'マイキーIDを見る', en: 'View your MyKey ID' }) : tr({ ja: 'マイキーIDを作る', en: 'Create your MyKey ID' })}
              </a>
              <a class="button secondary" href="#/mynapoint">
                {tr({ ja: 'マイナポイントに申し込む', en: 'Apply for Mynapoint' })}
              </a>
            </p>
          </>
        ) : (
          <>
            <p>
              {tr({
                ja: 'マイナンバーカードと、カードに対応したスマートフォンのアプリ（またはカードリーダー）を用意してください。',
                en: 'Have your My Number Card and a card app on your smartphone (or a card reader) ready.',
              })}
            </p>
            <p>
              <a class="button" href="#/sign-in">
                {tr({ ja: 'マイナンバーカードでサインイン', en: 'Sign in with your My Number Card' })}
              </a>
            </p>
          </>
        )}
      </section>

      <section aria-labelledby="notices">
        <h2 id="notices">{tr({ ja: 'お知らせ', en: 'Notices' })}</h2>
        <ProblemBox problem={problem} />
        {notices === null && !problem && <p aria-busy="true">{tr({ ja: '読み込んでいます…', en: 'Loading…' })}</p>}
        {notices && notices.length === 0 && <p>{tr({ ja: '現在お知らせはありません。', en: 'There are no notices right now.' })}</p>}
        {notices && notices.length > 0 && (
          <ul class="notices">
            {notices.map((n) => (
              <li key={n.id} class={n.severity === 'important' ? 'notice-item important' : 'notice-item'}>
                <h3>
                  {n.severity === 'important' && <span class="badge">{tr({ ja: '重要', en: 'Important' })}</span>}
                  {n.title}
                </h3>
                <p class="hint">
                  <time dateTime={n.publish_from}>{formatDateTime(n.publish_from)}</time>
                </p>
                <p class="notice-body">{n.body}</p>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="programmes">
        <h2 id="programmes">{tr({ ja: '手続き', en: 'Services' })}</h2>
        <ul class="programmes">
          <li class="card">
            <h3>
              <a href="#/mykey">{tr({ ja: 'マイキーID', en: 'MyKey ID' })}</a>
            </h3>
            <p>
              {tr({
                ja: 'マイナポイントなどの手続きに使う、あなた専用の8文字のIDです。作成・変更・取り消しができます。',
                en: 'Your own 8-character ID for Mynapoint and other programmes. Create, change or revoke it.',
              })}
            </p>
          </li>
          <li class="card">
            <h3>
              <a href="#/mynapoint">{tr({ ja: 'マイナポイント', en: 'Mynapoint' })}</a>
            </h3>
            <p>
              {tr({
                ja: '選んだキャッシュレス決済サービスでポイントを受け取れます。施策と期間の確認、申込み、申込み状況の確認ができます。',
                en: 'Receive points with the cashless payment service you choose. See the programmes and periods, apply, and check your applications.',
              })}
            </p>
          </li>
        </ul>
      </section>
    </>
  );
}
