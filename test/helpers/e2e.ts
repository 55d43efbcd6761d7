/**
 * What every end-to-end test shares: the real web-mode studio on a fresh data folder and Debian's
 * Chromium driven by playwright-core, with console errors collected and everything torn down after
 * the test.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
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
  return { server, browser, page, consoleErrors };
}
