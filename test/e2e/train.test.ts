/**
 * End to end, the training view: the real Svelte UI in Chromium against the web-mode studio with a
 * real trainer process. Flow: measure the time per epoch (and see it marked stale after an edit);
 * start a run from the keyboard (Enter in the form); pause it (status paused, the step count stops),
 * resume it (the step count moves again); the charts, the KL-per-dimension heatmap and the previews
 * update epoch by epoch; smoothing, zoom (drag, double-click), hover read-outs; scrub the previews
 * with the arrow keys; stop. Then a tiny run (2 epochs) started with the keyboard completes and a
 * toast announces it (the notice threshold is lowered to 0 ms through VAE_STUDIO_NOTIFY_AFTER_MS);
 * its "Open run" button opens the run. Screenshots go to test-results/screenshots/train-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { openStudio, SHOTS, until } from '../helpers/e2e.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function currentStep(page: Page): Promise<number> {
  return Number(((await page.getByTestId('run-step').textContent()) ?? '0').replace(/[^\d]/g, ''));
}

async function statusText(page: Page): Promise<string> {
  return ((await page.getByTestId('run-status').textContent()) ?? '').trim();
}

/** Fills the form fields of a small run on the built-in digits. */
async function fillTinyRun(page: Page, o: { epochs: number; batch: number; name: string }): Promise<void> {
  await page.getByLabel('Epochs', { exact: true }).fill(String(o.epochs));
  await page.getByLabel('Max samples').fill('600');
  await page.getByLabel('Batch size').fill(String(o.batch));
  await page.getByLabel('Latent size').fill('8');
  await page.getByLabel('Hidden layers').fill('128');
  await page.getByLabel('Run name').fill(o.name);
}

test('training view: estimate, keyboard start, pause/resume, live charts, heatmap, previews, stop, toast', { timeout: 240_000 }, async (t) => {
  // Announce every finished run, however short (read when the studio starts).
  const before = process.env['VAE_STUDIO_NOTIFY_AFTER_MS'];
  process.env['VAE_STUDIO_NOTIFY_AFTER_MS'] = '0';
  t.after(() => {
    if (before === undefined) delete process.env['VAE_STUDIO_NOTIFY_AFTER_MS'];
    else process.env['VAE_STUDIO_NOTIFY_AFTER_MS'] = before;
  });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-train-'));
  const { server, page, consoleErrors } = await openStudio(t, { dataDir, defaultTimeoutMs: 30_000 });
  await page.goto(server.url);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Train' }).click();
  await page.getByRole('heading', { name: 'Train' }).waitFor();
  assert.equal(await page.getByLabel('Dataset').inputValue(), 'builtin-digits');

  // 1. Many short epochs keep this run going until the test stops it.
  await fillTinyRun(page, { epochs: 60, batch: 32, name: 'e2e pause run' });

  // Estimate: a spinner while measuring, then ms/step, samples/s, s/epoch, total and the backend.
  const estimate = page.getByTestId('estimate');
  await page.getByRole('button', { name: 'Measure time per epoch' }).click();
  await until('the estimate is shown', async () => (await page.getByTestId('estimate-epoch').count()) > 0, 90_000);
  const estText = (await estimate.textContent()) ?? '';
  assert.match(estText, /ms\/step/);
  assert.match(estText, /samples\/s/);
  assert.match(estText, /\d+ steps\/epoch/);
  assert.match(estText, /in all/);
  // 600 samples less a validation hold-out (10 % by default), batch 32: 17 steps per epoch.
  const stepsPerEpoch = Number(/([\d,]+) steps\/epoch/.exec(estText)![1]!.replace(/,/g, ''));
  assert.ok(stepsPerEpoch >= 15 && stepsPerEpoch <= 19, `steps per epoch ${stepsPerEpoch}`);
  assert.equal(await page.getByTestId('estimate-stale').count(), 0);
  // An edit marks it stale; putting the value back makes it current again.
  await page.getByLabel('Batch size').fill('64');
  await page.getByTestId('estimate-stale').waitFor();
  await page.getByLabel('Batch size').fill('32');
  await until('the estimate is current again', async () => (await page.getByTestId('estimate-stale').count()) === 0);
  await page.getByRole('form', { name: 'Training configuration' }).screenshot({ path: path.join(SHOTS, 'train-estimate.png') });

  // Keyboard: Enter in the run name submits the form.
  await page.getByLabel('Run name').focus();
  await page.keyboard.press('Enter');
  await until('the run is running', async () => (await statusText(page)) === 'running', 60_000);
  await until('steps arrive', async () => (await currentStep(page)) > 0, 60_000);

  // Pause from the keyboard: the status says paused and the step count stops.
  const pauseBtn = page.getByRole('button', { name: 'Pause training' });
  await until('Pause is enabled', () => pauseBtn.isEnabled());
  await pauseBtn.focus();
  await page.keyboard.press('Space');
  await until('the run shows paused', async () => (await statusText(page)) === 'paused');
  const resumeBtn = page.getByRole('button', { name: 'Resume training' });
  await resumeBtn.waitFor();
  await sleep(1500); // steps already in flight land first
  const heldAt = await currentStep(page);
  await sleep(2000);
  assert.equal(await currentStep(page), heldAt, 'the step count must not advance while paused');
  await page.screenshot({ path: path.join(SHOTS, 'train-paused.png') });

  // Resume from the keyboard: steps move again.
  await resumeBtn.focus();
  await page.keyboard.press('Enter');
  await until('the run shows running', async () => (await statusText(page)) === 'running');
  await until(`the step count passes ${heldAt}`, async () => (await currentStep(page)) > heldAt, 60_000);

  // Epochs end: the heatmap fills a column per epoch; previews follow the latest epoch.
  const heatmap = page.locator('figure.heatmap');
  await until('the heatmap has 3 epochs', async () => Number(await heatmap.getAttribute('data-epochs')) >= 3, 120_000);
  assert.equal(Number(await heatmap.getAttribute('data-cells')), 8 * Number(await heatmap.getAttribute('data-epochs')), '8 latent dims per epoch');
  const previews = page.getByRole('region', { name: 'Previews' });
  await until('previews of epoch 3 are shown', async () => Number(await previews.getAttribute('data-epoch')) >= 3, 30_000);
  await previews.getByRole('img', { name: /validation images .* over their reconstructions/ }).waitFor();
  await previews.getByRole('img', { name: /samples decoded from fixed prior draws/ }).waitFor();
  const lossPlot = page.getByRole('img', { name: 'Loss per step' });
  const points1 = Number(await page.locator('figure.chart').first().getAttribute('data-points'));
  await until('the loss chart grows', async () => Number(await page.locator('figure.chart').first().getAttribute('data-points')) > points1);

  // Scrub the previews with the keyboard: Home = epoch 1, Right = epoch 2, End = the latest (following again).
  const scrubber = page.getByRole('slider', { name: 'Preview epoch' });
  await scrubber.focus();
  await page.keyboard.press('Home');
  await until('epoch 1 previews', async () => (await page.getByTestId('preview-epoch').textContent()) === '1');
  await page.keyboard.press('ArrowRight');
  await until('epoch 2 previews', async () => (await page.getByTestId('preview-epoch').textContent()) === '2');
  assert.equal(await previews.getByText('following').count(), 0, 'a picked epoch does not follow');
  await page.keyboard.press('End');
  await until('the latest previews again', async () => (await previews.getByText('following').count()) === 1);

  // Smoothing from the keyboard, then zoom by dragging across the loss chart.
  const smooth = page.getByRole('slider', { name: 'Smoothing (EMA weight)' });
  const s0 = Number(await smooth.inputValue());
  await smooth.focus();
  await page.keyboard.press('ArrowRight');
  assert.ok(Number(await smooth.inputValue()) > s0, 'the arrow key raises the smoothing');
  await lossPlot.scrollIntoViewIfNeeded();
  const box = (await lossPlot.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.up();
  await page.getByRole('button', { name: 'Reset zoom of Loss per step' }).waitFor();
  assert.match((await page.locator('figure.chart').first().textContent()) ?? '', /zoomed to/);
  // Hover read-outs: the crosshair's values on the loss chart, a cell of the heatmap.
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await page.locator('.tip').first().waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'train-zoomed.png') });
  await page.mouse.dblclick(box.x + box.width * 0.5, box.y + box.height * 0.5);
  await until('the zoom is reset', async () => (await page.getByRole('button', { name: 'Reset zoom of Loss per step' }).count()) === 0);
  await heatmap.scrollIntoViewIfNeeded();
  const hm = (await heatmap.getByRole('img').boundingBox())!;
  await page.mouse.move(hm.x + hm.width * 0.5, hm.y + 20);
  await page.getByTestId('heatmap-tip').waitFor();
  assert.match((await page.getByTestId('heatmap-tip').textContent()) ?? '', /epoch \d+[\s\S]*z\d+[\s\S]*nats/);
  await page.mouse.move(0, 0);
  // The whole view on a tall window (the results column scrolls inside the page).
  await page.setViewportSize({ width: 1440, height: 2000 });
  await page.getByRole('img', { name: 'Loss per step' }).hover();
  await page.locator('.tip').first().waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'train-running.png') });
  await page.mouse.move(0, 0);
  await page.setViewportSize({ width: 1440, height: 900 });

  await page.getByRole('button', { name: 'Stop training' }).click();
  await until('the run is stopped', async () => (await statusText(page)) === 'stopped', 30_000);
  assert.equal(await page.getByTestId('toast').count(), 0, 'a run stopped by the user is not announced');

  // 2. A tiny run, started with the keyboard, completes: the toast announces it.
  await fillTinyRun(page, { epochs: 2, batch: 64, name: 'e2e tiny run' });
  const start = page.getByRole('button', { name: 'Start training' });
  await until('Start is enabled', () => start.isEnabled());
  await start.focus();
  await page.keyboard.press('Enter');
  const toast = page.getByRole('status').getByTestId('toast').filter({ hasText: 'e2e tiny run' });
  await toast.waitFor({ timeout: 120_000 });
  assert.match((await toast.textContent()) ?? '', /e2e tiny run finished[\s\S]*completed/);
  assert.equal(await statusText(page), 'completed');
  // The finished run's previews: its last epoch.
  await until('previews of epoch 2', async () => (await page.getByTestId('preview-epoch').textContent()) === '2');
  await page.screenshot({ path: path.join(SHOTS, 'train-toast.png') });
  await toast.getByRole('button', { name: 'Open run' }).click();
  await until('the runs page opens the run', async () => page.url().includes('#/runs/'));
  assert.equal(await page.getByTestId('toast').count(), 0, 'the toast leaves once used');

  assert.deepEqual(consoleErrors, [], 'console errors on the page');
});
