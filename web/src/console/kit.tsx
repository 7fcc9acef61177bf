// The console's building blocks: page frame, error box (problem codes in words, role=alert),
// form fields with labels and hints, loading state, one-time secrets with a copy button, an
// inline confirmation, and JST date helpers.
import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import type { Problem } from '../lib/api';
import { lang, tr, type Text } from '../lib/i18n';
import { problemText } from '../lib/problems';
import { signal, useSignal } from '../lib/signal';
import { PageTitle } from '../lib/ui';
import { consoleProblems, detailed } from './problems';

export const SITE: Text = { ja: '管理コンソール', en: 'Staff console' };

/** A page: its heading (focused on arrival) and content. */
export function Page({ title, children, lead }: { title: Text; children?: ComponentChildren; lead?: Text }) {
  return (
    <>
      <PageTitle text={title} site={SITE} />
      {lead && <p class="lead">{tr(lead)}</p>}
      {children}
    </>
  );
}

/** A problem in words (never JSON); for codes naming a field or line, the platform's detail too. */
export function Err({ problem }: { problem: Problem | null | undefined }) {
  useSignal(lang);
  if (!problem) return null;
  const extra = problem.code && detailed.has(problem.code) && problem.detail ? problem.detail : null;
  return (
    <div class="error" role="alert">
      <p>{problemText(problem, consoleProblems)}</p>
      {extra && (
        <p class="detail">
          {tr({ ja: '詳細', en: 'Detail' })}: <span lang="en">{extra}</span>
        </p>
      )}
    </div>
  );
}

/** A success or progress message read out politely. */
export function Status({ children }: { children: ComponentChildren }) {
  return (
    <div class="notice" role="status">
      {children}
    </div>
  );
}

export function Loading() {
  return (
    <p role="status" class="loading">
      {tr({ ja: '読み込み中…', en: 'Loading…' })}
    </p>
  );
}

/** Loads data when `deps` change; `reload()` loads again. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(async () => {
    const n = ++seq.current;
    setLoading(true);
    setProblem(null);
    try {
      const d = await fn();
      if (n === seq.current) setData(d);
    } catch (e) {
      if (n === seq.current) setProblem(e as Problem);
    } finally {
      if (n === seq.current) setLoading(false);
    }
  }, deps);
  useEffect(() => {
    void run();
  }, [run]);
  return { data, setData, problem, loading, reload: run };
}

/** Runs an action, tracking busy state and its problem. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setProblem(null);
    try {
      return await fn();
    } catch (e) {
      setProblem(e as Problem);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, setProblem, run };
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'label' | 'value' | 'onInput'> & {
  label: Text;
  hint?: Text;
  value: string;
  onValue: (v: string) => void;
};

/** A labelled input with an optional hint (described-by). */
export function Field({ label, hint, value, onValue, ...rest }: InputProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{tr(label)}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {tr(hint)}
        </p>
      )}
      <input id={id} value={value} onInput={(e) => onValue(e.currentTarget.value)} aria-describedby={hint ? `${id}-hint` : undefined} {...rest} />
    </div>
  );
}

export function TextArea({ label, hint, value, onValue, rows = 5, required }: { label: Text; hint?: Text; value: string; onValue: (v: string) => void; rows?: number; required?: boolean }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{tr(label)}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {tr(hint)}
        </p>
      )}
      <textarea id={id} rows={rows} value={value} required={required} onInput={(e) => onValue(e.currentTarget.value)} aria-describedby={hint ? `${id}-hint` : undefined} />
    </div>
  );
}

export function Select({ label, hint, value, onValue, options }: { label: Text; hint?: Text; value: string; onValue: (v: string) => void; options: { value: string; label: Text }[] }) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{tr(label)}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {tr(hint)}
        </p>
      )}
      <select id={id} value={value} onChange={(e) => onValue(e.currentTarget.value)} aria-describedby={hint ? `${id}-hint` : undefined}>
        {options.map((o) => (
          <option value={o.value} key={o.value}>
            {tr(o.label)}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A group of checkboxes in a fieldset with a legend. */
export function Checks({ legend, hint, values, onValues, options }: { legend: Text; hint?: Text; values: string[]; onValues: (v: string[]) => void; options: { value: string; label: Text }[] }) {
  return (
    <fieldset class="checks">
      <legend>{tr(legend)}</legend>
      {hint && <p class="hint">{tr(hint)}</p>}
      {options.map((o) => (
        <label class="check" key={o.value}>
          <input
            type="checkbox"
            checked={values.includes(o.value)}
            onChange={(e) => onValues(e.currentTarget.checked ? [...values, o.value] : values.filter((v) => v !== o.value))}
          />
          <span>{tr(o.label)}</span>
        </label>
      ))}
    </fieldset>
  );
}

/** A secret shown once: the warning, the value as text and a copy button. */
export function OnceSecret({ label, value, warning }: { label: Text; value: string; warning: Text }) {
  const [copied, setCopied] = useState<null | boolean>(null);
  const ref = useRef<HTMLElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      const sel = getSelection();
      if (sel && ref.current) {
        const r = document.createRange();
        r.selectNodeContents(ref.current);
        sel.removeAllRanges();
        sel.addRange(r);
      }
      setCopied(false);
    }
  };
  return (
    <section class="secret" aria-label={tr(label)}>
      <p class="warn">
        <strong>{tr({ ja: '重要', en: 'Important' })}: </strong>
        {tr(warning)}
      </p>
      <p class="secret-label">{tr(label)}</p>
      <code class="secret-value" ref={ref} data-secret>
        {value}
      </code>
      <p>
        <button type="button" class="secondary" onClick={copy}>
          {tr({ ja: 'コピーする', en: 'Copy' })}
        </button>
      </p>
      <p role="status" class="hint">
        {copied === true && tr({ ja: 'コピーしました。', en: 'Copied.' })}
        {copied === false && tr({ ja: 'コピーできませんでした。選択した文字を Ctrl+C でコピーしてください。', en: 'Could not copy. The text is selected: press Ctrl+C.' })}
      </p>
    </section>
  );
}

/** A button that asks again inline before acting (no window.confirm). */
export function ConfirmButton({ label, question, confirmLabel, onConfirm, busy, danger }: { label: Text; question: Text; confirmLabel: Text; onConfirm: () => void; busy?: boolean; danger?: boolean }) {
  const [asking, setAsking] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking)
    return (
      <button type="button" class={danger ? 'danger' : 'secondary'} onClick={() => setAsking(true)} disabled={busy}>
        {tr(label)}
      </button>
    );
  return (
    <div class="confirm" role="group" aria-label={tr(label)}>
      <p>{tr(question)}</p>
      <button
        type="button"
        ref={yes}
        class={danger ? 'danger' : ''}
        disabled={busy}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {tr(confirmLabel)}
      </button>{' '}
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        {tr({ ja: 'やめる', en: 'Cancel' })}
      </button>
    </div>
  );
}

/** A note that a read is recorded in the audit trail. */
export function AuditedNote({ what }: { what?: Text }) {
  return (
    <p class="audited">
      <span aria-hidden="true">● </span>
      {what
        ? tr(what)
        : tr({ ja: 'この閲覧は監査記録に残ります（誰が・いつ・何を見たか）。', en: 'This read is recorded in the audit trail (who, when, what).' })}
    </p>
  );
}

export function Yes({ v }: { v: boolean }) {
  return <>{v ? tr({ ja: 'はい', en: 'Yes' }) : tr({ ja: 'いいえ', en: 'No' })}</>;
}

// ---- dates (Asia/Tokyo, which has no daylight saving time)

const JST_MS = 9 * 3600 * 1000;

/** An instant as the value of <input type="datetime-local"> in JST ("2026-12-03T09:00"). */
export function toJstInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return new Date(t + JST_MS).toISOString().slice(0, 16);
}

/** A datetime-local value read as JST, as RFC 3339 with +09:00. */
export function fromJstInput(v: string): string {
  return `${v.length === 16 ? `${v}:00` : v}+09:00`;
}

/** Today's date in JST (YYYY-MM-DD). */
export function jstToday(offsetDays = 0): string {
  return new Date(Date.now() + JST_MS + offsetDays * 86400000).toISOString().slice(0, 10);
}

/** A file download of `blob` named `name`. */
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Numbers with thousands separators. */
export function num(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString(lang.get() === 'ja' ? 'ja-JP' : 'en-GB');
}

// ---- a message carried to the next screen (e.g. "created") and shown once there

const flashText = signal<Text | null>(null);

export function flash(t: Text) {
  flashText.set(t);
}

export function Flash() {
  useSignal(lang);
  const [t] = useState(() => {
    const v = flashText.get();
    flashText.set(null);
    return v;
  });
  return t ? <Status>{tr(t)}</Status> : null;
}
