// Names of the platform's values in plain words (roles, states, measures, kinds).
import { tr, type Text } from '../lib/i18n';

export const ROLES: Record<string, Text> = {
  operator: { ja: '運用者', en: 'Operator' },
  municipal_staff: { ja: '自治体職員', en: 'Municipal staff' },
  auditor: { ja: '監査担当', en: 'Auditor' },
  patch_approver: { ja: 'データ修正承認者', en: 'Patch approver' },
};

export const MEASURES: Record<string, Text> = {
  card_acquisition: { ja: 'マイナンバーカードの新規取得等', en: 'Card acquisition' },
  health_insurance: { ja: '健康保険証としての利用登録', en: 'Health insurance registration' },
  public_funds_account: { ja: '公金受取口座の登録', en: 'Public funds account registration' },
};

export const NOTICE_STATES: Record<string, Text> = {
  scheduled: { ja: '掲載予定', en: 'Scheduled' },
  published: { ja: '掲載中', en: 'Published' },
  expired: { ja: '掲載終了', en: 'Expired' },
  withdrawn: { ja: '取り下げ', en: 'Withdrawn' },
};

export const SEVERITIES: Record<string, Text> = {
  info: { ja: 'お知らせ', en: 'Information' },
  important: { ja: '重要', en: 'Important' },
};

export const INTAKES: Record<string, Text> = {
  accepting: { ja: '受付中', en: 'Accepting' },
  intake_closed: { ja: '受付終了', en: 'Intake closed' },
  withdrawn: { ja: '撤退（最終）', en: 'Withdrawn (final)' },
};

export const KINDS: Record<string, Text> = {
  e_money: { ja: '電子マネー', en: 'E-money' },
  qr_code: { ja: 'QRコード決済', en: 'QR code payment' },
  credit_card: { ja: 'クレジットカード', en: 'Credit card' },
  debit_card: { ja: 'デビットカード', en: 'Debit card' },
  prepaid: { ja: 'プリペイド', en: 'Prepaid' },
};

export const APP_STATES: Record<string, Text> = {
  submitted: { ja: '申込受付', en: 'Submitted' },
  dispatched: { ja: '事業者へ送信済み', en: 'Sent to provider' },
  accepted: { ja: '事業者が受付', en: 'Accepted' },
  rejected: { ja: '事業者が却下', en: 'Rejected' },
  stopped: { ja: '連携停止', en: 'Stopped' },
};

export const FEED_KINDS: Record<string, Text> = {
  health_insurance: { ja: '健康保険証の利用登録', en: 'Health insurance registrations' },
  public_funds_account: { ja: '公金受取口座の登録', en: 'Public funds account registrations' },
  phase1_points: { ja: '第1弾ポイントの受取実績', en: 'Phase-1 points received' },
};

export const STAFF_STATUS: Record<string, Text> = {
  active: { ja: '有効', en: 'Active' },
  disabled: { ja: '無効', en: 'Disabled' },
};

/** The word for `v` in `table`, or `v` itself. */
export function word(table: Record<string, Text>, v: string | null | undefined): string {
  if (!v) return '';
  const t = table[v];
  return t ? tr(t) : v;
}

export function roleList(roles: string[]): string {
  return roles.map((r) => word(ROLES, r)).join(tr({ ja: '、', en: ', ' }));
}
