/**
 * What every end-to-end test shares: the real web-mode studio on a fresh data folder and Debian's
 * Chromium driven by playwright-core, with console errors collected and everything torn down after
 * the test; a typed dispatch, polling, and tiny training runs to give the pages content.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import type { Result, RunSummary } from '../../src-main/contract/index.ts';
import { startWebStudio } from '../../src-main/server/index.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// VAE_STUDIO_RENDERER_DIR: a renderer built elsewhere; by default the one `npm run build:renderer` makes.
export const STATIC_DIR = process.env.VAE_STUDIO_RENDERER_DIR ?? path.join(ROOT, 'out', 'renderer');
export const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface OpenedStudio {
  server: Awaited<ReturnType<typeof startWebStudio>>;
  browser: Browser;
  page: Page;
  /** Console errors and uncaught exceptions of the page, in order. */
  consoleErrors: string[];
  /** The studio's dispatch of `command`: its value, or the test fails on an error result. */
  call: <T>(command: string, input: unknown) => Promise<T>;
}

/** Polls `check` every 150 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * Starts training runs on the built-in digits (`name` and `config` each) and waits until all of them
 * have completed; fails at once when one fails. Returns the started runs, in order.
 */
export async function trainRuns(call: OpenedStudio['call'], specs: readonly { name: string; config: object }[], timeoutMs = 120_000): Promise<RunSummary[]> {
  const started: RunSummary[] = [];
  for (const s of specs) started.push(await call<RunSummary>('training.start', { datasetId: 'builtin-digits', ...s }));
  await until(`${started.length === 1 ? 'the run completes' : `the ${started.length} runs complete`}`, async () => {
    const all = await call<RunSummary[]>('runs.list', {});
    const mine = started.map((r) => all.find((x) => x.id === r.id));
    const failed = mine.find((r) => r?.status === 'failed');
    assert.equal(failed, undefined, `a run failed: ${failed?.error}`);
    return mine.every((r) => r?.status === 'completed');
  }, timeoutMs);
  return started;
}

/**
 * Starts the web studio on `dataDir` and opens a 1440x900 Chromium page (not yet navigated).
 * `cleanup` (default: dataDir) is removed after the test.
 */
export async function openStudio(t: TestContext, opts: { dataDir: string; cleanup?: string; defaultTimeoutMs?: number }): Promise<OpenedStudio> {
  assert.ok(existsSync(path.join(STATIC_DIR, 'index.html')), `the renderer is not built: run "npm run build:renderer" (${STATIC_DIR})`);
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(SHOTS, { recursive: true });
  const server = await startWebStudio({ dataDir: opts.dataDir, staticDir: STATIC_DIR });
  let browser: Browser | null = null;
  t.after(async () => {
    await browser?.close().catch(() => {});
    await server.close();
    rmSync(opts.cleanup ?? opts.dataDir, { recursive: true, force: true });
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(opts.defaultTimeoutMs ?? 20_000);
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  const call = async <T>(command: string, input: unknown): Promise<T> => {
    const r: Result<unknown> = await server.studio.dispatch(command, input);
    assert.ok(r.ok, `${command}: ${JSON.stringify(r)}`);
    return r.value as T;
  };
  return { server, browser, page, consoleErrors, call };
}
