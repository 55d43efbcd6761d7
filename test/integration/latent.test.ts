/**
 * The latent explorer end to end with real worker processes (tfjs 'cpu', built-in digits): a tiny
 * run is trained, then encoded, mapped (PCA, native dimensions, UMAP, t-SNE), inverted, decoded in
 * a worker and from the served decoder weights; a second request is served from the cache without
 * a new process; a cancelled encoding leaves nothing behind; bad requests get clear errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { DatasetInfo, Result, RunSummary } from '../../src-main/contract/index.ts';
import type { DecoderWeights, LatentEncoding, LatentMap } from '../../src-main/contract/latent.ts';
import { likelihoodMean } from '../../src-main/contract/likelihood.ts';
import { loadBuiltin } from '../../src-main/core/sample-data.ts';
import { seedStreams, splitIndices } from '../../src-main/core/train.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import type { Studio } from '../../src-main/services/studio-api.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import { writeMnistFolder } from '../helpers/dataset-files.ts';
import { until } from '../helpers/fake-trainer.ts';
import { tmpDir } from '../helpers/tmp.ts';

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};

const f32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const i32 = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

async function failure(p: Promise<Result<unknown>>): Promise<{ code: string; message: string; field?: string }> {
  const r = await p;
  assert.ok(!r.ok, `expected a failure, got ${JSON.stringify(r).slice(0, 200)}`);
  return r.error;
}

const config = { backend: 'cpu', epochs: 1, maxSamples: 600, batchSize: 64, validationFraction: 0.1, model: { hidden: [32], latentDim: 2 }, seed: 5 };

/** Trains a run to completion and returns its id. */
async function trainRun(studio: Studio, datasetId: string, cfg: object): Promise<string> {
  const r = await value<RunSummary>(studio.dispatch('training.start', { datasetId, name: 'latent', config: cfg }));
  for (;;) {
    const s = await value<RunSummary>(studio.dispatch('runs.get', { id: r.id }));
    if (!['queued', 'running'].includes(s.status)) {
      assert.equal(s.status, 'completed', s.error ?? '');
      return r.id;
    }
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('latent explorer (real worker processes)', { timeout: 240_000 }, () => {
  let dataDir: string;
  let studio: Studio;
  let launches = 0;
  let runId: string;
  const progress: { jobId: string | null; phase: string; done: number; total: number }[] = [];
  const target = () => ({ runId, split: 'validation' as const });

  before(async () => {
    dataDir = tmpDir();
    studio = createStudio({
      dataDir,
      mode: 'cli',
      launcher: () => {
        launches++;
        return forkTrainer();
      },
    });
    studio.subscribe((event, payload) => {
      if (event === 'latent.progress') progress.push(payload as (typeof progress)[number]);
    });
    runId = await trainRun(studio, 'builtin-digits', config);
    await tf.setBackend('cpu');
  });

  after(async () => {
    await studio?.close();
  });

  test('encode: the validation hold-out through the latest checkpoint, shared by concurrent requests, then cached', async () => {
    const before = launches;
    // Two requests at once for the same encoding share one worker.
    const [e, m] = await Promise.all([
      value<LatentEncoding>(studio.dispatch('latent.encode', { ...target(), jobId: 'enc-1' })),
      value<LatentMap>(studio.dispatch('latent.map', { ...target(), projection: 'dims', jobId: 'enc-2' })),
    ]);
    assert.equal(launches, before + 1);
    assert.equal(m.encoding.createdAt, e.createdAt);
    assert.ok(progress.some((p) => p.jobId === 'enc-2' && p.phase === 'encoding'), 'both requests hear the progress');
    assert.equal(e.count, 60, '10 % of the run\'s 600 samples');
    assert.equal(e.latentDim, 2);
    assert.equal(e.epoch, 1);
    assert.equal(e.split, 'validation');
    assert.deepEqual([e.width, e.height, e.channels], [28, 28, 1]);
    assert.equal(e.labels?.length, 10);
    assert.equal(e.klPerDim.length, 2);
    assert.ok(e.klPerDim.every((k) => k >= 0));
    assert.deepEqual([...e.dimsByKl].sort(), [0, 1]);
    assert.ok(e.klPerDim[e.dimsByKl[0]!]! >= e.klPerDim[e.dimsByKl[1]!]!);
    // -ELBO per image in nats: above the KL, below 784 log 2 (a model no better than coin flips).
    assert.ok(e.negElboMean > e.klPerDim[0]! + e.klPerDim[1]! && e.negElboMean < 784 * Math.LN2, String(e.negElboMean));
    assert.equal(e.backend, 'cpu');
    const phases = new Set(progress.filter((p) => p.jobId === 'enc-1').map((p) => p.phase));
    assert.ok(phases.has('encoding') && phases.has('loading'), [...phases].join(','));
    assert.ok(progress.some((p) => p.jobId === 'enc-1' && p.phase === 'encoding' && p.done === 60 && p.total === 60));
    const again = await value<LatentEncoding>(studio.dispatch('latent.encode', { ...target(), checkpointEpoch: 1 }));
    assert.equal(launches, before + 1, 'served from the cache');
    assert.equal(again.createdAt, e.createdAt);
    const dir = path.join(dataDir, 'checkpoints', runId, 'latent', 'epoch-1', 'validation-0');
    for (const f of ['meta.json', 'mu.f32', 'logvar.f32', 'negelbo.f32', 'index.i32', 'label.i32', 'proj-pca.json', 'proj-pca.f32']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  });

  test('map: PCA of the means with its exact inverse; the points are the run\'s validation samples with their labels', async () => {
    const m = await value<LatentMap>(studio.dispatch('latent.map', { ...target(), projection: 'pca' }));
    const x = f32(m.x);
    const y = f32(m.y);
    const index = i32(m.index);
    assert.equal(x.length, 60);
    // The run's own seeded hold-out of its 600-sample subset of the 6000 digits.
    const val = splitIndices(6000, config, seedStreams(config.seed).split).val;
    assert.deepEqual(Array.from(index), Array.from(val));
    const digits = loadBuiltin('digits');
    assert.deepEqual(Array.from(i32(m.label!)), Array.from(index, (i) => digits.labels[i]!));
    assert.equal(f32(m.negElbo).length, 60);
    assert.ok(Math.abs(m.explainedVariance![0]! + m.explainedVariance![1]! - 1) < 1e-9, 'two dimensions: all the variance');
    assert.ok(m.explainedVariance![0]! >= m.explainedVariance![1]!);
    const v = await value<{ latentDim: number; mu: string }>(studio.dispatch('latent.vectors', { ...target(), rows: [0, 7, 59] }));
    const mu = f32(v.mu);
    const inv = await value<{ z: string }>(studio.dispatch('latent.invert', { ...target(), projection: 'pca', points: [[x[0]!, y[0]!], [x[7]!, y[7]!], [x[59]!, y[59]!]] }));
    const z = f32(inv.z);
    for (let k = 0; k < 6; k++) assert.ok(Math.abs(z[k]! - mu[k]!) < 1e-4, `pca inverse ${k}: ${z[k]} vs ${mu[k]}`);
    // The contract's formula gives the same vectors.
    const { mean, components } = m.pca!;
    assert.ok(Math.abs(mean[0]! + x[7]! * components[0][0]! + y[7]! * components[1][0]! - mu[2]!) < 1e-4);
  });

  test('map on native dimensions (default: the two of highest KL) and its inverse', async () => {
    const m = await value<LatentMap>(studio.dispatch('latent.map', { ...target(), projection: 'dims' }));
    assert.deepEqual(m.dims, m.encoding.dimsByKl.slice(0, 2));
    const v = await value<{ mu: string }>(studio.dispatch('latent.vectors', { ...target(), rows: [3] }));
    const mu = f32(v.mu);
    assert.equal(f32(m.x)[3], mu[m.dims![0]]);
    assert.equal(f32(m.y)[3], mu[m.dims![1]]);
    const inv = await value<{ z: string }>(studio.dispatch('latent.invert', { ...target(), projection: 'dims', dims: [1, 0], points: [[0.25, -0.5]] }));
    assert.deepEqual(Array.from(f32(inv.z)), [-0.5, 0.25]);
  });

  test('UMAP and t-SNE: computed once in a worker, cached; the inverse at a point is that point\'s latent vector', async () => {
    for (const projection of ['umap', 'tsne'] as const) {
      const before = launches;
      const m = await value<LatentMap>(studio.dispatch('latent.map', { ...target(), projection, jobId: `map-${projection}` }));
      assert.equal(launches, before + 1, `${projection} ran in one worker`);
      assert.ok(progress.some((p) => p.jobId === `map-${projection}` && p.phase === 'projecting'));
      const x = f32(m.x);
      const y = f32(m.y);
      assert.equal(x.length, 60);
      assert.ok(x.every(Number.isFinite) && y.every(Number.isFinite));
      const again = await value<LatentMap>(studio.dispatch('latent.map', { ...target(), projection }));
      assert.equal(again.x, m.x);
      assert.equal(launches, before + 1, `${projection} served from the cache`);
      const v = f32((await value<{ mu: string }>(studio.dispatch('latent.vectors', { ...target(), rows: [11] }))).mu);
      const inv = f32((await value<{ z: string }>(studio.dispatch('latent.invert', { ...target(), projection, points: [[x[11]!, y[11]!], [x[11]! + 0.01, y[11]!]] }))).z);
      assert.deepEqual(Array.from(inv.subarray(0, 2)), Array.from(v));
      assert.ok(inv.subarray(2).every(Number.isFinite));
    }
  });

  test('attribute vector: mean of the group minus mean of the rest', async () => {
    const rows = [0, 1, 2, 3, 4];
    const a = await value<{ direction: number[]; norm: number; groupSize: number; restSize: number }>(studio.dispatch('latent.attribute', { ...target(), rows }));
    const all = f32((await value<{ mu: string }>(studio.dispatch('latent.vectors', { ...target(), rows: Array.from({ length: 60 }, (_, i) => i) }))).mu);
    const mean = (from: number, to: number, j: number) => {
      let s = 0;
      for (let r = from; r < to; r++) s += all[r * 2 + j]!;
      return s / (to - from);
    };
    assert.equal(a.groupSize, 5);
    assert.equal(a.restSize, 55);
    for (let j = 0; j < 2; j++) assert.ok(Math.abs(a.direction[j]! - (mean(0, 5, j) - mean(5, 60, j))) < 1e-5);
    assert.ok(Math.abs(a.norm - Math.hypot(...a.direction)) < 1e-9);
  });

  test('decoder weights load in tfjs from memory and decode like latent.decode', async () => {
    const w = await value<DecoderWeights>(studio.dispatch('latent.decoder', { runId }));
    assert.equal(w.latentDim, 2);
    assert.equal(w.likelihood, 'bernoulli');
    const weightData = new Uint8Array(Buffer.from(w.weights, 'base64')).buffer;
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: w.modelJson.modelTopology as object, weightSpecs: w.modelJson.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[], weightData }),
    );
    const z = Float32Array.from([0, 0, 1.5, -0.5, -2, 1]);
    const out = model.predict(tf.tensor2d(z, [3, 2])) as tf.Tensor;
    const mine = likelihoodMean('bernoulli', (await out.data()) as Float32Array);
    out.dispose();
    model.dispose();
    const before = launches;
    const d = await value<{ count: number; width: number; height: number; channels: number; pixels: string }>(studio.dispatch('latent.decode', { runId, z: b64(z) }));
    assert.equal(launches, before + 1, 'decoded in a worker');
    assert.deepEqual([d.count, d.width, d.height, d.channels], [3, 28, 28, 1]);
    const px = Buffer.from(d.pixels, 'base64');
    assert.equal(px.length, 3 * 784);
    let worst = 0;
    for (let k = 0; k < px.length; k++) worst = Math.max(worst, Math.abs(px[k]! - mine[k]! * 255));
    assert.ok(worst <= 0.5 + 1e-3, `worst pixel difference ${worst}`);
    assert.ok(!fs.readdirSync(path.join(dataDir, 'checkpoints', runId, 'latent')).some((e) => e.startsWith('.decode-')), 'temporary files removed');
  });

  test('images: dataset pixels by sample index', async () => {
    const r = await value<{ width: number; height: number; channels: number; pixels: string }>(studio.dispatch('latent.images', { runId, indices: [5, 0] }));
    const digits = loadBuiltin('digits');
    const px = Buffer.from(r.pixels, 'base64');
    assert.deepEqual(Array.from(px.subarray(0, 784)), Array.from(digits.images.subarray(5 * 784, 6 * 784)));
    assert.deepEqual(Array.from(px.subarray(784)), Array.from(digits.images.subarray(0, 784)));
    const bad = await failure(studio.dispatch('latent.images', { runId, indices: [6000] }));
    assert.equal(bad.field, 'indices');
  });

  test('cancelling an encoding ends it with CANCELLED and leaves no folder behind', async () => {
    const before = launches;
    const p = studio.dispatch('latent.encode', { runId, split: 'all', jobId: 'to-cancel' });
    await until(() => progress.some((x) => x.jobId === 'to-cancel'), 60_000, 'the job reports progress');
    const c = await value<{ cancelled: boolean }>(studio.dispatch('latent.cancel', { jobId: 'to-cancel' }));
    assert.equal(c.cancelled, true);
    const err = await failure(p);
    assert.equal(err.code, 'CANCELLED');
    assert.equal(launches, before + 1);
    const epochDir = path.join(dataDir, 'checkpoints', runId, 'latent', 'epoch-1');
    // The killed process may still be exiting; its temporary folder is removed when it has.
    await until(() => fs.readdirSync(epochDir).every((e) => e === 'validation-0'), 10_000, 'only the earlier encoding remains');
    const none = await value<{ cancelled: boolean }>(studio.dispatch('latent.cancel', { jobId: 'to-cancel' }));
    assert.equal(none.cancelled, false, 'nothing left to cancel');
  });

  test('an imported MNIST-format dataset: the official test split, labels from its labels file, training samples only before it', async () => {
    const folder = path.join(tmpDir(), 'tiny-mnist');
    const drawn = writeMnistFolder(folder, 100, 30, 'none');
    const imported = await value<{ dataset: DatasetInfo }>(studio.dispatch('datasets.import', { paths: [folder] }));
    const id = await trainRun(studio, imported.dataset.id, { ...config, maxSamples: 0, validationFraction: 0.2 });
    const test = await value<LatentMap>(studio.dispatch('latent.map', { runId: id, split: 'test', projection: 'pca' }));
    assert.equal(test.encoding.count, 30);
    assert.deepEqual(Array.from(i32(test.index)), Array.from({ length: 30 }, (_, i) => 100 + i));
    assert.deepEqual(Array.from(i32(test.label!)), Array.from(drawn.test.labels));
    const trainMap = await value<LatentMap>(studio.dispatch('latent.map', { runId: id, split: 'train', projection: 'dims' }));
    assert.equal(trainMap.encoding.count, 80, '100 training samples minus the 20 % hold-out');
    assert.ok(Array.from(i32(trainMap.index)).every((i) => i < 100), 'no test sample among the training ones');
    const img = await value<{ pixels: string }>(studio.dispatch('latent.images', { runId: id, indices: [101] }));
    assert.deepEqual(Array.from(Buffer.from(img.pixels, 'base64')), Array.from(drawn.test.pixels.subarray(784, 2 * 784)));
    // Evaluation on the validation split draws the same hold-out as training did: 20 % of the 100
    // training samples, not of all 130.
    const ev = await value<{ count: number }>(studio.dispatch('runs.eval', { id, split: 'validation', iwaeK: 0 }));
    assert.equal(ev.count, 20);
  });

  test('errors name the field and the reason', async () => {
    let e = await failure(studio.dispatch('latent.encode', { runId: 'no-such-run' }));
    assert.deepEqual([e.code, e.field], ['NOT_FOUND', 'runId']);
    e = await failure(studio.dispatch('latent.encode', { runId, checkpointEpoch: 9 }));
    assert.deepEqual([e.code, e.field], ['NOT_FOUND', 'checkpointEpoch']);
    assert.match(e.message, /has 1$/);
    e = await failure(studio.dispatch('latent.map', { ...target(), projection: 'dims', dims: [0, 2] }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'dims']);
    e = await failure(studio.dispatch('latent.invert', { ...target(), projection: 'dims', dims: [5, 0], points: [[0, 0]] }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'dims']);
    e = await failure(studio.dispatch('latent.encode', { runId, split: 'test' }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'split']);
    assert.match(e.message, /no official test split/);
    e = await failure(studio.dispatch('latent.decode', { runId, z: 'not base64!' }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'z']);
    e = await failure(studio.dispatch('latent.decode', { runId, z: b64(Float32Array.from([1, 2, 3])) }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'z']);
    assert.match(e.message, /multiple of 8 bytes/);
    e = await failure(studio.dispatch('latent.vectors', { ...target(), rows: [60] }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'rows']);
    e = await failure(studio.dispatch('latent.attribute', { ...target(), rows: Array.from({ length: 60 }, (_, i) => i) }));
    assert.deepEqual([e.code, e.field], ['INVALID_INPUT', 'rows']);
    // A run whose checkpoints are gone.
    const cp = path.join(dataDir, 'checkpoints', runId, 'epoch-1');
    fs.renameSync(cp, `${cp}.away`);
    try {
      e = await failure(studio.dispatch('latent.decoder', { runId }));
      assert.deepEqual([e.code, e.field], ['NOT_FOUND', 'runId']);
      assert.match(e.message, /no checkpoint/);
    } finally {
      fs.renameSync(`${cp}.away`, cp);
    }
  });

  test('a checkpoint written again (a resumed run) makes its cached encoding stale', async () => {
    const first = await value<LatentEncoding>(studio.dispatch('latent.encode', target()));
    const before = launches;
    const meta = path.join(dataDir, 'checkpoints', runId, 'epoch-1', 'checkpoint.json');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(meta, later, later);
    const again = await value<LatentEncoding>(studio.dispatch('latent.encode', target()));
    assert.equal(launches, before + 1, 'encoded again');
    assert.ok(again.createdAt > first.createdAt);
    const dir = path.join(dataDir, 'checkpoints', runId, 'latent', 'epoch-1', 'validation-0');
    assert.ok(!fs.existsSync(path.join(dir, 'proj-umap.json')), 'the projections of the old encoding went with it');
  });
});
