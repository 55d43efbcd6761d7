import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochPoint } from '../../../src-main/contract/index.ts';
import { cellAt, gridPixels, klGrid, viridis } from '../../../src-renderer/lib/charts/heatmap.ts';

const ep = (epoch: number, klPerDim?: number[]): EpochPoint => ({
  epoch,
  step: epoch * 10,
  loss: 1,
  recon: 1,
  kl: 1,
  negElbo: 1,
  valNegElbo: null,
  valRecon: null,
  valKl: null,
  bitsPerDim: 0.1,
  durationMs: 1,
  ...(klPerDim ? { klPerDim } : {}),
});

test('klGrid: rows sorted by the latest epoch, columns by epoch, values kept', () => {
  const g = klGrid([ep(2, [0.5, 3, 0.001, 1]), ep(1, [0.2, 1, 0.1, 2]), ep(3, [0.6, 4, 0.0, 0.9])])!;
  assert.deepEqual(g.epochs, [1, 2, 3]);
  // Epoch 3: z1 4 > z3 0.9 > z0 0.6 > z2 0.
  assert.deepEqual(g.dims, [1, 3, 0, 2]);
  assert.deepEqual(Array.from(g.values[0]!), [1, 3, 4]);
  assert.deepEqual(Array.from(g.values[1]!), [2, 1, 0.9]);
  assert.deepEqual(Array.from(g.values[3]!), [0.1, 0.001, 0]);
  assert.equal(g.max, 4);
});

test('klGrid: epochs without klPerDim are left out; none at all gives null; ties keep dimension order', () => {
  assert.equal(klGrid([ep(1), ep(2)]), null);
  assert.equal(klGrid([]), null);
  const g = klGrid([ep(1), ep(2, [1, 1, 2])])!;
  assert.deepEqual(g.epochs, [2]);
  assert.deepEqual(g.dims, [2, 0, 1]);
});

test('cellAt: the cell under a point, null outside', () => {
  const g = klGrid([ep(1, [1, 2]), ep(2, [1, 2]), ep(3, [1, 2]), ep(4, [1, 2])])!;
  // 4 columns, 2 rows on 400 x 100 px.
  assert.deepEqual(cellAt(g, 0, 0, 400, 100), { row: 0, col: 0 });
  assert.deepEqual(cellAt(g, 399, 99, 400, 100), { row: 1, col: 3 });
  assert.deepEqual(cellAt(g, 150, 60, 400, 100), { row: 1, col: 1 });
  assert.equal(cellAt(g, -1, 10, 400, 100), null);
  assert.equal(cellAt(g, 400, 10, 400, 100), null);
});

test('viridis: its end points, monotone lightness, clamped; gridPixels uses it scaled by the max', () => {
  assert.deepEqual(viridis(0), [68, 1, 84]);
  assert.deepEqual(viridis(1), [253, 231, 37]);
  assert.deepEqual(viridis(-3), viridis(0));
  assert.deepEqual(viridis(7), viridis(1));
  const lum = (c: number[]) => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
  for (let t = 0; t < 1; t += 0.05) assert.ok(lum(viridis(t + 0.05)) > lum(viridis(t)), `lightness rises at ${t}`);
  const g = klGrid([ep(1, [1, 0]), ep(2, [4, Number.NaN])])!;
  const px = gridPixels(g);
  assert.equal(px.length, 2 * 2 * 4);
  // Row 0 = z0: 1 of max 4 at epoch 1 -> sqrt(1/4) = 0.5 on the scale, 4 -> 1.
  assert.deepEqual(Array.from(px.subarray(0, 3)), viridis(0.5));
  assert.deepEqual(Array.from(px.subarray(4, 7)), viridis(1));
  // Row 1 = z1: 0 -> viridis(0); NaN -> the empty colour; all opaque.
  assert.deepEqual(Array.from(px.subarray(8, 11)), viridis(0));
  assert.deepEqual(Array.from(px.subarray(12, 15)), viridis(Number.NaN));
  for (let i = 3; i < px.length; i += 4) assert.equal(px[i], 255);
});
