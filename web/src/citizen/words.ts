// Names the citizen pages show for the platform's identifiers.
import { tr, type Text } from '../lib/i18n';

export const SITE: Text = { ja: 'マイキープラットフォーム', en: 'MyKey Platform' };

const measures: Record<string, Text> = {
  card_acquisition: { ja: 'マイナンバーカードの新規取得等', en: 'Getting a My Number Card' },
  health_insurance: { ja: '健康保険証としての利用申込み', en: 'Using the card as a health-insurance card' },
  public_funds_account: { ja: '公金受取口座の登録', en: 'Registering a public-funds account' },
};

export function measureName(id: string, fallback?: string): string {
  const m = measures[id];
  return m ? tr(m) : (fallback ?? id);
}

const kinds: Record<string, Text> = {
  e_money: { ja: '電子マネー', en: 'E-money' },
  qr_code: { ja: 'QRコード決済', en: 'QR code payment' },
  credit_card: { ja: 'クレジットカード', en: 'Credit card' },
  debit_card: { ja: 'デビットカード', en: 'Debit card' },
  prepaid: { ja: 'プリペイドカード', en: 'Prepaid card' },
};

export function kindName(id: string): string {
  const k = kinds[id];
  return k ? tr(k) : id;
}

const states: Record<string, { name: Text; help: Text }> = {
  submitted: {
    name: { ja: '受付済み', en: 'Received' },
    help: { ja: '決済事業者へお送りしています。', en: 'Being sent to the payment provider.' },
  },
  dispatched: {
    name: { ja: '決済事業者で確認中', en: 'Being checked by the provider' },
    help: { ja: '決済事業者が内容を確認しています。', en: 'The payment provider is checking it.' },
  },
  accepted: {
    name: { ja: '申込み完了', en: 'Accepted' },
    help: { ja: 'チャージやお買い物をすると、上限までポイントが付与されます。', en: 'Points are granted, up to the cap, as you charge or shop.' },
  },
  rejected: {
    name: { ja: '申込みが受け付けられませんでした', en: 'Not accepted' },
    help: { ja: '内容を確かめて、もう一度申し込むことができます。', en: 'Check the details; you may apply again.' },
  },
  stopped: {
    name: { ja: '連携停止', en: 'Link stopped' },
    help: { ja: '決済サービスとの連携が止まりました。', en: 'The link with the payment service has stopped.' },
  },
};

export function stateName(s: string): string {
  const x = states[s];
  return x ? tr(x.name) : s;
}

export function stateHelp(s: string): string {
  const x = states[s];
  return x ? tr(x.help) : '';
}

const reasons: Record<string, Text> = {
  account_mismatch: { ja: '決済サービスIDがご本人のものと確認できませんでした', en: 'The service account could not be confirmed as yours' },
  codes_invalid: { ja: 'セキュリティコードが正しくありませんでした', en: 'The security codes were not correct' },
  account_closed: { ja: '決済サービスのアカウントが解約されています', en: 'The service account is closed' },
  death: { ja: 'ご本人の死亡の届出がありました', en: 'A death was reported' },
  other: { ja: 'その他の理由', en: 'Other reason' },
};

export function reasonName(r: string | null): string {
  if (!r) return '';
  const x = reasons[r];
  return x ? tr(x) : r;
}

const certStates: Record<string, Text> = {
  valid: { ja: '有効', en: 'Valid' },
  expired: { ja: '期限切れ', en: 'Expired' },
  revoked: { ja: '失効', en: 'Revoked' },
};

export function certStateName(s: string): string {
  const x = certStates[s];
  return x ? tr(x) : s;
}

/** 5000 → "5,000" (ja) / "5,000" (en). */
export function points(n: number): string {
  return n.toLocaleString('ja-JP');
}
