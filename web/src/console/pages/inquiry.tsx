// Operator inquiry (operators, patch approvers): a person's Mynapoint applications by MyKey ID,
// application id, or service code + service account id. Every lookup, found or not, is audited
// (the account id only as a digest); the page says so before and after.
import { useState } from 'preact/hooks';
import type { components } from '../../lib/api';
import { tr, type Text } from '../../lib/i18n';
import { useSignal } from '../../lib/signal';
import { formatDateTime } from '../../lib/time';
import { Err, Field, Page, Status, num, useAction } from '../kit';
import { api, ok, session } from '../session';
import { APP_STATES, MEASURES, word } from '../words';

type By = 'mykey_id' | 'application_id' | 'service_account';
type Answer = components['schemas']['InquiryResponse'];

const BY: { value: By; label: Text }[] = [
  { value: 'mykey_id', label: { ja: 'マイキーID', en: 'MyKey ID' } },
  { value: 'application_id', label: { ja: '申込ID', en: 'Application ID' } },
  { value: 'service_account', label: { ja: '決済サービスとそのアカウントID', en: 'Payment service and account ID' } },
];

export function Inquiry() {
  const s = useSignal(session)!;
  const [by, setBy] = useState<By>('mykey_id');
  const [mykey, setMykey] = useState('');
  const [app, setApp] = useState('');
  const [service, setService] = useState('');
  const [account, setAccount] = useState('');
  const [answer, setAnswer] = useState<{ a: Answer; at: string } | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setAnswer(null);
    void act.run(async () => {
      const body: components['schemas']['InquiryRequest'] =
        by === 'mykey_id' ? { mykey_id: mykey.trim() } : by === 'application_id' ? { application_id: app.trim() } : { service_code: service.trim(), service_account_id: account.trim() };
      const a = await ok(api.POST('/v1/ops/mynapoint/inquiries', { body }));
      setAnswer({ a, at: new Date().toISOString() });
    });
  };
  return (
    <Page title={{ ja: '申込の照会', en: 'Application inquiry' }}>
      <div class="notice audited-box">
        <p>
          <strong>{tr({ ja: 'この照会は監査記録に残ります。', en: 'This lookup is recorded in the audit trail.' })}</strong>{' '}
          {tr({
            ja: `照会者（${s.staffId}）、日時、照会した値、見つかった人が記録されます（アカウントIDはそのままでは記録されません）。業務上必要な場合だけ照会してください。`,
            en: `Who (${s.staffId}), when, what was asked and whom it found are recorded (an account ID only as a digest). Look people up only when your work needs it.`,
          })}
        </p>
      </div>
      <form class="form" onSubmit={submit}>
        <fieldset class="checks">
          <legend>{tr({ ja: '照会の方法', en: 'Look up by' })}</legend>
          {BY.map((b) => (
            <label class="check" key={b.value}>
              <input type="radio" name="by" value={b.value} checked={by === b.value} onChange={() => setBy(b.value)} />
              <span>{tr(b.label)}</span>
            </label>
          ))}
        </fieldset>
        {by === 'mykey_id' && (
          <Field
            label={{ ja: 'マイキーID', en: 'MyKey ID' }}
            hint={{ ja: '8文字（現在または過去のもの）。', en: '8 characters (current or former).' }}
            value={mykey}
            onValue={setMykey}
            maxLength={8}
            required
            autoCapitalize="characters"
            spellcheck={false}
          />
        )}
        {by === 'application_id' && (
          <Field label={{ ja: '申込ID', en: 'Application ID' }} hint={{ ja: 'app_ で始まるID。', en: 'Starts with app_.' }} value={app} onValue={setApp} required spellcheck={false} autoCapitalize="off" />
        )}
        {by === 'service_account' && (
          <>
            <Field label={{ ja: 'サービスコード', en: 'Service code' }} value={service} onValue={setService} required autoCapitalize="characters" spellcheck={false} />
            <Field label={{ ja: '決済サービスのアカウントID', en: 'Account ID at the service' }} value={account} onValue={setAccount} required spellcheck={false} autoCapitalize="off" />
          </>
        )}
        <Err problem={act.problem} />
        <p>
          <button type="submit" disabled={act.busy}>
            {tr({ ja: '照会する', en: 'Look up' })}
          </button>
        </p>
      </form>
      {answer && (
        <section aria-labelledby="inq-result">
          <h2 id="inq-result">{tr({ ja: '照会の結果', en: 'Result' })}</h2>
          <Status>
            {tr({
              ja: `${formatDateTime(answer.at)} の照会を監査記録に記録しました。見つかった人: ${answer.a.people.length} 人。`,
              en: `The lookup at ${formatDateTime(answer.at)} was recorded in the audit trail. People found: ${answer.a.people.length}.`,
            })}
          </Status>
          {answer.a.people.map((p, i) => (
            <div class="card" key={i}>
              <h3>
                {tr({ ja: 'マイキーID', en: 'MyKey ID' })}: {p.mykey_id ?? tr({ ja: '（失効済み）', en: '(revoked)' })}
              </h3>
              {p.applications.length === 0 ? (
                <p>{tr({ ja: '申込はありません。', en: 'No applications.' })}</p>
              ) : (
                <div class="table-wrap" tabIndex={0} role="region" aria-label={tr({ ja: '申込の一覧', en: 'Applications' })}>
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">{tr({ ja: '申込', en: 'Application' })}</th>
                        <th scope="col">{tr({ ja: '施策', en: 'Measure' })}</th>
                        <th scope="col">{tr({ ja: 'サービス', en: 'Service' })}</th>
                        <th scope="col">{tr({ ja: '状態', en: 'State' })}</th>
                        <th scope="col">{tr({ ja: 'ポイント（付与/上限）', en: 'Points (granted/cap)' })}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {p.applications.map((a) => (
                        <tr key={a.application_id} class={a.matched ? 'matched' : ''}>
                          <td>
                            <code class="break">{a.application_id}</code>
                            {a.matched && <span class="badge state-published">{tr({ ja: '照会対象', en: 'Matched' })}</span>}
                            <br />
                            <span class="hint">{formatDateTime(a.created_at)}</span>
                          </td>
                          <td>{word(MEASURES, a.measure)}</td>
                          <td>
                            {a.service_code}
                            <br />
                            <span class="hint">{a.service_account_hint}</span>
                          </td>
                          <td>
                            {word(APP_STATES, a.state)}
                            {a.reason && ` (${a.reason})`}
                          </td>
                          <td>
                            {num(a.points_granted)} / {num(a.points_cap)}
                            {a.balance !== null && a.balance !== undefined && (
                              <>
                                <br />
                                <span class="hint">{tr({ ja: `残高 ${num(a.balance)}`, en: `Balance ${num(a.balance)}` })}</span>
                              </>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </div>
          ))}
        </section>
      )}
    </Page>
  );
}
