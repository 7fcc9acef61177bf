// Small shared pieces: page heading (title + focus for screen readers on navigation), the error
// box (role=alert), the language switch, a busy button.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Problem } from './api';
import { lang, setLang, tr, type Text } from './i18n';
import { problemText, type Messages } from './problems';
import { useSignal } from './signal';

export function PageTitle({ text, site }: { text: Text; site: Text }) {
  useSignal(lang);
  const h = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${tr(text)} | ${tr(site)}`;
    h.current?.focus();
  }, [text.ja, lang.get()]);
  return (
    <h1 tabIndex={-1} ref={h}>
      {tr(text)}
    </h1>
  );
}

export function ErrorBox({ problem, messages }: { problem: Problem | null; messages?: Messages }) {
  if (!problem) return null;
  return (
    <div class="error" role="alert">
      {problemText(problem, messages)}
    </div>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

export function LangSwitch() {
  const l = useSignal(lang);
  return (
    <button type="button" class="lang" onClick={() => setLang(l === 'ja' ? 'en' : 'ja')} lang={l === 'ja' ? 'en' : 'ja'}>
      {l === 'ja' ? 'English' : '日本語'}
    </button>
  );
}
