// The problem codes of the routes the console calls (docs/api.md, *Problem codes*, and the
// Mynapoint sections of docs/mynapoint.md), in plain words for staff. The test suite checks that
// every code of those routes has an entry.
import type { Messages } from '../lib/problems';

export const consoleProblems: Messages = {
  // requests
  malformed_json: { ja: '送信内容を読み取れませんでした。もう一度お試しください。', en: 'The request could not be read. Please try again.' },
  invalid_field: { ja: '入力内容に誤りがあります。', en: 'Something you entered is not valid.' },
  payload_too_large: { ja: 'ファイルまたは入力が大きすぎます。', en: 'The file or text is too large.' },
  unsupported_media_type: { ja: 'このファイル形式は受け付けられません。', en: 'This kind of file is not accepted here.' },
  body_unreadable: { ja: '送信が途中で切れました。もう一度お試しください。', en: 'The upload was cut off. Please try again.' },
  invalid_query: { ja: '検索条件に誤りがあります。', en: 'The search conditions are not valid.' },
  invalid_cursor: { ja: '一覧の続きを読めませんでした。最初から表示し直してください。', en: 'Could not continue the list. Please reload it from the start.' },
  invalid_if_match: { ja: '版の指定に誤りがあります。画面を読み込み直してください。', en: 'The version sent is not valid. Please reload the page.' },
  route_not_found: { ja: '対象が見つかりません。', en: 'Not found.' },
  code_not_found: { ja: '対象が見つかりません。', en: 'Not found.' },
  method_not_allowed: { ja: 'この操作はできません。', en: 'This operation is not available.' },
  // sign-in and access
  authentication_required: { ja: 'サインインしてください。', en: 'Please sign in.' },
  token_invalid: { ja: 'もう一度サインインしてください。', en: 'Please sign in again.' },
  token_expired: { ja: 'サインインの有効期限が切れました。もう一度サインインしてください。', en: 'Your sign-in has expired. Please sign in again.' },
  session_ended: { ja: 'このセッションは終了しました。もう一度サインインしてください。', en: 'This session has ended. Please sign in again.' },
  forbidden: { ja: 'あなたの役割ではこの操作はできません。', en: 'Your role does not allow this.' },
  password_change_required: { ja: '先にパスワードを変更してください。', en: 'Please change your password first.' },
  totp_enrolment_required: { ja: '先に認証アプリを登録してください。', en: 'Please set up your authenticator app first.' },
  credentials_invalid: { ja: '職員IDまたはパスワードが違います。', en: 'The staff ID or password is wrong.' },
  totp_required: {
    ja: '認証アプリの確認コード（6桁）を入力してください。',
    en: 'Enter the 6-digit code from your authenticator app.',
  },
  totp_invalid: { ja: '確認コードが違います。認証アプリに表示されている最新のコードを入力してください。', en: 'The code is wrong. Enter the current code shown in your authenticator app.' },
  totp_replayed: {
    ja: 'この確認コードは使用済みです。次のコードが表示されるまで待ってから入力してください。',
    en: 'This code has already been used. Wait for the next code and enter that.',
  },
  account_locked: {
    ja: '失敗が続いたため、アカウントは15分間ロックされています。時間をおいてお試しください。',
    en: 'Too many failed attempts: the account is locked for 15 minutes. Please try again later.',
  },
  municipality_forbidden: { ja: '他の自治体の情報は見られません。', en: "You cannot see another municipality's data." },
  municipality_not_found: { ja: '自治体コードが正しくありません（6桁の全国地方公共団体コード）。', en: 'Not a valid municipality code (6-digit local government code).' },
  // staff accounts
  staff_exists: { ja: 'この職員IDはすでに使われています。', en: 'This staff ID is already taken.' },
  staff_not_found: { ja: 'この職員IDのアカウントはありません。', en: 'No account has this staff ID.' },
  self_action_forbidden: { ja: '自分自身のアカウントはリセット・無効化できません。', en: 'You cannot reset or disable your own account.' },
  account_changed: { ja: 'アカウントが同時に変更されました。もう一度お試しください。', en: 'The account changed at the same time. Please try again.' },
  totp_already_enrolled: {
    ja: '認証アプリはすでに登録されています。登録し直すには運用者にリセットを依頼してください。',
    en: 'An authenticator is already set up. Ask an operator to reset it to set up a new one.',
  },
  totp_enrolment_not_started: { ja: '認証アプリの登録を最初からやり直してください。', en: 'Please start the authenticator setup again.' },
  already_bootstrapped: { ja: '最初の運用者はすでに作成されています。', en: 'The first operator already exists.' },
  // idempotency and versions
  idempotency_key_required: { ja: '送信に必要な情報が不足しています。画面を読み込み直してください。', en: 'The request lacks a key. Please reload the page.' },
  idempotency_key_invalid: { ja: '送信に必要な情報が正しくありません。画面を読み込み直してください。', en: 'The request key is not valid. Please reload the page.' },
  idempotency_key_reused: {
    ja: '同じ操作として別の内容が送られました。画面を読み込み直してから入力し直してください。',
    en: 'A different request was sent as the same action. Reload the page and enter it again.',
  },
  idempotency_in_progress: { ja: '前の送信を処理中です。少し待ってからもう一度お試しください。', en: 'The previous request is still being processed. Please try again in a moment.' },
  version_mismatch: {
    ja: '他の人が先に変更しました。最新の内容を読み込み直してから、もう一度操作してください。',
    en: 'Someone else changed this first. Reload the latest version and try again.',
  },
  // notices
  notice_not_found: { ja: 'このお知らせは見つかりません。', en: 'This notice was not found.' },
  notice_withdrawn: { ja: 'このお知らせは取り下げ済みのため、変更できません。', en: 'This notice was withdrawn and can no longer change.' },
  // CRLs and linkage feeds
  crl_malformed: { ja: 'CRL（DER形式）として読み取れませんでした。', en: 'The file is not a DER CRL.' },
  crl_untrusted: { ja: 'このCRLは信頼するルート認証局が署名したものではありません。', en: 'The CRL is not signed by a trusted root.' },
  crl_expired: { ja: 'このCRLは有効期限（nextUpdate）を過ぎています。', en: 'The CRL is past its nextUpdate.' },
  crl_not_yet_valid: { ja: 'このCRLはまだ有効期間前です（thisUpdate が未来）。', en: 'The CRL is not valid yet (thisUpdate is in the future).' },
  crl_profile: { ja: 'このCRLの形式（署名アルゴリズム、nextUpdate、拡張）は受け付けられません。', en: 'The CRL has an unacceptable profile (signature algorithm, nextUpdate, extensions).' },
  crl_scoped: { ja: 'ルート認証局の完全なCRLではありません（差分CRLなど）。', en: "This is not the root's complete CRL (a delta CRL or a scoped one)." },
  crl_older: { ja: 'より新しいCRLがすでに取り込まれています。', en: 'A newer CRL of this root is already imported.' },
  linkage_feed_invalid: { ja: '更新連携ファイルの形式が正しくありません。ファイル全体を受け付けませんでした。', en: 'The linkage feed is not in the documented format; the whole file was refused.' },
  linkage_feed_not_found: { ja: 'この取込IDの更新連携ファイルはありません。', en: 'No linkage feed import has this id.' },
  // Mynapoint catalogue
  provider_exists: { ja: 'この事業者IDはすでに使われています。', en: 'This provider ID is already taken.' },
  provider_not_found: { ja: 'この事業者は見つかりません。', en: 'This provider was not found.' },
  provider_unknown: { ja: '指定した事業者は登録されていません。', en: 'The provider named is not registered.' },
  too_many_secrets: {
    ja: '有効な署名鍵が多すぎます（最大4つ）。古い鍵が失効してから更新してください。',
    en: 'Too many active secrets (at most four). Rotate again once older ones retire.',
  },
  secret_rotation_conflict: { ja: '同時に鍵の更新が行われました。もう一度お試しください。', en: 'Another rotation happened at the same time. Please try again.' },
  service_exists: { ja: 'このサービスコードはすでに使われています。', en: 'This service code is already taken.' },
  service_not_found: { ja: 'この決済サービスは見つかりません。', en: 'This payment service was not found.' },
  service_withdrawn: { ja: 'この決済サービスは撤退済みのため、受付状態は変更できません。', en: 'This service has withdrawn; its intake can no longer change.' },
  endpoint_not_allowed: {
    ja: 'この送信先URLは使えません（インターネット上の https:// のアドレスを指定してください）。',
    en: 'This endpoint is not allowed (use an https:// address on the public internet).',
  },
  measure_unknown: { ja: 'この施策はありません。', en: 'There is no such measure.' },
  measure_not_configured: { ja: 'この施策はまだ設定されていません。「未設定の施策を設定」を行ってください。', en: 'This measure is not configured yet. Use "Configure missing measures" first.' },
  measure_already_suspended: { ja: 'この施策はすでに停止中です。', en: 'This measure is already suspended.' },
  measure_not_suspended: { ja: 'この施策は停止されていません。', en: 'This measure is not suspended.' },
  // eligibility feeds and reports
  eligibility_kind_unknown: { ja: 'この種類の資格ファイルはありません。', en: 'There is no eligibility feed of this kind.' },
  eligibility_feed_invalid: { ja: '資格ファイルの形式が正しくありません。ファイル全体を受け付けませんでした。', en: 'The eligibility feed is not in the documented format; the whole file was refused.' },
  eligibility_feed_not_found: { ja: 'この取込IDの資格ファイルはありません。', en: 'No eligibility feed import has this id.' },
  report_not_found: { ja: 'この期間のレポートはありません。', en: 'There is no report for this period.' },
  report_part_not_found: { ja: 'レポートのこの分割部分はありません。', en: 'This part of the report does not exist.' },
  report_too_large: { ja: 'レポートが大きいため、分割部分ごとにダウンロードしてください。', en: 'The report is large: download it part by part.' },
  report_busy: { ja: 'このレポートは作成中です。しばらくしてからお試しください。', en: 'This report is being written. Please try again later.' },
  // the platform
  service_unavailable: { ja: 'ただいまサービスを利用できません。時間をおいてお試しください。', en: 'The service is unavailable right now. Please try again later.' },
  internal_error: { ja: 'システムで問題が起きました。問い合わせ番号を添えて連絡してください。', en: 'Something went wrong on our side. Quote the reference when you report it.' },
  rate_limited: { ja: 'アクセスが集中しています。しばらく待ってからお試しください。', en: 'Too many requests. Please wait a moment and try again.' },
  network_error: { ja: '通信できませんでした。接続を確認して、もう一度お試しください。', en: 'Could not reach the service. Check your connection and try again.' },
};

/** Codes whose `detail` names a field or a line: the console shows it as a supplement. */
export const detailed = new Set([
  'invalid_field',
  'invalid_query',
  'linkage_feed_invalid',
  'eligibility_feed_invalid',
  'account_locked',
  'crl_profile',
  'crl_scoped',
]);
