/** The runs table and compare helpers (src-renderer/lib/util/runs.ts), on hand-made run summaries. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochPoint, RunSummary, StepPoint, TrainConfig } from '../../../src-main/contract/index.ts';
import { DEFAULT_CONFIG } from '../../../src-main/contract/index.ts';
import {
  addTags,
  allTags,
  compareSeries,
  configDiff,
  filterRuns,
  flattenConfig,
  EMPTY_FILTER,
  nextSort,
  rdPoint,
  runDatasets,
  sortRunsBy,
  splitImages,
  TAGS_MAX,
} from '../../../src-renderer/lib/util/runs.ts';
import { decodeBase64 } from '../../../src-renderer/lib/util/base64.ts';

function epoch(e: number, extra: Partial<EpochPoint> = {}): EpochPoint {
  return {
    epoch: e,
    step: e * 10,
    loss: 100 - e,
    recon: 80 - e,
    kl: 20 + e,
    negElbo: 100,
    valNegElbo: 105,
    valRecon: 84,
    valKl: 21,
    bitsPerDim: 0.2,
    durationMs: 1500,
    ...extra,
  };
}

function run(id: string, extra: Partial<RunSummary> & { cfg?: (c: TrainConfig) => void } = {}): RunSummary {
  const config = structuredClone(DEFAULT_CONFIG);
  extra.cfg?.(config);
  const { cfg: _cfg, ...rest } = extra;
  void _cfg;
  return {
    id,
    name: id,
    datasetId: 'builtin-digits',
    datasetName: 'Sample digits',
    status: 'completed',
    config,
    seed: 42,
    backend: 'wasm',
    device: null,
    appVersion: '0.1.0',
    tfjsVersion: '4.22.0',
    createdAt: 1000,
    startedAt: 1000,
    finishedAt: 5000,
    error: null,
    epochsDone: 1,
    last: null,
    notes: '',
    tags: [],
    paused: false,
    ...rest,
  };
}

const ids = (rs: RunSummary[]) => rs.map((r) => r.id);

test('sortRunsBy: numbers and text both ways, missing values last in both directions, ties newest first', () => {
  const a = run('a', { name: 'Beta', createdAt: 1, last: epoch(1, { negElbo: 90 }), cfg: (c) => (c.model.latentDim = 2) });
  const b = run('b', { name: 'alpha', createdAt: 2, last: epoch(1, { negElbo: 110 }), cfg: (c) => (c.model.latentDim = 32) });
  const c = run('c', { name: 'Gamma', createdAt: 3, last: null, cfg: (c) => (c.model.latentDim = 2) });
  const runs = [a, b, c];
  assert.deepEqual(ids(sortRunsBy(runs, { key: 'negElbo', dir: 'ascending' }, 0)), ['a', 'b', 'c']);
  assert.deepEqual(ids(sortRunsBy(runs, { key: 'negElbo', dir: 'descending' }, 0)), ['b', 'a', 'c']);
  // Case-insensitive names.
  assert.deepEqual(ids(sortRunsBy(runs, { key: 'name', dir: 'ascending' }, 0)), ['b', 'a', 'c']);
  // Equal latent sizes: the newer run first whatever the direction.
  assert.deepEqual(ids(sortRunsBy(runs, { key: 'latent', dir: 'ascending' }, 0)), ['c', 'a', 'b']);
  assert.deepEqual(ids(sortRunsBy(runs, { key: 'latent', dir: 'descending' }, 0)), ['b', 'c', 'a']);
  assert.deepEqual(ids(sortRunsBy(runs, { key: 'created', dir: 'descending' }, 0)), ['c', 'b', 'a']);
});

test('sortRunsBy duration: a running run counts up to now; a run never started sorts last', () => {
  const done = run('done', { startedAt: 0, finishedAt: 5000 });
  const live = run('live', { status: 'running', startedAt: 0, finishedAt: null });
  const queued = run('queued', { status: 'queued', startedAt: null, finishedAt: null });
  assert.deepEqual(ids(sortRunsBy([queued, done, live], { key: 'duration', dir: 'descending' }, 9000)), ['live', 'done', 'queued']);
  assert.deepEqual(ids(sortRunsBy([queued, done, live], { key: 'duration', dir: 'descending' }, 3000)), ['done', 'live', 'queued']);
});

test('nextSort: the same header flips, another starts ascending for text and descending for numbers', () => {
  assert.deepEqual(nextSort({ key: 'created', dir: 'descending' }, 'name'), { key: 'name', dir: 'ascending' });
  assert.deepEqual(nextSort({ key: 'name', dir: 'ascending' }, 'name'), { key: 'name', dir: 'descending' });
  assert.deepEqual(nextSort({ key: 'name', dir: 'ascending' }, 'negElbo'), { key: 'negElbo', dir: 'descending' });
});

test('filterRuns: status, dataset and tag filters; every search term must match name, notes, tags or config', () => {
  const r1 = run('r1', { name: 'small latent', notes: 'blurry digits', tags: ['baseline'], cfg: (c) => (c.model.latentDim = 2) });
  const r2 = run('r2', {
    name: 'gauss',
    status: 'interrupted',
    datasetId: 'ds-2',
    datasetName: 'Faces',
    tags: ['sweep'],
    cfg: (c) => {
      c.likelihood = 'gaussian';
      c.beta = 4;
    },
  });
  const runs = [r1, r2];
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, status: 'interrupted' })), ['r2']);
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, datasetId: 'builtin-digits' })), ['r1']);
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, tag: 'sweep' })), ['r2']);
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'BLURRY' })), ['r1'], 'notes, case-insensitive');
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'baseline' })), ['r1'], 'tags');
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'gaussian' })), ['r2'], 'a config value');
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'latentDim=2' })), ['r1'], 'leaf=value');
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'beta=4' })), ['r2'], 'beta=4 is the KL weight, not optimizer.beta1');
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'model.latentDim=2 small' })), ['r1'], 'a dotted path and a name term');
  assert.deepEqual(ids(filterRuns(runs, { ...EMPTY_FILTER, query: 'gaussian blurry' })), [], 'all terms must match');
  assert.deepEqual(ids(filterRuns(runs, EMPTY_FILTER)), ['r1', 'r2']);
  assert.deepEqual(allTags([r2, r1]), ['baseline', 'sweep']);
  assert.deepEqual(runDatasets([r2, r1, r1]), [
    { id: 'ds-2', name: 'Faces' },
    { id: 'builtin-digits', name: 'Sample digits' },
  ]);
});

test('flattenConfig: dotted paths, arrays joined', () => {
  const flat = new Map(flattenConfig(DEFAULT_CONFIG));
  assert.equal(flat.get('model.latentDim'), '20');
  assert.equal(flat.get('model.hidden'), '400');
  assert.equal(flat.get('optimizer.learningRate'), '0.001');
});

test('addTags: trimmed, comma-separated, no duplicates or empties, capped in length and number', () => {
  assert.deepEqual(addTags(['a'], '  b  '), ['a', 'b']);
  assert.deepEqual(addTags(['a'], 'a, c,,d '), ['a', 'c', 'd']);
  assert.deepEqual(addTags([], '   '), []);
  assert.equal(addTags([], 'x'.repeat(100))[0]!.length, 40);
  const full = Array.from({ length: TAGS_MAX }, (_, i) => `t${i}`);
  assert.deepEqual(addTags(full, 'more'), full);
});

test('rdPoint: the validation split where present, else the training means; null without an epoch', () => {
  assert.deepEqual(rdPoint(epoch(3)), { rate: 21, distortion: 84, source: 'validation', epoch: 3 });
  assert.deepEqual(rdPoint(epoch(2, { valKl: null, valRecon: null, valNegElbo: null })), { rate: 22, distortion: 78, source: 'training', epoch: 2 });
  assert.equal(rdPoint(null), null);
});

test('compareSeries: steps by step or seconds, epochs by epoch, val -ELBO at the step and cumulative time its epoch ended', () => {
  const steps: StepPoint[] = [1, 2, 3].map((s) => ({
    step: s,
    epoch: 1,
    loss: 10 - s,
    recon: 8 - s,
    kl: s,
    negElbo: 10 - s,
    samplesPerSec: 100,
    timeMs: s * 500,
  }));
  const epochs = [epoch(1, { step: 10, valNegElbo: 50 }), epoch(2, { step: 20, valNegElbo: null }), epoch(3, { step: 30, valNegElbo: 40 })];
  const m = { steps, epochs };
  const arr = (d: { x: ArrayLike<number>; y: ArrayLike<number>; length: number }) => ({ x: Array.from(d.x).slice(0, d.length), y: Array.from(d.y).slice(0, d.length) });
  assert.deepEqual(arr(compareSeries(m, 'kl', 'step')), { x: [1, 2, 3], y: [1, 2, 3] });
  assert.deepEqual(arr(compareSeries(m, 'negElbo', 'time')), { x: [0.5, 1, 1.5], y: [9, 8, 7] });
  assert.deepEqual(arr(compareSeries(m, 'recon', 'epoch')), { x: [1, 2, 3], y: [79, 78, 77] });
  // The epoch without a validation value is left out; time = sum of durations up to that epoch.
  assert.deepEqual(arr(compareSeries(m, 'valNegElbo', 'epoch')), { x: [1, 3], y: [50, 40] });
  assert.deepEqual(arr(compareSeries(m, 'valNegElbo', 'step')), { x: [10, 30], y: [50, 40] });
  assert.deepEqual(arr(compareSeries(m, 'valNegElbo', 'time')), { x: [1.5, 4.5], y: [50, 40] });
});

test('configDiff: only the fields that differ, labelled as on the Train panel; fields that do not apply show a dash', () => {
  const a = run('a');
  const b = run('b', {
    cfg: (c) => {
      c.model.latentDim = 2;
      c.likelihood = 'gaussian';
    },
  });
  const rows = configDiff([a, b]);
  const byLabel = new Map(rows.map((r) => [r.label, r.values]));
  assert.deepEqual(byLabel.get('Latent size'), ['20', '2']);
  assert.ok(byLabel.has('Likelihood'), `likelihood differs: ${[...byLabel.keys()].join(', ')}`);
  // Sigma applies to the Gaussian run only.
  const sigma = rows.find((r) => r.key.toLowerCase().includes('sigma'));
  assert.ok(sigma, 'the Gaussian sigma row is shown');
  assert.equal(sigma.values[0], '—');
  assert.ok(!byLabel.has('Batch size'), 'equal fields are left out');
  assert.ok(!byLabel.has('Dataset'));
  assert.deepEqual(configDiff([a, run('c')]), [], 'identical runs: no rows');
  assert.deepEqual(configDiff([a]), [], 'one run: nothing to compare');
  const other = configDiff([a, run('d', { datasetName: 'Faces' })]);
  assert.deepEqual(other[0], { key: 'dataset', group: 'Data', label: 'Dataset', values: ['Sample digits', 'Faces'] });
});

test('decodeBase64 + splitImages: concatenated HWC images back into one sample each', () => {
  const bytes = Uint8Array.from([0, 1, 2, 3, 250, 251, 252, 253]);
  const decoded = decodeBase64(Buffer.from(bytes).toString('base64'));
  assert.deepEqual(Array.from(decoded), Array.from(bytes));
  const imgs = splitImages(decoded, 2, 2, 2, 1);
  assert.deepEqual(imgs.map((i) => i.pixels), [
    [0, 1, 2, 3],
    [250, 251, 252, 253],
  ]);
  assert.throws(() => splitImages(decoded, 3, 2, 2, 1), /expected 12 bytes/);
});
