// Hash routes (#/path): static hosting needs no rewrite rules, and a reload keeps the page.
import { signal, useSignal } from './signal';

export const route = signal(current());

function current(): string {
  const h = location.hash.replace(/^#/, '');
  return h.startsWith('/') ? h : '/';
}

addEventListener('hashchange', () => route.set(current()));

export function navigate(path: string) {
  location.hash = `#${path}`;
}

export function useRoute(): string {
  return useSignal(route);
}

/** Matches `pattern` ("/measures/:id") against `path`: the parameters, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const a = path.split('?')[0]!.split('/');
  if (p.length !== a.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(':')) out[seg.slice(1)] = decodeURIComponent(a[i]!);
    else if (seg !== a[i]) return null;
  }
  return out;
}
