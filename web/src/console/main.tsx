// The staff console (/console/): sign-in with password + TOTP and first-time onboarding, then the
// screens the member's roles may use. Every screen names the routes it calls; a screen whose
// routes the roles cannot call is neither in the menu nor shown (the route shows a refusal).
import { render, type ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import '../lib/base.css';
import './console.css';
import { lang, setLang, tr, type Text } from '../lib/i18n';
import { match, navigate, useRoute } from '../lib/router';
import { useSignal } from '../lib/signal';
import { formatDateTime } from '../lib/time';
import { LangSwitch } from '../lib/ui';
import { Page, SITE } from './kit';
import { api, can, endSession, refreshMe, session, type RouteKey } from './session';
import { roleList } from './words';
import { Account, Onboarding, SignIn } from './pages/signin';
import { NoticeEdit, NoticeList, NoticeNew } from './pages/notices';
import { StaffDetail, StaffList, StaffNew } from './pages/staff';
import { MunicipalityPick, MunicipalityStaff } from './pages/municipal';
import { ProviderDetail, ProviderList, ProviderNew } from './pages/providers';
import { ServiceDetail, ServiceList, ServiceNew } from './pages/services';
import { MeasureDetail, MeasureList } from './pages/measures';
import { CrlPage, EligibilityFeed, EligibilityPage, LinkageFeed, LinkagePage, UploadsHub } from './pages/uploads';
import { ReportList, ReportsPick } from './pages/reports';
import { Inquiry } from './pages/inquiry';
import { Audit } from './pages/audit';

type View = ComponentType<{ params: Record<string, string> }>;

interface Screen {
  path: string;
  /** Routes of which the roles must admit at least one to see the screen. */
  need: RouteKey[];
  view: View;
  /** The menu entry (top-level screens only) and the section it highlights. */
  nav?: Text;
  /** What the screen is for (on the home page). */
  desc?: Text;
  section: string;
}

export const SCREENS: Screen[] = [
  { path: '/notices', section: 'notices', need: ['GET /v1/ops/notices'], view: NoticeList, nav: { ja: 'お知らせ', en: 'Notices' }, desc: { ja: '市民向けサイトのお知らせを作成・変更・取り下げ', en: 'Create, change and withdraw citizen notices' } },
  { path: '/new/notice', section: 'notices', need: ['POST /v1/ops/notices'], view: NoticeNew },
  { path: '/notices/:id', section: 'notices', need: ['GET /v1/ops/notices/{id}'], view: NoticeEdit },
  { path: '/staff', section: 'staff', need: ['GET /v1/ops/staff'], view: StaffList, nav: { ja: '職員アカウント', en: 'Staff accounts' }, desc: { ja: '職員のアカウントと役割、リセット・無効化', en: 'Staff accounts and roles; resets and disabling' } },
  { path: '/new/staff', section: 'staff', need: ['POST /v1/ops/staff'], view: StaffNew },
  { path: '/staff/:id', section: 'staff', need: ['GET /v1/ops/staff/{id}'], view: StaffDetail },
  { path: '/municipality', section: 'municipality', need: ['GET /v1/municipalities/{code}/staff'], view: MunicipalityPick, nav: { ja: '自治体の職員', en: 'Municipal staff' }, desc: { ja: '自治体ごとの職員の一覧', en: 'The staff of a municipality' } },
  { path: '/municipalities/:code/staff', section: 'municipality', need: ['GET /v1/municipalities/{code}/staff'], view: MunicipalityStaff },
  { path: '/mynapoint/providers', section: 'providers', need: ['GET /v1/ops/mynapoint/providers'], view: ProviderList, nav: { ja: '決済事業者', en: 'Providers' }, desc: { ja: 'マイナポイントの決済事業者と署名鍵', en: 'Mynapoint payment providers and their secrets' } },
  { path: '/new/provider', section: 'providers', need: ['POST /v1/ops/mynapoint/providers'], view: ProviderNew },
  { path: '/mynapoint/providers/:id', section: 'providers', need: ['GET /v1/ops/mynapoint/providers/{provider_id}'], view: ProviderDetail },
  { path: '/mynapoint/services', section: 'services', need: ['GET /v1/ops/mynapoint/services'], view: ServiceList, nav: { ja: '決済サービス', en: 'Payment services' }, desc: { ja: '申込先の決済サービス、受付状態、送信先', en: 'Payment services, intake and endpoints' } },
  { path: '/new/service', section: 'services', need: ['POST /v1/ops/mynapoint/services'], view: ServiceNew },
  { path: '/mynapoint/services/:code', section: 'services', need: ['GET /v1/ops/mynapoint/services/{code}'], view: ServiceDetail },
  { path: '/mynapoint/measures', section: 'measures', need: ['GET /v1/ops/mynapoint/measures'], view: MeasureList, nav: { ja: 'ポイント施策', en: 'Measures' }, desc: { ja: '施策の期間の延長、受付の停止・再開', en: 'Extend, suspend and resume measures' } },
  { path: '/mynapoint/measures/:measure', section: 'measures', need: ['GET /v1/ops/mynapoint/measures'], view: MeasureDetail },
  {
    path: '/uploads',
    section: 'uploads',
    need: ['GET /v1/ops/card-auth/crls', 'GET /v1/ops/card-auth/linkage-feeds/{feed_id}', 'GET /v1/ops/mynapoint/eligibility-feeds/{kind}/{feed_id}'],
    view: UploadsHub,
    nav: { ja: 'ファイル取込', en: 'Uploads' },
    desc: { ja: '失効リスト、更新連携ファイル、資格ファイルの取込と進み具合', en: 'CRLs, linkage feeds and eligibility feeds, with progress' },
  },
  { path: '/uploads/crl', section: 'uploads', need: ['GET /v1/ops/card-auth/crls'], view: CrlPage },
  { path: '/uploads/linkage', section: 'uploads', need: ['GET /v1/ops/card-auth/linkage-feeds/{feed_id}'], view: LinkagePage },
  { path: '/uploads/linkage/:feed_id', section: 'uploads', need: ['GET /v1/ops/card-auth/linkage-feeds/{feed_id}'], view: LinkageFeed },
  { path: '/uploads/eligibility', section: 'uploads', need: ['GET /v1/ops/mynapoint/eligibility-feeds/{kind}/{feed_id}'], view: EligibilityPage },
  { path: '/uploads/eligibility/:kind/:feed_id', section: 'uploads', need: ['GET /v1/ops/mynapoint/eligibility-feeds/{kind}/{feed_id}'], view: EligibilityFeed },
  { path: '/reports', section: 'reports', need: ['GET /v1/ops/mynapoint/reports/{provider_id}'], view: ReportsPick, nav: { ja: '突合レポート', en: 'Reconciliation' }, desc: { ja: '事業者ごとの日次・月次レポートのダウンロード', en: 'Daily and monthly reports per provider' } },
  { path: '/reports/:provider_id', section: 'reports', need: ['GET /v1/ops/mynapoint/reports/{provider_id}'], view: ReportList },
  { path: '/inquiry', section: 'inquiry', need: ['POST /v1/ops/mynapoint/inquiries'], view: Inquiry, nav: { ja: '申込の照会', en: 'Inquiry' }, desc: { ja: '市民の申込を照会（監査記録に残ります）', en: 'Look up the applications of a citizen (audited)' } },
  { path: '/audit', section: 'audit', need: ['GET /v1/audit/records', 'GET /v1/audit/verification'], view: Audit, nav: { ja: '監査記録', en: 'Audit trail' }, desc: { ja: '監査記録の検証と書き出し', en: 'Verify and export the audit trail' } },
  { path: '/account', section: 'account', need: ['GET /v1/staff/me'], view: Account },
];

function allowed(s: Screen, roles: string[]): boolean {
  return s.need.some((k) => can(k, roles));
}

function find(path: string): { screen: Screen; params: Record<string, string> } | null {
  for (const screen of SCREENS) {
    const params = match(screen.path, path);
    if (params) return { screen, params };
  }
  return null;
}

function Home({ roles }: { roles: string[] }) {
  const entries = SCREENS.filter((s) => s.nav && allowed(s, roles));
  return (
    <Page title={{ ja: 'ホーム', en: 'Home' }}>
      <p>
        {tr({ ja: 'あなたの役割', en: 'Your roles' })}: <strong>{roleList(roles)}</strong>
      </p>
      {entries.length ? (
        <>
          <p>{tr({ ja: 'この役割で使える画面です。', en: 'The screens your roles may use:' })}</p>
          <ul class="tiles">
            {entries.map((s) => (
              <li key={s.path}>
                <a href={`#${s.path}`}>{tr(s.nav!)}</a>
                {s.desc && <p class="hint">{tr(s.desc)}</p>}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>{tr({ ja: 'この役割で使える画面はまだありません。', en: 'No screens are available to your roles yet.' })}</p>
      )}
    </Page>
  );
}

function Refusal({ roles }: { roles: string[] }) {
  return (
    <Page title={{ ja: 'この画面は使えません', en: 'Not available to you' }}>
      <div class="error" role="alert" data-refusal>
        <p>
          {tr({
            ja: `あなたの役割（${roleList(roles)}）では、この画面を使えません。必要な場合は運用者に相談してください。`,
            en: `Your roles (${roleList(roles)}) may not use this screen. Ask an operator if you need it.`,
          })}
        </p>
      </div>
      <p>
        <a href="#/">{tr({ ja: 'ホームへ戻る', en: 'Back to home' })}</a>
      </p>
    </Page>
  );
}

function NotFound() {
  return (
    <Page title={{ ja: 'ページが見つかりません', en: 'Page not found' }}>
      <p>
        <a href="#/">{tr({ ja: 'ホームへ戻る', en: 'Back to home' })}</a>
      </p>
    </Page>
  );
}

function Nav({ roles, section }: { roles: string[]; section: string }) {
  const entries = SCREENS.filter((s) => s.nav && allowed(s, roles));
  return (
    <nav class="main console-nav" aria-label={tr({ ja: 'メニュー', en: 'Menu' })}>
      <ul>
        <li>
          <a href="#/" aria-current={section === 'home' ? 'page' : undefined}>
            {tr({ ja: 'ホーム', en: 'Home' })}
          </a>
        </li>
        {entries.map((s) => (
          <li key={s.path}>
            <a href={`#${s.path}`} aria-current={s.section === section ? 'page' : undefined}>
              {tr(s.nav!)}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function signOut() {
  void api.DELETE('/v1/staff/sessions/current').finally(() => {
    endSession({ ja: 'サインアウトしました。', en: 'You have signed out.' });
    navigate('/');
  });
}

function skipToMain(e: Event) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

function App() {
  useSignal(lang);
  const s = useSignal(session);
  const path = useRoute();
  const full = s && s.pending.length === 0;

  // A reloaded tab (or a fresh sign-in) reads the member's profile once.
  useEffect(() => {
    if (full && !s.me) void refreshMe().catch(() => {});
  }, [full, s?.me]);

  let body;
  let section = 'home';
  if (!s) body = <SignIn />;
  else if (!full) body = <Onboarding />;
  else if (path === '/') body = <Home roles={s.roles} />;
  else {
    const hit = find(path);
    if (!hit) body = <NotFound />;
    else {
      section = hit.screen.section;
      const V = hit.screen.view;
      body = allowed(hit.screen, s.roles) ? <V params={hit.params} key={path} /> : <Refusal roles={s.roles} />;
    }
  }

  return (
    <>
      <a class="skip" href="#main" onClick={skipToMain}>
        {tr({ ja: '本文へ移動', en: 'Skip to content' })}
      </a>
      <header class="site console-header">
        <a class="brand" href="#/">
          {tr({ ja: 'マイキープラットフォーム', en: 'MyKey Platform' })} <span class="brand-sub">{tr(SITE)}</span>
        </a>
        <div class="who">
          {full && (
            <>
              <a href="#/account" class="me" aria-current={section === 'account' ? 'page' : undefined}>
                <span class="visually-hidden">{tr({ ja: '自分のアカウント: ', en: 'My account: ' })}</span>
                {s.staffId}
              </a>
              <span class="roles">{roleList(s.roles)}</span>
            </>
          )}
          <LangSwitch />
          {s && (
            <button type="button" class="secondary small" onClick={signOut}>
              {tr({ ja: 'サインアウト', en: 'Sign out' })}
            </button>
          )}
        </div>
      </header>
      {full && <Nav roles={s.roles} section={section} />}
      <main id="main" tabIndex={-1}>
        {body}
      </main>
      <footer class="site">
        {full && (
          <p>
            {tr({ ja: 'サインインの有効期限', en: 'Signed in until' })}: {formatDateTime(s.expiresAt)} {tr({ ja: '（日本時間）', en: '(Japan time)' })}
          </p>
        )}
        <p>{tr({ ja: '表示される日時はすべて日本時間です。操作はすべて監査記録に残ります。', en: 'All times are Japan time. Every action is recorded in the audit trail.' })}</p>
      </footer>
    </>
  );
}

setLang(lang.get());
render(<App />, document.getElementById('app')!);
