/**
 * Checkpoints with full state: optimiser state and RNG streams survive a write/read round trip
 * exactly, writes are atomic (temp folder + rename) and refuse non-finite state, and a run resumed
 * from a checkpoint continues exactly like the uninterrupted run (pure tfjs 'cpu' backend).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TrainConfigSchema, type TrainConfigInput } from '../../../src-main/contract/config.ts';
import {
  checkpointFolderName,
  listCheckpoints,
  NonFiniteStateError,
  readCheckpointMeta,
  readModelWeights,
  writeCheckpoint,
} from '../../../src-main/core/checkpoint.ts';
import { applyResumeState, captureLoopState, describeFailure, loadResumeState, TrainingDivergedError } from '../../../src-main/core/resume.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { generateDigits } from '../../../src-main/core/sample-data.ts';
import type { TrainOptions } from '../../../src-main/core/train.ts';
import { buildVae } from '../../../src-main/core/vae.ts';
import { tmpDir } from '../../helpers/tmp.ts';
import { runLoop as trainLoop } from '../../helpers/train-loop.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

const model = { hidden: [16], latentDim: 3, activation: 'relu' as const, kind: 'mlp' as const, channels: [8], kernelSize: 4, denseUnits: 0 };
const DIM = 49;
const meta = (epoch: number, step: number) => ({
  epoch,
  step,
  config: TrainConfigSchema.parse({ model: { hidden: [16], latentDim: 3 } }),
  input: { width: 7, height: 7, channels: 1 },
  dim: DIM,
  paramCount: 0,
  metrics: null,
});

/** A few Adam steps on a fixed batch, so that the moments and the iteration count are non-trivial. */
function adamSteps(vae: ReturnType<typeof buildVae>, opt: tf.Optimizer, steps: number, seed: number) {
  const rng = new Rng(seed);
  const vars = [...vae.encoder.trainableWeights, ...vae.decoder.trainableWeights].map((w) => w.read() as tf.Variable);
  for (let s = 0; s < steps; s++) {
    const x = tf.tensor2d(Float32Array.from({ length: 8 * DIM }, () => rng.uniform()), [8, DIM]);
    opt.minimize(
      () => {
        const [mu] = vae.encoder.apply(x) as tf.Tensor2D[];
        const out = vae.decoder.apply(mu!) as tf.Tensor2D;
        return out.sub(x).square().mean() as tf.Scalar;
      },
      false,
      vars,
    );
    x.dispose();
  }
}

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('Rng state', () => {
  test('a generator restored from getState() continues with the same draws, the waiting normal included', () => {
    const a = new Rng(5);
    a.normal(); // leaves the Box-Muller spare waiting
    a.uniform();
    a.normal(); // takes it
    a.normal(); // leaves another one waiting
    const state = JSON.parse(JSON.stringify(a.getState())) as ReturnType<Rng['getState']>;
    assert.notEqual(state.spare, null);
    const b = Rng.fromState(state);
    const da = [a.normal(), a.normal(), a.uniform(), a.int(1000), a.normal()];
    const db = [b.normal(), b.normal(), b.uniform(), b.int(1000), b.normal()];
    assert.deepEqual(db, da);
    assert.throws(() => Rng.fromState({ state: -1, spare: null }), /invalid Rng state/);
  });
});

describe('writeCheckpoint / loadResumeState', () => {
  test('optimizer state, weights and loop state round-trip exactly; the restored pair takes the same next step', async () => {
    const dir = tmpDir();
    const tensorsBefore = tf.memory().numTensors;
    const vae = buildVae(tf, model, DIM, 1);
    const opt = tf.train.adam(0.01);
    adamSteps(vae, opt, 5, 1);
    const shuffle = new Rng(3);
    shuffle.normal();
    const state = captureLoopState(1234.5, { shuffle }, { best: 12.5, sinceBest: 1 });
    const written = await writeCheckpoint(tf, dir, { encoder: vae.encoder, decoder: vae.decoder, optimizer: opt, state, meta: meta(2, 10) });
    assert.equal(written.path, path.join(dir, 'epoch-2'));
    assert.ok(written.bytes > 0);
    for (const f of ['checkpoint.json', 'optimizer.bin', 'encoder/model.json', 'encoder/weights.bin', 'decoder/weights.bin']) {
      assert.ok(fs.existsSync(path.join(written.path, f)), f);
    }
    const m = await readCheckpointMeta(written.path);
    assert.equal(m.version, 2);
    assert.equal(m.optimizer?.className, 'Adam');
    // iter + first and second moments of the 8 trainable tensors (4 dense layers: kernel + bias).
    assert.equal(m.optimizer?.weights.length, 1 + 2 * vae.encoder.trainableWeights.length + 2 * vae.decoder.trainableWeights.length);
    assert.deepEqual(m.state, state);

    const r = await loadResumeState(tf, written.path);
    assert.equal(r.epoch, 2);
    assert.equal(r.step, 10);
    const vae2 = buildVae(tf, model, DIM, 99); // other initial weights: all must be overwritten
    const opt2 = tf.train.adam(0.01);
    const { rng } = await applyResumeState(r, { encoder: vae2.encoder, decoder: vae2.decoder, optimizer: opt2 });
    r.dispose();
    assert.deepEqual(weightsOf(vae2.encoder), weightsOf(vae.encoder));
    assert.deepEqual(weightsOf(vae2.decoder), weightsOf(vae.decoder));
    assert.equal(rng['shuffle']!.uniform(), shuffle.uniform());
    assert.equal((opt2 as unknown as { iterations: number }).iterations, 5);

    // One more identical step on both: Adam's moments and bias correction were restored.
    adamSteps(vae, opt, 1, 77);
    adamSteps(vae2, opt2, 1, 77);
    const a = weightsOf(vae.decoder).flat();
    const b = weightsOf(vae2.decoder).flat();
    // Adam's bias-correction powers are recomputed as beta^(t+1) instead of accumulated products:
    // equal up to float32 rounding, far below the 1e-2 step size.
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
    assert.ok(worst < 1e-6, `difference after one step ${worst}`);

    for (const t of [vae.encoder, vae.decoder, vae2.encoder, vae2.decoder]) t.dispose();
    opt.dispose();
    opt2.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaked by write, read and apply');
  });

  test('atomic: a rewrite replaces the folder, stale temp folders are never listed and are cleaned up', async () => {
    const dir = tmpDir();
    const vae = buildVae(tf, model, DIM, 1);
    await writeCheckpoint(tf, dir, { encoder: vae.encoder, decoder: vae.decoder, meta: meta(1, 5) });
    // What a crash mid-write leaves behind, and a folder whose metadata does not read.
    fs.mkdirSync(path.join(dir, '.epoch-2.tmp-1-2'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'epoch-7'));
    fs.writeFileSync(path.join(dir, 'epoch-7', 'checkpoint.json'), '{"format": "vae-studio-checkpoint", ');
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.epoch), [1]);
    await writeCheckpoint(tf, dir, { encoder: vae.encoder, decoder: vae.decoder, meta: meta(1, 6) });
    assert.equal((await readCheckpointMeta(path.join(dir, checkpointFolderName(1)))).step, 6);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['epoch-1', 'epoch-7']);
    assert.equal((await listCheckpoints(path.join(dir, 'missing'))).length, 0);
    vae.encoder.dispose();
    vae.decoder.dispose();
  });

  test('NaN weights are refused and the previous checkpoint stays the latest', async () => {
    const dir = tmpDir();
    const vae = buildVae(tf, model, DIM, 1);
    await writeCheckpoint(tf, dir, { encoder: vae.encoder, decoder: vae.decoder, meta: meta(1, 5) });
    const w = vae.decoder.getWeights();
    const bad = w.map((t, i) => (i === 0 ? tf.fill(t.shape, Number.NaN) : t.clone()));
    vae.decoder.setWeights(bad);
    tf.dispose(bad);
    await assert.rejects(
      writeCheckpoint(tf, dir, { encoder: vae.encoder, decoder: vae.decoder, meta: meta(2, 10) }),
      (e: unknown) => e instanceof NonFiniteStateError && /decoder/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(dir), ['epoch-1']);
    const good = await readModelWeights(tf, path.join(dir, 'epoch-1'), 'decoder');
    assert.ok(good.every((t) => t.dataSync().every(Number.isFinite)));
    tf.dispose(good);
    vae.encoder.dispose();
    vae.decoder.dispose();
  });

  test('a checkpoint without optimizer or loop state cannot be resumed, with a clear reason', async () => {
    const dir = tmpDir();
    const vae = buildVae(tf, model, DIM, 1);
    const w = await writeCheckpoint(tf, dir, { encoder: vae.encoder, decoder: vae.decoder, meta: meta(1, 5) });
    await assert.rejects(loadResumeState(tf, w.path), /no optimizer or loop state/);
    vae.encoder.dispose();
    vae.decoder.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// Exact resume of the training loop itself.

function smallDigits(count: number) {
  const full = generateDigits({ count, seed: 3 });
  const images = new Uint8Array(count * 196);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < 14; y++)
      for (let x = 0; x < 14; x++) images[i * 196 + y * 14 + x] = full.images[i * 784 + 2 * y * 28 + 2 * x]!;
  return { images, count, width: 14, height: 14, channels: 1 };
}
const data = smallDigits(300);

const tiny = (over: TrainConfigInput) =>
  TrainConfigSchema.parse({
    model: { hidden: [24], latentDim: 3 },
    batchSize: 32,
    epochs: 3,
    maxSamples: 240,
    validationFraction: 0.2,
    optimizer: { learningRate: 3e-3 },
    backend: 'cpu',
    ...over,
  });

const runLoop = (config: ReturnType<typeof tiny>, extra: Partial<TrainOptions> = {}) => trainLoop(tf, config, data, extra);

/** Relative closeness of every numeric metric except wall-clock ones. */
function assertClose(a: object, b: object, what: string, tol = 1e-5): void {
  const skip = new Set(['samplesPerSec', 'timeMs', 'durationMs']);
  for (const [k, va] of Object.entries(a)) {
    if (skip.has(k)) continue;
    const vb = (b as Record<string, unknown>)[k];
    if (typeof va === 'number') {
      assert.equal(typeof vb, 'number', `${what}.${k}`);
      const d = Math.abs(va - (vb as number)) / Math.max(1e-6, Math.abs(va));
      assert.ok(d <= tol, `${what}.${k}: ${va} vs ${vb as number} (relative ${d})`);
    } else if (Array.isArray(va)) {
      (va as number[]).forEach((x, i) => assertClose({ v: x }, { v: (vb as number[])[i] }, `${what}.${k}[${i}]`, tol));
    } else assert.deepEqual(vb, va, `${what}.${k}`);
  }
}

const VARIANTS: [string, TrainConfigInput][] = [
  ['adam', {}],
  ['adamw + cosine schedule + KL warm-up + dynamic binarisation', { optimizer: { name: 'adamw', learningRate: 3e-3 }, lrSchedule: { kind: 'cosine', warmupSteps: 5 }, klWarmup: { schedule: 'linear', steps: 12 }, binarization: 'dynamic' }],
  ['rmsprop + learned Gaussian sigma', { optimizer: { name: 'rmsprop', learningRate: 1e-3 }, likelihood: 'gaussian', gaussianSigmaMode: 'learned' }],
  ['sgd with momentum + early stopping + free bits', { optimizer: { name: 'sgd', learningRate: 0.05, momentum: 0.9 }, earlyStopping: { patience: 5 }, freeBits: 0.1 }],
];

describe('exact resume of train()', () => {
  for (const [name, over] of VARIANTS) {
    test(`${name}: 2 epochs + resume from the epoch-2 checkpoint = 3 uninterrupted epochs`, async () => {
      const config = tiny(over);
      const dirA = tmpDir();
      const a = await runLoop(config, { checkpointDir: dirA });
      assert.equal(a.epochs.length, 3);

      const dirB = tmpDir();
      // B stops early in its third epoch; its checkpoint of epoch 2 is the resume point.
      let stop = false;
      const b1 = await runLoop(config, {
        checkpointDir: dirB,
        onSteps: () => {},
        shouldStop: () => stop,
        onEpoch: (e) => {
          if (e.epoch === 2) setImmediate(() => (stop = true));
        },
      });
      assert.equal(b1.status, 'stopped');
      assert.deepEqual((await listCheckpoints(dirB)).map((c) => c.epoch), [1, 2]);

      const resume = await loadResumeState(tf, path.join(dirB, 'epoch-2'));
      const before = tf.memory().numTensors;
      let b2;
      try {
        b2 = await runLoop(config, { checkpointDir: dirB, resume });
      } finally {
        resume.dispose();
      }
      assert.equal(tf.memory().numTensors, before - (resume.encoderWeights.length + resume.decoderWeights.length + resume.optimizer.weights.length));
      assert.equal(b2.status, 'completed');
      // Step numbering continues after the checkpoint; every step and the last epoch match A's.
      const aAfter = a.steps.filter((s) => s.step > a.epochs[1]!.step);
      assert.deepEqual(b2.steps.map((s) => s.step), aAfter.map((s) => s.step));
      b2.steps.forEach((s, i) => assertClose(aAfter[i]!, s, `step ${s.step}`));
      assert.deepEqual(b2.epochs.map((e) => e.epoch), [3]);
      assertClose(a.epochs[2]!, b2.epochs[0]!, 'epoch 3');
      // The step times continue from the checkpoint's elapsed time.
      assert.ok(b2.steps[0]!.timeMs >= (await readCheckpointMeta(path.join(dirB, 'epoch-2'))).state!.elapsedMs);
      // And the final weights agree.
      for (const part of ['encoder', 'decoder'] as const) {
        const wa = await readModelWeights(tf, path.join(dirA, 'epoch-3'), part);
        const wb = await readModelWeights(tf, path.join(dirB, 'epoch-3'), part);
        wa.forEach((t, i) => {
          const x = t.dataSync();
          const y = wb[i]!.dataSync();
          for (let j = 0; j < x.length; j++) assert.ok(Math.abs(x[j]! - y[j]!) <= 1e-5 * Math.max(1, Math.abs(x[j]!)), `${part} weight ${i}[${j}]`);
        });
        tf.dispose([...wa, ...wb]);
      }
    });
  }

  test('a NaN loss ends training with TrainingDivergedError; a NaN in the weights at an epoch end keeps the last good checkpoint', async () => {
    const config = tiny({ epochs: 4 });
    // The live decoder's output layer (every registered one: the loop's model is among them).
    const poison = () => {
      const vs = Object.values(tf.engine().state.registeredVariables).filter((x) => x.name.startsWith('dec_out/kernel') && x.trainable);
      assert.ok(vs.length > 0, 'the decoder output kernel');
      for (const v of vs) tf.tidy(() => v.assign(tf.fill(v.shape, Number.NaN)));
    };
    // NaN weights mid-epoch: the next step's loss is NaN.
    let n = 0;
    await assert.rejects(
      runLoop(config, { checkpointDir: tmpDir(), onSteps: () => void (++n === 3 && poison()) }),
      (e: unknown) => e instanceof TrainingDivergedError && e.step === 4 && /diverged at epoch 1, step 4/.test(e.message),
    );
    // NaN weights right after epoch 2's metrics: its checkpoint is refused, epoch 1's stays.
    const dir = tmpDir();
    await assert.rejects(
      runLoop(config, { checkpointDir: dir, onEpoch: (e) => void (e.epoch === 2 && poison()) }),
      (e: unknown) => e instanceof NonFiniteStateError,
    );
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.epoch), [1]);
    assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith('.')), 'no temporary folder left');
  });
});

describe('describeFailure', () => {
  test('a divergence names the last good checkpoint (or says there is none); other failures keep their message', () => {
    const div = new TrainingDivergedError('training diverged at epoch 3, step 30: the loss became NaN', 3, 30);
    assert.deepEqual(describeFailure(div, { epoch: 2, step: 20, path: '/x/epoch-2' }), {
      message: 'training diverged at epoch 3, step 30: the loss became NaN. The last good checkpoint is epoch 2 (step 20), kept at /x/epoch-2.',
      diverged: true,
    });
    assert.match(describeFailure(div, null).message, /NaN\. No checkpoint had been written yet\.$/);
    assert.equal(describeFailure(new NonFiniteStateError('the decoder'), null).diverged, true);
    assert.deepEqual(describeFailure(new Error('dataset file missing'), { epoch: 2, step: 20, path: '/x' }), { message: 'dataset file missing', diverged: false });
  });
});
