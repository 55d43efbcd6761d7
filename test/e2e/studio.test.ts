/**
 * End to end: the real Svelte UI (out/renderer, built by `npm run build:renderer`) in Debian
 * Chromium against the real web-mode server, a real SQLite history and a real trainer process.
 * Flow: datasets page with thumbnails -> Train: presets (panel screenshots), inline validation, start a small run through the
 * form, watch the curve move -> Stop -> reload -> Runs lists it as stopped, its detail shows the
 * curves. Screenshots go to test-results/screenshots/. The page must log no console error and
 * trigger no CSP violation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { openStudio, SHOTS, until } from '../helpers/e2e.ts';

const RUN_NAME = 'e2e digits run';

/** Points the first chart inside `scope` holds (its data-points attribute). */
async function chartPoints(scope: Page | Locator): Promise<number> {
  const v = await scope.locator('figure.chart').first().getAttribute('data-points');
  return Number(v ?? 0);
}

async function currentStep(page: Page): Promise<number> {
  const text = (await page.getByTestId('run-step').textContent()) ?? '0';
  return Number(text.replace(/[^\d]/g, ''));
}

/** Browser-side code runs with DOM types this Node project does not load; these are the bits used. */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

test('web studio: datasets, live training, stop, history after reload', { timeout: 150_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-'));
  const { server, page, consoleErrors } = await openStudio(t, { dataDir });

  const cspViolations: string[] = [];
  // The page reports every CSP violation event to the test, across reloads.
  await page.exposeFunction('__reportCsp', (v: string) => cspViolations.push(v));
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) =>
      window.__reportCsp(e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));`,
  });

  await page.goto(server.url);
  assert.ok(!page.url().includes('token='), `the token must leave the address bar, got ${page.url()}`);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  const footer = page.getByRole('contentinfo');
  await footer.getByText(dataDir).waitFor();

  // Datasets: the sample digits card with drawn thumbnails.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Datasets' }).click();
  await page.getByRole('heading', { name: 'Sample digits' }).waitFor();
  const thumbs = page.getByRole('img', { name: 'Sample images of Sample digits' });
  await thumbs.waitFor();
  const ink = await thumbs.locator('canvas').evaluate((el) => {
    const c = el as unknown as CanvasLike;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i]! > 64) lit++;
    return { lit, total: d.length / 4 };
  });
  assert.ok(ink.lit > ink.total * 0.03, `the thumbnails look blank: ${ink.lit} lit pixels of ${ink.total}`);
  await page.screenshot({ path: path.join(SHOTS, '1-datasets.png') });

  // Train: the built-in digits are preselected with the default (MNIST-like) preset and its size.
  await nav.getByRole('link', { name: 'Train' }).click();
  assert.equal(await page.getByLabel('Dataset').inputValue(), 'builtin-digits');
  const summary = page.getByTestId('config-summary');
  assert.match((await summary.textContent()) ?? '', /652,824 parameters[\s\S]*784 → 400 → 20/);

  // Each preset fills the panel; the panel is screenshotted whole (tall viewport, advanced open).
  const panel = page.getByRole('form', { name: 'Training configuration' });
  const preset = page.getByLabel('Preset');
  await page.setViewportSize({ width: 1440, height: 2300 });
  for (const id of ['mnist-mlp', 'conv-64', 'beta-vae-shapes']) {
    await preset.selectOption(id);
    for (const more of await panel.getByRole('button', { name: /^Advanced / }).all()) {
      if ((await more.getAttribute('aria-expanded')) === 'false') await more.click();
    }
    await panel.screenshot({ path: path.join(SHOTS, `train-panel-${id}.png`) });
  }
  // Conv fields replace the MLP's for a conv preset; the shapes preset picks its dataset.
  assert.equal(await page.getByLabel('Hidden layers').count(), 0);
  assert.equal(await page.getByLabel('Channels').inputValue(), '32, 32, 64, 64');
  assert.equal(await page.getByLabel('Dataset').inputValue(), 'builtin-shapes');
  await preset.selectOption('mnist-mlp');
  await page.getByLabel('Dataset').selectOption('builtin-digits');
  await page.setViewportSize({ width: 1440, height: 900 });
  // Keyboard: the architecture radios follow the arrow keys and swap the fields shown.
  await page.getByRole('radio', { name: 'MLP' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.getByLabel('Channels').waitFor();
  await page.keyboard.press('ArrowLeft');
  await page.getByLabel('Hidden layers').waitFor();

  // Inline validation names the field and the reason.
  const start = page.getByRole('button', { name: 'Start training' });
  const epochs = page.getByLabel('Epochs', { exact: true });
  await epochs.fill('0');
  await page.locator('#cfg-epochs-error').getByText('Must be ≥ 1').waitFor();
  assert.equal(await epochs.getAttribute('aria-invalid'), 'true');
  assert.ok(await start.isDisabled(), 'Start must be disabled while a field is invalid');
  await page.getByLabel('Learning rate').fill('abc');
  await page.locator('#cfg-learningRate-error').getByText('Not a number').waitFor();
  await page.getByRole('alert').filter({ hasText: '2 fields need attention' }).waitFor();
  await page.screenshot({ path: path.join(SHOTS, '2-train-validation.png') });

  // A small, quick configuration, typed through the form. Many short epochs keep the run going
  // until the test stops it, whatever the backend's speed.
  await page.getByLabel('Learning rate').fill('0.002');
  await epochs.fill('200');
  await page.getByLabel('Latent size').fill('8');
  await page.getByLabel('Hidden layers').fill('256');
  await page.getByLabel('Batch size').fill('100');
  await page.getByLabel('Max samples').fill('1500');
  await page.getByLabel('Run name').fill(RUN_NAME);
  assert.ok(await start.isEnabled(), 'Start must be enabled once the form is valid');
  await start.click();

  const status = page.getByTestId('run-status');
  const statusIs = async (s: string) => ((await status.textContent()) ?? '').trim() === s;
  await until('the run is running', () => statusIs('running'));
  // The curve moves: points appear, then the step count grows.
  await until('the chart shows points', async () => (await chartPoints(page)) > 0, 60_000);
  const step1 = await currentStep(page);
  const points1 = await chartPoints(page);
  await until(`the step count passes ${step1}`, async () => (await currentStep(page)) > step1, 30_000);
  assert.ok((await chartPoints(page)) > points1, 'the chart gained points');
  // Epochs end and land in the epoch table with their validation -ELBO (newest first).
  const epochRows = page.getByRole('table', { name: 'Epoch metrics' }).getByRole('row').filter({ hasText: '/ 200' });
  await epochRows.filter({ hasText: /^\s*3 \/ 200/ }).waitFor({ timeout: 60_000 });
  assert.ok((await epochRows.count()) >= 3);
  assert.match((await page.getByRole('status', { name: 'Run status' }).textContent()) ?? '', /samples\/s/);
  // Hover the step chart to show its read-out in the screenshot.
  const plot = page.getByRole('img', { name: 'Loss per step' });
  const box = (await plot.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
  await page.locator('.tip').waitFor();
  await page.screenshot({ path: path.join(SHOTS, '3-train-running.png') });
  await page.mouse.move(0, 0);

  await page.getByRole('button', { name: 'Stop training' }).click();
  await until('the run is stopped', () => statusIs('stopped'), 30_000);
  const finalStep = await currentStep(page);
  await page.screenshot({ path: path.join(SHOTS, '4-train-stopped.png') });

  // Reload (the token now comes from sessionStorage) and find the run in the history.
  await page.reload();
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await nav.getByRole('link', { name: 'Runs' }).click();
  const row = page.getByRole('table', { name: 'Runs' }).getByRole('row').filter({ hasText: RUN_NAME });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /stopped/);
  await row.getByRole('button', { name: `Open run ${RUN_NAME}` }).click();
  const detail = page.getByRole('region', { name: 'Run details' });
  await detail.getByRole('table', { name: `Configuration of ${RUN_NAME}` }).waitFor();
  assert.match((await detail.textContent()) ?? '', /256/);
  await until('the run detail shows its curve', async () => (await chartPoints(detail)) > 0);
  const stored = await chartPoints(detail);
  assert.ok(stored > 0 && stored <= finalStep, `history shows ${stored} points for ${finalStep} steps`);
  await page.screenshot({ path: path.join(SHOTS, '5-runs.png') });

  assert.deepEqual(cspViolations, [], 'CSP violations on the page');
  assert.deepEqual(consoleErrors, [], 'console errors on the page');
});
