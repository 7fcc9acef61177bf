// Times are shown in Asia/Tokyo whatever the device's zone, as the platform's business dates are.
import { lang } from './i18n';

const opts: Intl.DateTimeFormatOptions = {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
};

/** "2026/12/3 21:30" (ja) or "12/3/2026, 21:30" (en), in JST. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(lang.get() === 'ja' ? 'ja-JP' : 'en-GB', { ...opts, hour12: false }).format(d);
}

/** A calendar date (YYYY-MM-DD, already a JST date) as the reader writes dates. */
export function formatDate(ymd: string | null | undefined): string {
  if (!ymd) return '';
  const [y, m, d] = ymd.split('-');
  return lang.get() === 'ja' ? `${y}年${Number(m)}月${Number(d)}日` : `${d}/${m}/${y}`;
}
