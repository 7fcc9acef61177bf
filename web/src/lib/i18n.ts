// Japanese first, English switchable. The choice (not personal data) is kept in localStorage;
// <html lang> follows it so screen readers use the right voice.
import { signal } from './signal';

export type Lang = 'ja' | 'en';

const saved = (() => {
  try {
    return localStorage.getItem('mkpf.lang');
  } catch {
    return null;
  }
})();

export const lang = signal<Lang>(saved === 'en' ? 'en' : 'ja');

export function setLang(l: Lang) {
  lang.set(l);
  try {
    localStorage.setItem('mkpf.lang', l);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.lang = l;
}
document.documentElement.lang = lang.get();

/** A text in both languages. */
export type Text = { ja: string; en: string };

/** The text in the current language. */
export function tr(t: Text): string {
  return t[lang.get()];
}
