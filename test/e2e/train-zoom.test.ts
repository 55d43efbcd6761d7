/**
 * End to end, a zoomed range of a long run in Chromium: the Train page attaches to a running run
 * whose steps outnumber what it reads at first (runs.metrics downsamples them to about two points
 * per pixel column), so dragging across a narrow range of the loss chart finds the points held there
 * too coarse and asks main for that range alone. The WebSocket frames show the runs.metrics request
 * with fromStep/toStep and an answer whose steps all lie in it; the chart then draws those points
 * (its point count is the answer's) on an x axis whose ticks lie within the range. Then the window
 * is told to open the run ('app.open', what a click on the desktop app's notification sends) and
 * the runs page shows it. Screenshot: test-results/screenshots/train-zoom-detail.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { WebSocketRoute } from 'playwright-core';
import type { RunMetrics, RunSummary } from '../../src-main/contract/index.ts';
import { openStudio, SHOTS, until } from '../helpers/e2e.ts';

/** Steps the run must have before the page opens: well over the ~2 x plot width it reads at first. */
const MIN_STEPS = 2500;

interface MetricsRequest {
  id: number;
  input: { id: string; fromStep?: number; toStep?: number; maxPoints?: number };
}

test('train page: a drag-zoomed range of a long run is read again from main, at that range only', { timeout: 240_000 }, async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vae-studio-e2e-zoom-'));
  const { server, page, consoleErrors, call } = await openStudio(t, { dataDir, defaultTimeoutMs: 30_000 });

  // Many small batches: 1,800 training samples in batches of 8 are 225 steps per epoch.
  const run = await call<RunSummary>('training.start', {
    datasetId: 'builtin-digits',
    name: 'e2e zoom run',
    config: { maxSamples: 2000, batchSize: 8, epochs: 200, validationFraction: 0.1, model: { latentDim: 2, hidden: [32] } },
  });
  t.after(async () => {
    await server.studio.dispatch('training.stop', { runId: run.id });
  });
  await until(`the run passes ${MIN_STEPS} steps`, async () => {
    const m = await call<RunMetrics>('runs.metrics', { id: run.id, maxPoints: 10 });
    const r = await call<RunSummary>('runs.get', { id: run.id });
    assert.notEqual(r.status, 'failed', r.error ?? '');
    return m.totalSteps >= MIN_STEPS;
  }, 180_000);

  // Every runs.metrics request the page sends, and every answer, from the WebSocket frames.
  const requests: MetricsRequest[] = [];
  const answers = new Map<number, RunMetrics>();
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      const msg = JSON.parse(String(f.payload)) as { id: number; command: string; input: MetricsRequest['input'] };
      if (msg.command === 'runs.metrics') requests.push({ id: msg.id, input: msg.input });
    });
    ws.on('framereceived', (f) => {
      const msg = JSON.parse(String(f.payload)) as { id?: number; result?: { ok: boolean; value: unknown } };
      if (msg.id !== undefined && requests.some((r) => r.id === msg.id) && msg.result?.ok) answers.set(msg.id, msg.result.value as RunMetrics);
    });
  });

  await page.goto(`${server.url}#/train`);
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  await page.getByRole('heading', { name: 'Train' }).waitFor();
  // The page follows the running run: its history, downsampled, then the live steps.
  await until('the history is read', async () => requests.some((r) => answers.has(r.id) && r.input.fromStep === undefined));
  const history = answers.get(requests.find((r) => r.input.fromStep === undefined)!.id)!;
  assert.ok(history.totalSteps >= MIN_STEPS && history.steps.length < history.totalSteps * 0.7, `${history.steps.length} of ${history.totalSteps} steps read`);
  const chart = page.locator('figure.chart').filter({ hasText: 'Loss per step' });
  await until('the loss chart is drawn', async () => ((await chart.getAttribute('data-x-ticks')) ?? '') !== '');

  // Drag across a tenth of the plot, in its left half (steps the history holds coarsely).
  const plot = page.getByRole('img', { name: 'Loss per step' });
  await plot.scrollIntoViewIfNeeded();
  const box = (await plot.boundingBox())!;
  const [left, right] = [54, 14]; // the plot's axis margins (LineChart's PAD)
  const at = (f: number) => box.x + left + (box.width - left - right) * f;
  await page.mouse.move(at(0.3), box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(at(0.4), box.y + box.height / 2, { steps: 6 });
  await page.mouse.up();
  await page.getByRole('button', { name: 'Reset zoom of Loss per step' }).waitFor();

  // The page asks main for the zoomed range alone, at about one point per pixel column.
  await until('a runs.metrics request with fromStep/toStep is answered', async () => requests.some((r) => r.input.fromStep !== undefined && answers.has(r.id)));
  const zoomed = requests.find((r) => r.input.fromStep !== undefined)!;
  const { fromStep, toStep, maxPoints } = zoomed.input;
  assert.equal(zoomed.input.id, run.id);
  assert.ok(fromStep !== undefined && toStep !== undefined && maxPoints !== undefined);
  const [v0, v1] = (await chart.getAttribute('data-x-view'))!.split(' ').map(Number);
  // The range asked is the zoomed view widened to whole steps; it is about a tenth of the run.
  assert.ok(fromStep <= v0! && fromStep > v0! - 1 && toStep >= v1! && toStep < v1! + 1, `asked ${fromStep}..${toStep} for a view of ${v0}..${v1}`);
  assert.ok(toStep - fromStep < history.totalSteps / 4, `asked ${fromStep}..${toStep}`);
  const detail = answers.get(zoomed.id)!;
  assert.ok(detail.steps.length > 0);
  assert.ok(detail.steps.every((p) => p.step >= fromStep && p.step <= toStep), 'main answers with steps of the range only');
  // Finer than the history there: more points in the range than the page held before.
  const heldBefore = history.steps.filter((p) => p.step >= fromStep && p.step <= toStep).length;
  assert.ok(detail.steps.length > heldBefore, `${detail.steps.length} points in the range, ${heldBefore} held before`);

  // The chart draws the answer: its points, on an x axis within the range.
  await until('the chart shows the detail', async () => Number(await chart.getAttribute('data-points')) === detail.steps.length);
  const ticks = (await chart.getAttribute('data-x-ticks'))!.split(' ').map(Number);
  assert.ok(ticks.length >= 2, `ticks ${ticks}`);
  for (const x of ticks) assert.ok(x >= fromStep && x <= toStep, `tick ${x} outside ${fromStep}..${toStep}`);
  // The hover read-out snaps to a point of the range.
  await page.mouse.move(at(0.02), box.y + box.height / 2);
  const tip = page.locator('.tip').first();
  await tip.waitFor();
  const tipStep = Number(((await tip.locator('.tip-x').textContent()) ?? '').replace(/[^\d]/g, ''));
  assert.ok(tipStep >= fromStep && tipStep <= toStep, `read-out at step ${tipStep}`);
  await page.screenshot({ path: path.join(SHOTS, 'train-zoom-detail.png') });
  await page.mouse.move(0, 0);

  // Reset: the whole run again, drawn from the points held.
  await page.getByRole('button', { name: 'Reset zoom of Loss per step' }).click();
  await until('the whole run is shown', async () => {
    const [a, b] = ((await chart.getAttribute('data-x-view')) ?? '').split(' ').map(Number);
    return a! < fromStep && b! > toStep;
  });

  // 'app.open' (sent by electron main when its notification of a finished run is clicked; web mode
  // never sends it, so it is injected into a page's WebSocket here) opens the run on the runs page.
  let socket: WebSocketRoute | null = null;
  await page.routeWebSocket(/\/ws\b/, (ws) => {
    ws.connectToServer();
    socket = ws;
  });
  await page.reload();
  await page.getByRole('status', { name: 'Connection: Connected' }).waitFor();
  assert.ok(socket, 'the page connected through the route');
  (socket as WebSocketRoute).send(JSON.stringify({ event: 'app.open', payload: { page: 'runs', id: run.id } }));
  await until('the runs page opens the run', async () => page.url().endsWith(`#/runs/${encodeURIComponent(run.id)}`));
  await page.getByRole('region', { name: 'Run details' }).getByRole('heading', { name: 'Run e2e zoom run' }).waitFor();

  assert.deepEqual(consoleErrors, [], 'console errors on the page');
});
