/**
 * Per-epoch previews (trainer/previews.ts, runs.previews): the fixed prior draws and image batch,
 * the rendering against a model whose output is known in closed form, the atomic file format,
 * and the command's answers (latest epoch, a chosen epoch, unknown epoch or run).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { LayersModel, Tensor2D } from '@tensorflow/tfjs';
import { TrainConfigSchema, type Result, type RunSummary } from '../../../src-main/contract/index.ts';
import type { RunPreviews } from '../../../src-main/contract/history.ts';
import { memorySource } from '../../../src-main/core/data-source.ts';
import { seedStreams, splitIndices } from '../../../src-main/core/train.ts';
import { runFolder } from '../../../src-main/services/run-ops.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import {
  PREVIEW_RECONSTRUCTIONS,
  PREVIEW_SAMPLES,
  listPreviewEpochs,
  previewIndices,
  previewsFolder,
  priorDraws,
  readPreviews,
  renderPreviews,
  writePreviews,
} from '../../../src-main/trainer/previews.ts';
import { fakeLauncher, until } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};

describe('fixed inputs', () => {
  test('prior draws depend on the latent size only, and look standard normal', () => {
    const a = priorDraws(8);
    assert.equal(a.length, PREVIEW_SAMPLES * 8);
    assert.deepEqual(priorDraws(8), a);
    assert.notDeepEqual(priorDraws(4), a.subarray(0, PREVIEW_SAMPLES * 4));
    const big = priorDraws(32, 1000);
    const mean = big.reduce((s, v) => s + v, 0) / big.length;
    const variance = big.reduce((s, v) => s + (v - mean) ** 2, 0) / big.length;
    // 32,000 draws: the sample mean's standard error is 0.0056, the variance's 0.008.
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  });

  test('the reconstructed images are the first 16 of the validation hold-out, else of the training split', () => {
    const config = TrainConfigSchema.parse({ seed: 7, maxSamples: 500, validationFraction: 0.2 });
    const { train, val } = splitIndices(1000, config, seedStreams(7).split);
    assert.deepEqual(previewIndices(config, 1000), val.slice(0, PREVIEW_RECONSTRUCTIONS));
    assert.deepEqual(previewIndices(config, 1000), previewIndices(config, 1000));
    const noVal = TrainConfigSchema.parse({ seed: 7, maxSamples: 500, validationFraction: 0 });
    const split0 = splitIndices(1000, noVal, seedStreams(7).split);
    assert.deepEqual(previewIndices(noVal, 1000), split0.train.slice(0, PREVIEW_RECONSTRUCTIONS));
    assert.equal(new Set(previewIndices(config, 1000)).size, PREVIEW_RECONSTRUCTIONS);
    void train;
    // A tiny dataset gives what it has.
    assert.equal(previewIndices(TrainConfigSchema.parse({ validationFraction: 0 }), 5).length, 5);
  });
});

describe('rendering', () => {
  test('reconstructions at z = mu and prior samples match a model known in closed form', async () => {
    await tf.setBackend('cpu');
    // 2x2 grey images (D = 4), latent size 2. Encoder: mu = (x0, x1). Decoder (Gaussian mean):
    // (z0, z1, z0, z1), clipped to [0, 1] and scaled to 0..255.
    const encoder = { apply: (x: Tensor2D) => [x.slice([0, 0], [-1, 2]), tf.zerosLike(x.slice([0, 0], [-1, 2]))] } as unknown as LayersModel;
    const decoder = { apply: (z: Tensor2D) => tf.concat([z, z], 1) } as unknown as LayersModel;
    const images = Uint8Array.from({ length: 10 * 4 }, (_, i) => (i * 37) % 256);
    const data = memorySource({ images, count: 10, width: 2, height: 2, channels: 1 });
    const indices = Uint32Array.from([3, 0, 7]);
    const z = Float32Array.from([0.5, -1, 2, 0.25]);
    const before = tf.memory().numTensors;
    const px = await renderPreviews({
      tf,
      encoder,
      decoder,
      config: TrainConfigSchema.parse({ likelihood: 'gaussian' }),
      data,
      indices,
      z,
      latentDim: 2,
    });
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    const expectOriginals = [...indices].flatMap((i) => [...images.subarray(i * 4, i * 4 + 4)]);
    assert.deepEqual([...px.originals], expectOriginals);
    const expectRecon = [...indices].flatMap((i) => {
      const a = images[i * 4]!;
      const b = images[i * 4 + 1]!;
      return [a, b, a, b];
    });
    assert.deepEqual([...px.reconstructions], expectRecon);
    assert.deepEqual([...px.samples], [128, 0, 128, 0, 255, 64, 255, 64]);
  });
});

describe('files', () => {
  const meta = (epoch: number) => ({
    epoch,
    step: epoch * 10,
    width: 2,
    height: 1,
    channels: 1,
    latentDim: 2,
    indices: [4, 2],
    count: { reconstructions: 2, samples: 3 },
  });
  const px = (k: number) => ({
    originals: Uint8Array.from([k, k + 1, k + 2, k + 3]),
    reconstructions: Uint8Array.from([k + 4, k + 5, k + 6, k + 7]),
    samples: Uint8Array.from([1, 2, 3, 4, 5, k]),
  });

  test('round trip; epochs listed in numeric order; incomplete files and temp files are not listed', async () => {
    const dir = path.join(tmpDir(), 'previews');
    assert.deepEqual(await listPreviewEpochs(dir), [], 'a missing folder has no previews');
    for (const e of [10, 2, 9]) writePreviews(dir, meta(e), px(e));
    assert.deepEqual(await listPreviewEpochs(dir), [2, 9, 10]);
    const r = await readPreviews(dir, 9);
    assert.ok(r);
    assert.equal(r.meta.step, 90);
    assert.deepEqual([...r.pixels.originals], [9, 10, 11, 12]);
    assert.deepEqual([...r.pixels.reconstructions], [13, 14, 15, 16]);
    assert.deepEqual([...r.pixels.samples], [1, 2, 3, 4, 5, 9]);
    // Rewriting an epoch (a resumed run) replaces it.
    writePreviews(dir, meta(9), px(50));
    assert.deepEqual([...(await readPreviews(dir, 9))!.pixels.originals], [50, 51, 52, 53]);
    // A truncated .bin, a .json alone and a leftover temp file are not previews.
    fs.truncateSync(path.join(dir, 'epoch-10.bin'), 5);
    fs.writeFileSync(path.join(dir, 'epoch-11.json'), JSON.stringify({ format: 'vae-studio-previews', ...meta(11) }));
    fs.writeFileSync(path.join(dir, 'epoch-12.bin.tmp-1'), 'x');
    assert.deepEqual(await listPreviewEpochs(dir), [2, 9]);
    assert.equal(await readPreviews(dir, 10), null);
    assert.throws(() => writePreviews(dir, meta(3), { ...px(3), samples: new Uint8Array(2) }), /do not match/);
    assert.ok(!fs.existsSync(path.join(dir, 'epoch-3.json')));
  });

  test('runs.previews: the latest epoch by default, a chosen epoch, NOT_FOUND with the available epochs', async () => {
    const dataDir = tmpDir();
    const launcher = fakeLauncher((msg, t) => {
      if (msg.type === 'start') {
        t.emit({ type: 'done', status: 'completed' });
        t.exit(0);
      }
    });
    const studio = createStudio({ dataDir, mode: 'cli', launcher });
    try {
      const run = await value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', config: { epochs: 2 } }));
      await until(() => launcher.trainers[0]!.exited);
      const none = await value<RunPreviews>(studio.dispatch('runs.previews', { id: run.id }));
      assert.equal(none.epoch, null);
      assert.deepEqual(none.epochs, []);
      assert.equal(none.count.samples, 0);

      const dir = previewsFolder(runFolder(dataDir, run.id));
      writePreviews(dir, meta(1), px(1));
      writePreviews(dir, meta(2), px(2));
      const latest = await value<RunPreviews>(studio.dispatch('runs.previews', { id: run.id }));
      assert.deepEqual(latest.epochs, [1, 2]);
      assert.equal(latest.epoch, 2);
      assert.deepEqual([latest.width, latest.height, latest.channels], [2, 1, 1]);
      assert.deepEqual(latest.count, { reconstructions: 2, samples: 3 });
      assert.deepEqual([...Buffer.from(latest.originals, 'base64')], [2, 3, 4, 5]);
      assert.deepEqual([...Buffer.from(latest.reconstructions, 'base64')], [6, 7, 8, 9]);
      assert.deepEqual([...Buffer.from(latest.samples, 'base64')], [1, 2, 3, 4, 5, 2]);
      const first = await value<RunPreviews>(studio.dispatch('runs.previews', { id: run.id, epoch: 1 }));
      assert.equal(first.epoch, 1);
      assert.deepEqual([...Buffer.from(first.originals, 'base64')], [1, 2, 3, 4]);

      const bad = await studio.dispatch('runs.previews', { id: run.id, epoch: 3 });
      assert.ok(!bad.ok);
      assert.equal(bad.error.code, 'NOT_FOUND');
      assert.equal(bad.error.field, 'epoch');
      assert.match(bad.error.message, /epoch 1, 2/);
      const unknown = await studio.dispatch('runs.previews', { id: 'nope' });
      assert.ok(!unknown.ok);
      assert.equal(unknown.error.code, 'NOT_FOUND');
    } finally {
      await studio.close();
    }
  });
});
