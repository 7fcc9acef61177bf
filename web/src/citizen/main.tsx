// The citizen site: header (site name, navigation, language), one page per hash route, footer.
// Japanese first, English switchable. No inline script or style (CSP script-src/style-src 'self').
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import '../lib/base.css';
import './citizen.css';
import { lang, tr, type Text } from '../lib/i18n';
import { match, useRoute } from '../lib/router';
import { useSignal } from '../lib/signal';
import { LangSwitch } from '../lib/ui';
import { expireSession, live, session, SESSION_EXPIRED, setSession } from './session';
import { SITE } from './words';
import { SignOutButton } from './pages/SignOut';
import { HomePage } from './pages/Home';
import { SignInPage } from './pages/SignIn';
import { HandoffPage } from './pages/Handoff';
import { MyKeyPage } from './pages/MyKey';
import { MynapointPage } from './pages/Mynapoint';
import { NotFoundPage } from './pages/NotFound';

const NAV: { path: string; text: Text }[] = [
  { path: '/', text: { ja: 'ホーム', en: 'Home' } },
  { path: '/mykey', text: { ja: 'マイキーID', en: 'MyKey ID' } },
  { path: '/mynapoint', text: { ja: 'マイナポイント', en: 'Mynapoint' } },
];

function Page({ path }: { path: string }) {
  const bare = path.split('?')[0] ?? '/';
  if (bare === '/' || bare === '') return <HomePage />;
  if (bare === '/sign-in') return <SignInPage next={nextOf(path)} />;
  const h = match('/handoff/:code', path);
  if (h) return <HandoffPage code={h.code ?? ''} />;
  if (bare === '/mykey') return <MyKeyPage />;
  if (bare === '/mynapoint') return <MynapointPage />;
  return <NotFoundPage />;
}

/** `?next=/mykey` of the sign-in route: only our own routes, never another site. */
function nextOf(path: string): string | null {
  const q = path.split('?')[1];
  if (!q) return null;
  const next = new URLSearchParams(q).get('next');
  return next && /^\/[a-z0-9/_-]*$/i.test(next) && !next.startsWith('//') ? next : null;
}

function App() {
  useSignal(lang);
  const path = useRoute();
  const s = useSignal(session);
  const bare = path.split('?')[0] ?? '/';
  useSessionExpiry();
  const current = (p: string) => (p === '/' ? bare === '/' : bare === p || bare.startsWith(`${p}/`));
  return (
    <>
      <a class="skip" href="#main" onClick={skip}>
        {tr({ ja: '本文へ移動', en: 'Skip to main content' })}
      </a>
      <header class="site">
        <a class="brand" href="#/">
          {tr(SITE)}
        </a>
        <nav class="main" aria-label={tr({ ja: 'メインメニュー', en: 'Main menu' })}>
          <ul>
            {NAV.map((n) => (
              <li key={n.path}>
                <a href={`#${n.path}`} aria-current={current(n.path) ? 'page' : undefined}>
                  {tr(n.text)}
                </a>
              </li>
            ))}
            <li>
              {live(s) ? (
                <SignOutButton />
              ) : (
                <a href="#/sign-in" aria-current={bare === '/sign-in' ? 'page' : undefined}>
                  {tr({ ja: 'サインイン', en: 'Sign in' })}
                </a>
              )}
            </li>
          </ul>
        </nav>
        <LangSwitch />
      </header>
      <main id="main" tabIndex={-1}>
        <Page key={bare} path={path} />
      </main>
      <footer class="site">
        <p>
          {tr({
            ja: 'マイキープラットフォーム（オープンな再実装）。時刻はすべて日本時間で表示しています。',
            en: 'MyKey Platform (an open re-implementation). All times are shown in Japan time.',
          })}
        </p>
        <p>
          {tr({
            ja: 'マイナンバーカードの暗証番号を、このサイトやメール・電話で聞くことはありません。',
            en: 'We never ask for your My Number Card PIN on this site, by e-mail or by phone.',
          })}
        </p>
      </footer>
    </>
  );
}

/**
 * A session ends by itself after its 15 minutes: on the pages that need it the citizen is sent to
 * sign in again with a message (then brought back); elsewhere it is just dropped.
 */
function useSessionExpiry() {
  const s = useSignal(session);
  useEffect(() => {
    if (!s) return;
    const left = Date.parse(s.expires_at) - Date.now();
    const end = () => {
      const bare = (location.hash.replace(/^#/, '') || '/').split('?')[0];
      if (bare === '/mykey' || bare === '/mynapoint') expireSession(SESSION_EXPIRED);
      else setSession(null);
    };
    if (Number.isNaN(left)) return;
    if (left <= 0) {
      end();
      return;
    }
    // setTimeout holds at most ~24.8 days; a session lasts minutes.
    const t = setTimeout(end, Math.min(left, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [s]);
}

/** The skip link moves focus without changing the hash route. */
function skip(e: Event) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

render(<App />, document.getElementById('app')!);
