// Every problem code the citizen flows can meet (docs/api.md, docs/card-handoff.md,
// docs/mynapoint.md), in plain words. Codes not here fall back to lib/problems' common ones.
import type { Problem } from '../lib/api';
import { tr } from '../lib/i18n';
import { problemText, type Messages } from '../lib/problems';
import { formatDateTime } from '../lib/time';

const signInAgain = { ja: 'もう一度サインインしてください。', en: 'Please sign in again.' };

export const citizenProblems: Messages = {
  // Requests in general.
  malformed_json: { ja: '送信内容を読み取れませんでした。ページを読み込み直してください。', en: 'We could not read what was sent. Please reload the page.' },
  invalid_field: { ja: '入力内容を確認してください。', en: 'Please check what you entered.' },
  payload_too_large: { ja: '送信内容が大きすぎます。', en: 'What you sent is too large.' },
  unsupported_media_type: { ja: '送信の形式が正しくありません。ページを読み込み直してください。', en: 'The request was in the wrong format. Please reload the page.' },
  body_unreadable: { ja: '送信が途中で途切れました。もう一度お試しください。', en: 'The request was cut off. Please try again.' },
  invalid_query: { ja: '検索の条件が正しくありません。', en: 'The search conditions are not valid.' },
  route_not_found: { ja: 'この機能は現在利用できません。', en: 'This feature is not available right now.' },
  method_not_allowed: { ja: 'この操作は利用できません。', en: 'This action is not available.' },
  service_unavailable: { ja: 'ただいま混み合っているか、サービスを利用できません。少し待ってからお試しください。', en: 'The service is busy or unavailable. Please wait a little and try again.' },
  internal_error: { ja: 'システムで問題が起きました。時間をおいてお試しください。続く場合は問い合わせ番号をお伝えください。', en: 'Something went wrong on our side. Please try again later; if it continues, quote the reference.' },
  network_error: { ja: '通信できませんでした。接続を確認して、もう一度お試しください。', en: 'Could not reach the service. Check your connection and try again.' },
  rate_limited: { ja: '短い時間に操作が集中しました。1分ほど待ってから、もう一度お試しください。', en: 'Too many attempts in a short time. Please wait about a minute and try again.' },

  // Signing in and the session.
  authentication_required: { ja: 'サインインが必要です。', en: 'You need to sign in.' },
  token_invalid: signInAgain,
  token_expired: { ja: 'サインインの有効期限が切れました。もう一度サインインしてください。', en: 'Your sign-in has expired. Please sign in again.' },
  session_ended: { ja: 'サインアウトされています。もう一度サインインしてください。', en: 'You have been signed out. Please sign in again.' },
  forbidden: { ja: 'この操作は許可されていません。', en: 'You are not allowed to do this.' },
  handoff_unknown: {
    ja: 'このサインインの受付は見つかりませんでした。最初からやり直してください。',
    en: 'This sign-in could not be found. Please start again.',
  },
  handoff_expired: {
    ja: 'コードの有効期限（5分）が切れました。最初からやり直してください。',
    en: 'The code has expired (it lasts 5 minutes). Please start again.',
  },
  handoff_used: {
    ja: 'このコードはすでに使われています。最初からやり直してください。',
    en: 'This code has already been used. Please start again.',
  },
  challenge_unknown: { ja: 'サインインの受付が見つかりません。最初からやり直してください。', en: 'The sign-in request was not found. Please start again.' },
  challenge_expired: { ja: 'サインインの有効期限が切れました。最初からやり直してください。', en: 'The sign-in request has expired. Please start again.' },
  challenge_used: { ja: 'このサインインはすでに使われています。最初からやり直してください。', en: 'This sign-in request was already used. Please start again.' },
  certificate_malformed: { ja: 'カードの電子証明書を読み取れませんでした。', en: 'The card’s certificate could not be read.' },
  certificate_untrusted: { ja: 'このカードの電子証明書は確認できませんでした。', en: 'The card’s certificate could not be verified.' },
  certificate_expired: { ja: 'カードの電子証明書の有効期限が切れています。市区町村の窓口で更新してください。', en: 'The card’s certificate has expired. Renew it at your municipal office.' },
  certificate_not_yet_valid: { ja: 'カードの電子証明書はまだ使えません。', en: 'The card’s certificate is not valid yet.' },
  certificate_profile: { ja: 'このカードの電子証明書はサインインに使えません。', en: 'This card’s certificate cannot be used to sign in.' },
  certificate_revoked: { ja: 'カードの電子証明書は失効しています。市区町村の窓口にご相談ください。', en: 'The card’s certificate has been revoked. Please ask your municipal office.' },
  signature_invalid: { ja: 'カードの署名を確認できませんでした。最初からやり直してください。', en: 'The card’s signature could not be verified. Please start again.' },
  card_auth_unavailable: { ja: 'ただいまカードでのサインインを利用できません。', en: 'Card sign-in is not available right now.' },
  revocation_unavailable: { ja: 'ただいまカードの有効性を確認できません。少し待ってからお試しください。', en: 'We cannot check the card’s validity right now. Please try again shortly.' },

  // MyKey ID.
  person_lapsed: {
    ja: 'お使いのカードの電子証明書が有効ではないため、この操作はできません。有効なカードでサインインし直してください。',
    en: 'You cannot do this because your card’s certificate is no longer valid. Sign in again with a valid card.',
  },
  certificate_link_pending: {
    ja: 'カードが最近発行・更新されたため、以前のカードとの確認が終わるまでお待ちください。',
    en: 'Your card was issued or renewed recently. Please wait until it has been matched with your earlier card.',
  },
  mykey_id_taken: { ja: 'そのマイキーIDは使えません（他の人が使っているか、過去に使われました）。別のIDを選んでください。', en: 'That MyKey ID is not available (someone has or had it). Please choose another.' },
  mykey_id_absent: { ja: 'マイキーIDがありません。先に作成してください。', en: 'You have no MyKey ID. Please create one first.' },
  mykey_id_changed: { ja: 'マイキーIDが別の操作で変わりました。表示を更新してから、もう一度お試しください。', en: 'Your MyKey ID was changed by another action. Refresh and try again.' },
  mykey_id_required: { ja: '申込みにはマイキーIDが必要です。先にマイキーIDを作成してください。', en: 'You need a MyKey ID to apply. Please create one first.' },

  // Mynapoint.
  idempotency_key_required: { ja: '送信に必要な情報が足りません。ページを読み込み直してください。', en: 'Something needed to send was missing. Please reload the page.' },
  idempotency_key_invalid: { ja: '送信に必要な情報が正しくありません。ページを読み込み直してください。', en: 'Something needed to send was not valid. Please reload the page.' },
  idempotency_key_reused: { ja: '前回と違う内容で送信されました。もう一度「申し込む」を押してください。', en: 'This differs from what was sent before. Please press “Apply” again.' },
  idempotency_in_progress: { ja: '前の送信を処理しています。少し待ってから、もう一度お試しください。', en: 'Your previous submission is still being processed. Please wait a moment.' },
  measure_unknown: { ja: 'この施策は受け付けていません。', en: 'This programme is not available.' },
  measure_closed: { ja: 'この施策は現在申込みを受け付けていません。', en: 'This programme is not taking applications now.' },
  service_unknown: { ja: 'この決済サービスは見つかりませんでした。一覧から選び直してください。', en: 'This payment service was not found. Please choose one from the list.' },
  service_not_accepting: { ja: 'この決済サービスは現在この施策の申込みを受け付けていません。別のサービスを選んでください。', en: 'This payment service is not taking applications for this programme now. Please choose another.' },
  security_codes_invalid: { ja: 'セキュリティコードが決済サービスの決まりに合っていません。桁数と文字の種類を確認してください。', en: 'The security codes do not follow the service’s rules. Check the length and the kind of characters.' },
  phase1_cap_reached: { ja: '第1弾で上限までポイントを受け取っているため、この施策には申し込めません。', en: 'You already received the maximum points in phase 1, so you cannot apply for this programme.' },
  health_insurance_not_registered: { ja: '健康保険証としての利用申込みが確認できません。登録が済んでから申し込んでください。', en: 'We cannot find your health-insurance registration. Please apply after registering.' },
  public_funds_account_not_registered: { ja: '期限までの公金受取口座の登録が確認できません。', en: 'We cannot find a public-funds account registered by the deadline.' },
  already_applied: { ja: 'この施策にはすでに申し込んでいます（1つの施策に申し込めるのは1回です）。', en: 'You have already applied for this programme (one application per programme).' },
  service_account_taken: { ja: 'この決済サービスIDは、この施策ですでに別の方が使っています。ご本人の決済サービスIDを入力してください。', en: 'This service account is already used for this programme by someone else. Enter your own account.' },
  application_unknown: { ja: 'この申込みは見つかりませんでした。', en: 'This application was not found.' },
};

/** Field names the platform puts at the start of an `invalid_field` detail, in words. */
const fields: Messages = {
  mykey_id: { ja: 'マイキーID', en: 'MyKey ID' },
  measure: { ja: '施策', en: 'Programme' },
  service_code: { ja: '決済サービス', en: 'Payment service' },
  service_account_id: { ja: '決済サービスID', en: 'Service account ID' },
  security_codes: { ja: 'セキュリティコード', en: 'Security code' },
  browser_secret: { ja: 'サインイン', en: 'Sign-in' },
};

/** The sentence for a problem on a citizen page (never the raw JSON), with the request id last. */
export function citizenProblemText(p: Problem & { retry_at?: string }): string {
  let text = problemText({ ...p, request_id: undefined }, citizenProblems);
  if (p.code === 'invalid_field' && p.detail) {
    const f = /^([a-z_]+)(\[\d+\])?:/.exec(p.detail)?.[1];
    const label = f ? fields[f] : undefined;
    if (label) text = `${tr(label)}: ${text}`;
  }
  if (p.code === 'certificate_link_pending' && p.retry_at) {
    text += ` ${tr({ ja: '手続きができるようになる日時', en: 'You can go ahead from' })}: ${formatDateTime(p.retry_at)}`;
  }
  if (p.request_id) text += ` [${tr({ ja: '問い合わせ番号', en: 'Reference' })}: ${p.request_id}]`;
  return text;
}
