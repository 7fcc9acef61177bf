// A municipality's staff (GET /v1/municipalities/{code}/staff): municipal staff see their own
// municipality only (the platform refuses any other code with municipality_forbidden, shown as
// such); operators and auditors may look up any municipality.
import { useEffect, useState } from 'preact/hooks';
import { tr } from '../../lib/i18n';
import { navigate } from '../../lib/router';
import { useSignal } from '../../lib/signal';
import { AuditedNote, Err, Field, Loading, Page, useLoad } from '../kit';
import { api, ok, session } from '../session';
import { StaffTable } from './staff';

function platformWide(roles: string[]) {
  return roles.includes('operator') || roles.includes('auditor');
}

export function MunicipalityPick() {
  const s = useSignal(session)!;
  const own = s.me?.municipality ?? null;
  const wide = platformWide(s.roles);
  const [code, setCode] = useState('');
  // Municipal staff have exactly one municipality: go straight to it.
  useEffect(() => {
    if (!wide && own) navigate(`/municipalities/${own}/staff`);
  }, [wide, own]);
  return (
    <Page title={{ ja: '自治体の職員', en: 'Municipal staff' }}>
      {!wide && !s.me && <Loading />}
      {own && (
        <p>
          <a href={`#/municipalities/${own}/staff`}>{tr({ ja: `自分の自治体（${own}）の職員を見る`, en: `Staff of my municipality (${own})` })}</a>
        </p>
      )}
      {wide && (
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(`/municipalities/${encodeURIComponent(code.trim())}/staff`);
          }}
        >
          <Field
            label={{ ja: '自治体コード', en: 'Municipality code' }}
            hint={{ ja: '6桁の全国地方公共団体コード（例: 千代田区 131016）。', en: '6-digit local government code (e.g. Chiyoda 131016).' }}
            value={code}
            onValue={setCode}
            inputMode="numeric"
            pattern="[0-9]{6}"
            maxLength={6}
            required
          />
          <p>
            <button type="submit">{tr({ ja: '表示する', en: 'Show' })}</button>
          </p>
        </form>
      )}
    </Page>
  );
}

export function MunicipalityStaff({ params }: { params: Record<string, string> }) {
  const code = params.code!;
  const s = useSignal(session)!;
  const own = s.me?.municipality ?? null;
  const load = useLoad(() => ok(api.GET('/v1/municipalities/{code}/staff', { params: { path: { code }, query: { limit: 100 } } })), [code]);
  return (
    <Page title={{ ja: `自治体 ${code} の職員`, en: `Staff of municipality ${code}` }}>
      {!platformWide(s.roles) && own && own !== code && (
        <p class="hint">{tr({ ja: `あなたの自治体は ${own} です。`, en: `Your municipality is ${own}.` })}</p>
      )}
      <AuditedNote />
      {load.loading && <Loading />}
      <Err problem={load.problem} />
      {load.data && (load.data.items.length ? <StaffTable items={load.data.items} link={platformWide(s.roles)} /> : <p>{tr({ ja: '職員はいません。', en: 'No staff.' })}</p>)}
      {own && own !== code && (
        <p>
          <a href={`#/municipalities/${own}/staff`}>{tr({ ja: '自分の自治体の職員を見る', en: 'Staff of my municipality' })}</a>
        </p>
      )}
    </Page>
  );
}
