/**
 * report.html from fixed data: self-contained (no external reference of any kind), every history
 * text escaped, the model card holding the run's name, dataset, config and metrics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainConfigSchema } from '../../../src-main/contract/config.ts';
import type { EpochPoint, RunSummary, StepPoint } from '../../../src-main/contract/types.ts';
import { fmt, lineChartSvg, niceTicks, renderReport } from '../../../src-main/core/export/report.ts';

const epoch = (e: number): EpochPoint => ({
  epoch: e, step: e * 10, loss: 120 - e, recon: 100 - e, kl: 20, negElbo: 120 - e, valNegElbo: 125 - e, valRecon: 105 - e,
  valKl: 20, bitsPerDim: 0.2, durationMs: 100, valBitsPerDim: 0.21, klPerDim: [5, 15], activeUnits: 2, collapseWarning: false,
});

function input() {
  const config = TrainConfigSchema.parse({ model: { latentDim: 2, hidden: [64] }, epochs: 2 });
  const run: RunSummary = {
    id: 'r-1', name: 'Digits <b>&</b> "friends"', datasetId: 'builtin-digits', datasetName: 'Sample digits', status: 'completed',
    config, seed: 42, backend: 'wasm', device: 'WebAssembly SIMD', appVersion: '0.9.0', tfjsVersion: '4.22.0',
    createdAt: Date.UTC(2025, 0, 2, 3, 4, 5), startedAt: Date.UTC(2025, 0, 2, 3, 4, 6), finishedAt: Date.UTC(2025, 0, 2, 3, 5, 0),
    error: null, epochsDone: 2, last: epoch(2), notes: 'see http://example.com <script>', tags: ['baseline'], paused: false,
  };
  const steps: StepPoint[] = Array.from({ length: 20 }, (_, i) => ({
    step: i + 1, epoch: i < 10 ? 1 : 2, loss: 200 - i, recon: 180 - i, kl: 20, negElbo: 200 - i, samplesPerSec: 1000, timeMs: i * 10,
  }));
  return {
    run, checkpoint: { epoch: 2, step: 20 },
    dataset: { name: 'Sample digits', count: 6000, width: 28, height: 28, channels: 1 },
    steps, epochs: [epoch(1), epoch(2)], evaluations: [],
    images: {
      samples: { dataUri: 'data:image/png;base64,iVBORw0KGgo=', width: 10, height: 10 },
      traversals: { dataUri: 'data:image/png;base64,iVBORw0KGgo=', width: 10, height: 10 },
    },
    traversalDims: [1, 0],
    latentMap: { x: [0, 1, 2], y: [1, 0, -1], labels: [0, 1, -1], labelNames: ['zero', 'one'], variance: [1, 0.5] as [number, number], totalVariance: 1.5 },
    generatedAt: Date.UTC(2025, 0, 3),
  };
}

test('the report references nothing outside itself and escapes history text', () => {
  const html = renderReport(input());
  // The only URL-like text is the escaped note, which is plain text, not a reference.
  const withoutNote = html.replace('see http://example.com &lt;script&gt;', '');
  assert.ok(!/https?:/i.test(withoutNote), 'no http(s) URL');
  const refs = [...html.matchAll(/\b(?:src|href|xlink:href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]!);
  assert.ok(refs.length > 0);
  for (const r of refs) assert.ok(r.startsWith('data:') || r.startsWith('#'), `reference ${r.slice(0, 40)}`);
  assert.ok(!html.includes('//') || !/["'(]\/\//.test(html), 'no protocol-relative reference');
  assert.ok(!/url\(/i.test(html), 'no CSS url()');
  assert.ok(!/@import/i.test(html));
  assert.ok(!/<script/i.test(html), 'no script at all (the note is escaped)');
  assert.ok(html.includes('Digits &lt;b&gt;&amp;&lt;/b&gt; &quot;friends&quot;'));
  assert.ok(!html.includes('<b>&</b>'));
});

test('the model card: dataset, config fields, metrics, versions, dates, latent map legend', () => {
  const html = renderReport(input());
  for (const s of ['Sample digits', 'model.latentDim', 'optimizer.learningRate', '0.001', 'likelihood', 'bernoulli', 'wasm', 'WebAssembly SIMD',
    'VAE Studio 0.9.0', 'TensorFlow.js 4.22.0', '2025-01-02 03:04:05 UTC', 'epoch 2, step 20', '123', 'zero', 'one', 'baseline', 'z1, z0']) {
    assert.ok(html.includes(s), `report holds "${s}"`);
  }
  assert.equal((html.match(/<svg/g) ?? []).length, 6, 'four training charts, KL per dimension, latent map');
  assert.ok(html.includes('src="data:image/png;base64,iVBORw0KGgo="'));
});

test('chart helpers: nice ticks, number format, a gap for NaN', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.13, 0.61, 4), [0.2, 0.4, 0.6]);
  assert.equal(fmt(123.456), '123.5');
  assert.equal(fmt(null), '—');
  assert.equal(fmt(2e-5), '2.000e-5');
  const svg = lineChartSvg('t', 'x', [{ name: 's', color: '#000', xs: [1, 2, 3, 4], ys: [1, NaN, 3, 4] }]);
  assert.equal((svg.match(/M/g) ?? []).length, 2, 'the line restarts after the NaN');
});
