import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StepSeries } from '../../../src-renderer/lib/charts/series.ts';
import type { StepPoint } from '../../../src-main/contract/index.ts';
import { imageCount, pairedCells, plainCells, renderCells } from '../../../src-renderer/features/train/preview-grid.ts';
import { formatMs, formatSeconds } from '../../../src-renderer/features/train/estimate-format.ts';
import { finishedToast } from '../../../src-renderer/features/shell/toasts.svelte.ts';

test('pairedCells: each reconstruction right under its original, pairs of rows', () => {
  const cells = pairedCells(5, 2);
  const at = (source: 0 | 1, index: number) => cells.find((c) => c.source === source && c.index === index)!;
  for (let i = 0; i < 5; i++) {
    assert.equal(at(1, i).row, at(0, i).row + 1);
    assert.equal(at(1, i).col, at(0, i).col);
    assert.equal(at(0, i).row % 2, 0);
  }
  assert.deepEqual([at(0, 4).row, at(0, 4).col], [4, 0]);
  assert.deepEqual(plainCells(5, 2).map((c) => [c.row, c.col]), [[0, 0], [0, 1], [1, 0], [1, 1], [2, 0]]);
});

test('renderCells: pixels land in their cells with gaps and a wider gap between pairs', () => {
  const shape = { width: 2, height: 1, channels: 1 };
  const orig = Uint8Array.from([10, 11, 20, 21]); // two 2x1 images
  const recon = Uint8Array.from([110, 111, 120, 121]);
  const g = renderCells([orig, recon], shape, pairedCells(2, 1), { gap: 1, paired: true, pairGap: 3 });
  // 1 column: width 2; rows at y = 0, 2 (original, reconstruction), then 2 + 1 + 3 = 6 and 8.
  assert.equal(g.width, 2);
  assert.equal(g.height, 9);
  const grey = (x: number, y: number) => g.data[(y * g.width + x) * 4]!;
  const alpha = (x: number, y: number) => g.data[(y * g.width + x) * 4 + 3]!;
  assert.deepEqual([grey(0, 0), grey(1, 0)], [10, 11]);
  assert.deepEqual([grey(0, 2), grey(1, 2)], [110, 111]);
  assert.deepEqual([grey(0, 6), grey(1, 6)], [20, 21]);
  assert.deepEqual([grey(0, 8), grey(1, 8)], [120, 121]);
  for (const y of [1, 3, 4, 5, 7]) assert.equal(alpha(0, y), 0, `row ${y} is a gap`);
  assert.equal(imageCount(orig, shape, 16), 2, 'never more images than bytes');
  assert.equal(imageCount(orig, shape, 1), 1);
});

test('estimate wording', () => {
  assert.equal(formatSeconds(0.421), '0.42 s');
  assert.equal(formatSeconds(7.25), '7.3 s');
  assert.equal(formatSeconds(42.4), '42 s');
  assert.equal(formatSeconds(245), '4m 05s');
  assert.equal(formatSeconds(7800), '2h 10m');
  assert.equal(formatMs(12.345), '12.3 ms');
  assert.equal(formatMs(250.4), '250 ms');
});

test('finishedToast: names the run and its status; a failure shows its error', () => {
  const ok = finishedToast({ runId: 'r1', name: 'digits', status: 'completed', error: null, durationMs: 65_000 });
  assert.equal(ok.title, 'digits finished');
  assert.equal(ok.tone, 'ok');
  assert.match(ok.body, /completed after 1m 05s/);
  assert.equal(ok.runId, 'r1');
  const bad = finishedToast({ runId: 'r2', name: 'big', status: 'failed', error: 'NaN loss at step 40', durationMs: null });
  assert.equal(bad.title, 'big failed');
  assert.equal(bad.tone, 'danger');
  assert.equal(bad.body, 'NaN loss at step 40');
});

const pt = (step: number, extra: Partial<StepPoint> = {}): StepPoint => ({
  step,
  epoch: 1,
  loss: step,
  recon: step,
  kl: 0,
  negElbo: step,
  samplesPerSec: 1,
  timeMs: step,
  ...extra,
});

test('StepSeries: beta and lr columns (absent = NaN, given back absent); replaceHistory keeps newer live points', () => {
  const s = new StepSeries(16);
  s.append([pt(1, { beta: 0.5, lr: 1e-3 }), pt(2)]);
  assert.equal(s.series('beta').y[0], 0.5);
  assert.ok(Number.isNaN(s.series('lr').y[1]!));
  assert.equal(s.last()!.lr, undefined);
  for (let i = 3; i <= 100; i++) s.append([pt(i)]);
  const gen = s.generation;
  // A downsampled read up to step 90 (every 10th), while live points reached 100.
  s.replaceHistory([10, 20, 30, 40, 50, 60, 70, 80, 90].map((k) => pt(k)));
  assert.ok(s.generation > gen, 'a replacement is a new generation');
  assert.deepEqual(Array.from(s.x.subarray(0, s.length)), [10, 20, 30, 40, 50, 60, 70, 80, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
  assert.equal(s.countInRange(50, 92), 7);
  assert.equal(s.countInRange(101, 200), 0);
});
