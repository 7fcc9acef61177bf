// #/handoff/:code — what a phone's camera opens from the sign-in QR code. The code is for a card
// app, not for this site: the page says so, shows the code to type into the app, and warns not
// to go on unless the citizen started that sign-in themselves. It calls no API.
import { tr } from '../../lib/i18n';
import { PageTitle } from '../../lib/ui';
import { formatCode, isCode } from '../handoff';
import { SITE } from '../words';

export function HandoffPage({ code }: { code: string }) {
  const ok = isCode(code);
  return (
    <>
      <PageTitle text={{ ja: 'マイナンバーカードでのサインイン用コード', en: 'A code for signing in with your My Number Card' }} site={SITE} />
      <div class="warning" role="note" aria-labelledby="warn-h">
        <h2 id="warn-h">{tr({ ja: '自分で始めたサインインですか？', en: 'Did you start this sign-in yourself?' })}</h2>
        <p>
          <strong>
            {tr({
              ja: '他人から送られてきたQRコードやコードは読み取らないでください。',
              en: 'Never scan a QR code or enter a code that someone sent you.',
            })}
          </strong>
        </p>
        <p>
          {tr({
            ja: 'パソコンなどの画面で、あなた自身が今サインインを始めたのでなければ、ここで操作をやめて、このページを閉じてください。続けると、コードを送ってきた人があなたとしてサインインできてしまいます。',
            en: 'If you did not just start a sign-in yourself on a computer or other screen in front of you, stop here and close this page. If you go on, whoever sent the code could sign in as you.',
          })}
        </p>
      </div>

      {ok ? (
        <section class="card" aria-labelledby="code-h">
          <h2 id="code-h">{tr({ ja: 'このコードの使い方', en: 'How to use this code' })}</h2>
          <p>
            {tr({
              ja: 'このコードは、マイナンバーカードに対応したアプリで使うものです。このページでは、サインインはできません。',
              en: 'This code is for an app that supports the My Number Card. You cannot sign in on this page.',
            })}
          </p>
          <p class="hint">{tr({ ja: 'コード', en: 'Code' })}</p>
          <p class="code code-big">{formatCode(code)}</p>
          <ol>
            <li>{tr({ ja: 'マイナンバーカードに対応したアプリを開きます。', en: 'Open an app that supports the My Number Card.' })}</li>
            <li>
              {tr({
                ja: 'アプリでサインイン用のQRコードを読み取るか、上のコードを入力します。',
                en: 'In the app, scan the sign-in QR code or enter the code above.',
              })}
            </li>
            <li>
              {tr({
                ja: 'アプリに表示される開始時刻が、あなたがサインインを始めた時刻と合っているか確かめてから、カードを読み取らせます。',
                en: 'Check that the start time the app shows matches when you started the sign-in, then let it read your card.',
              })}
            </li>
            <li>
              {tr({
                ja: 'サインインを始めた画面が、自動でサインインした状態になります。',
                en: 'The screen where you started will sign in by itself.',
              })}
            </li>
          </ol>
          <p class="hint">{tr({ ja: 'コードの有効期限は、表示されてから5分です。', en: 'The code lasts 5 minutes from when it was shown.' })}</p>
        </section>
      ) : (
        <div class="error" role="alert">
          <p>
            {tr({
              ja: 'このコードは正しい形式ではありません。サインインを始めた画面に表示されたコードを確かめてください。',
              en: 'This is not a valid code. Check the code shown on the screen where you started the sign-in.',
            })}
          </p>
        </div>
      )}
      <p>
        <a href="#/">{tr({ ja: 'ホームへ', en: 'Go to the home page' })}</a>
      </p>
    </>
  );
}
