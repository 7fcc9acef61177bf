// Problem codes (the API's stable `code`s) in words a person understands, never raw JSON. Each
// side (citizen site, console) passes its own table; codes not in it fall back to the common
// ones here, then to a generic sentence with the request id for the help desk.
import type { Problem } from './api';
import { tr, type Text } from './i18n';

export type Messages = Record<string, Text>;

const common: Messages = {
  network_error: {
    ja: '通信できませんでした。接続を確認して、もう一度お試しください。',
    en: 'Could not reach the service. Check your connection and try again.',
  },
  rate_limited: {
    ja: 'アクセスが集中しています。しばらく待ってから、もう一度お試しください。',
    en: 'Too many requests right now. Please wait a moment and try again.',
  },
  service_unavailable: {
    ja: 'ただいまサービスを利用できません。時間をおいてお試しください。',
    en: 'The service is unavailable right now. Please try again later.',
  },
  unauthorized: { ja: 'もう一度サインインしてください。', en: 'Please sign in again.' },
  forbidden: { ja: 'この操作は許可されていません。', en: 'You are not allowed to do this.' },
  invalid_field: { ja: '入力内容を確認してください。', en: 'Please check what you entered.' },
  route_not_found: { ja: 'ページが見つかりません。', en: 'Not found.' },
};

/** The sentence for a problem; `request_id` is appended so a help desk can find the case. */
export function problemText(p: Problem, table: Messages = {}): string {
  const code = p.code ?? '';
  const m = table[code] ?? common[code];
  const base = m
    ? tr(m)
    : p.status && p.status >= 500
      ? tr(common.service_unavailable!)
      : tr({ ja: 'うまくいきませんでした。もう一度お試しください。', en: 'Something went wrong. Please try again.' });
  const field = p.errors?.[0]?.field;
  const withField = field && code === 'invalid_field' ? `${base} (${field})` : base;
  return p.request_id ? `${withField} [${tr({ ja: '問い合わせ番号', en: 'Reference' })}: ${p.request_id}]` : withField;
}
