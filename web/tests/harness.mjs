// The browser suite's harness: one platform (scripts/dev on free loopback ports, a temporary data
// directory, the built web pages), Debian's Chromium through playwright-core (never a browser
// download), axe checks and screenshots. Everything started here is stopped (whole process
// group) and every temporary file removed by `stop()`.
//
// Environment:
//   MKPF_WEB_BASE      use an already running site + platform (e.g. `vite preview` proxying to a
//                      platform) instead of starting scripts/dev; MKPF_WEB_DATA_DIR is then its data dir
//   MKPF_BIN_DIR       where mkpf-card / mkpf-admin are (default: target/debug)
//   CHROMIUM           the browser binary (default /usr/bin/chromium)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const binDir = process.env.MKPF_BIN_DIR ?? join(root, 'target/debug');
export const outDir = join(root, 'target/web');
mkdirSync(join(outDir, 'screens'), { recursive: true });

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Polls `url` until it answers 200 (at most `tries` × 100 ms), or throws with the log. */
async function waitReady(url, child, log, tries = 1200) {
  for (let i = 0; i < tries; i++) {
    if (child && child.exitCode !== null) throw new Error(`platform exited (${child.exitCode}):\n${log()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`platform not ready at ${url}:\n${log()}`);
}

/**
 * The platform with the site: `{ base, dataDir, cardDir, tokens(), card(...args), admin(...args),
 * setupResult, stop() }`. `setup({ admin })` runs before the platform starts (the embedded store
 * is one process's file: `mkpf-admin staff bootstrap` cannot open it while the platform runs);
 * its result is `setupResult`. Against an already running platform (`MKPF_WEB_BASE`) it cannot
 * run, and `setupResult` is undefined.
 */
export async function platform({ setup } = {}) {
  if (process.env.MKPF_WEB_BASE) {
    const dataDir = process.env.MKPF_WEB_DATA_DIR;
    if (!dataDir) throw new Error('MKPF_WEB_DATA_DIR must name the running platform data dir');
    return handle(process.env.MKPF_WEB_BASE, dataDir, async () => {});
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'mkpf-web-'));
  let setupResult;
  if (setup) {
    try {
      setupResult = await setup(handle('', dataDir, async () => {}));
    } catch (e) {
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }
  const port = await freePort();
  const simPort = await freePort();
  let out = '';
  const child = spawn(join(root, 'scripts/dev'), [], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MKPF_BIND: `127.0.0.1:${port}`, MKPF_SIM_BIND: `127.0.0.1:${simPort}`, MKPF_DATA_DIR: dataDir, MKPF_LOG: process.env.MKPF_LOG ?? 'warn' },
  });
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitReady(`${base}/healthz`, child, () => out.slice(-4000));
  } catch (e) {
    await stop();
    throw e;
  }
  return { ...handle(base, dataDir, stop), setupResult };
}

function handle(base, dataDir, stop) {
  const cardDir = join(dataDir, 'card-kit');
  const run = (bin, args, env = {}) =>
    execFileSync(join(binDir, bin), args, { cwd: root, env: { ...process.env, MKPF_DATA_DIR: dataDir, MKPF_CARD_DIR: cardDir, ...env }, encoding: 'utf8' });
  return {
    base,
    dataDir,
    cardDir,
    /** The local demo staff tokens by role (scripts/dev's demo seed). */
    tokens: () => JSON.parse(readFileSync(join(dataDir, 'demo-tokens.json'), 'utf8')),
    /** Runs the software card (`mkpf-card …`), returning its standard output. */
    card: (...args) => run('mkpf-card', args),
    /** Runs the operator CLI (`mkpf-admin …`) on the platform's data. */
    admin: (...args) => run('mkpf-admin', args),
    stop,
  };
}

/** Debian's Chromium, headless. */
export async function browser() {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`${executablePath} missing: apt-get install -y chromium`);
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export const PHONE = { width: 360, height: 800 };
export const DESKTOP = { width: 1280, height: 900 };

/** A fresh browser context (its own storage) and page, at phone width unless told. */
export async function page(b, viewport = PHONE, locale = 'ja-JP') {
  const ctx = await b.newContext({ viewport, locale, timezoneId: 'Asia/Tokyo' });
  const p = await ctx.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  p.errors = errors;
  return p;
}

const axeResults = [];

/** Runs axe on the page as it is; throws on any serious or critical violation. */
export async function axe(p, name) {
  const r = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeResults.push({ page: name, url: p.url(), violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) });
  writeFileSync(join(outDir, `axe-${process.pid}.json`), JSON.stringify(axeResults, null, 2));
  if (bad.length) {
    throw new Error(`axe on ${name}: ${bad.map((v) => `${v.impact} ${v.id} (${v.nodes.map((n) => n.target.join(' ')).join(', ')}): ${v.help}`).join('\n')}`);
  }
  return r;
}

/** Screenshots of the page at phone and desktop widths: target/web/screens/<name>-{phone,desktop}.png. */
export async function shots(p, name) {
  const before = p.viewportSize();
  const files = [];
  for (const [label, vp] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await p.setViewportSize(vp);
    const file = join(outDir, 'screens', `${name}-${label}.png`);
    await p.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  if (before) await p.setViewportSize(before);
  return files;
}
