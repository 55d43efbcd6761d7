/**
 * Model export end to end: real runs trained by real trainer processes (an MLP and a conv VAE on the
 * built-in digits), exported as TensorFlow.js and ONNX, and the written files loaded here with the
 * real runtimes — tf.loadLayersModel through a file-reading IO handler written in this test, and an
 * onnxruntime-node InferenceSession — never with the studio's export code. Their outputs on real
 * digit images match the checkpoint's own tfjs models within 1e-4. Bad requests fail with the right
 * code and field and leave nothing behind; a cancelled export leaves nothing; an export imported
 * back becomes a completed run with one checkpoint.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { CheckpointInfo, DatasetInfo, EvalResult, Result, RunSummary } from '../../src-main/contract/index.ts';
import type { ExportResult } from '../../src-main/contract/export.ts';
import { generateDigits } from '../../src-main/core/sample-data.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import type { Studio } from '../../src-main/services/studio-api.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import { jsonLines, runCli } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/tmp.ts';

tf.env().set('PROD', true);

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};

const failure = async (p: Promise<Result<unknown>>) => {
  const r = await p;
  assert.ok(!r.ok, `expected a failure, got ${JSON.stringify(r).slice(0, 300)}`);
  return r.error;
};

async function waitForEnd(studio: Studio, id: string, ms = 150_000): Promise<RunSummary> {
  const t0 = Date.now();
  for (;;) {
    const r = await value<RunSummary>(studio.dispatch('runs.get', { id }));
    if (!['queued', 'running'].includes(r.status)) return r;
    if (Date.now() - t0 > ms) throw new Error(`run ${id} still ${r.status} after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** tf.loadLayersModel from a folder on disk: this test's own reader of model.json + weights. */
async function loadTfjs(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel({
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const bufs = json.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
      const all = Buffer.concat(bufs);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
      };
    },
  });
}

function predict(model: tf.LayersModel, input: Float32Array, width: number): Float32Array[] {
  const x = tf.tensor2d(input, [input.length / width, width]);
  const out = model.predict(x) as tf.Tensor | tf.Tensor[];
  const outs = Array.isArray(out) ? out : [out];
  const data = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose([x, ...outs]);
  return data;
}

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((x, i) => {
    assert.equal(x.length, b[i]!.length);
    for (let j = 0; j < x.length; j++) m = Math.max(m, Math.abs(x[j]! - b[i]![j]!));
  });
  return m;
}

/** Ten real digit images, pixels / 255, and ten latent points on a grid. */
function inputs(latentDim: number): { x: Float32Array; z: Float32Array } {
  const d = generateDigits({ count: 10, seed: 5 });
  const x = Float32Array.from(d.images.subarray(0, 10 * 784), (v) => v / 255);
  const z = Float32Array.from({ length: 10 * latentDim }, (_, i) => Math.sin(i * 1.7) * 2);
  return { x, z };
}

/** Compares the export's tfjs and ONNX files with the checkpoint's models on real inputs. */
async function checkWithRuntimes(exp: ExportResult, checkpointDir: string, latentDim: number, decoderOutput: string): Promise<number[]> {
  const { x, z } = inputs(latentDim);
  const diffs: number[] = [];
  for (const [part, input, width, names] of [
    ['encoder', x, 784, ['mu', 'logvar']],
    ['decoder', z, latentDim, [decoderOutput]],
  ] as const) {
    const studioModel = await loadTfjs(path.join(checkpointDir, part));
    const expected = predict(studioModel, input, width);
    studioModel.dispose();
    const exported = await loadTfjs(path.join(exp.out, 'tfjs', part));
    diffs.push(maxDiff(predict(exported, input, width), expected));
    exported.dispose();
    const session = await ort.InferenceSession.create(path.join(exp.out, 'onnx', `${part}.onnx`));
    assert.deepEqual(session.inputNames, [part === 'encoder' ? 'x' : 'z']);
    assert.deepEqual(session.outputNames, [...names]);
    const res = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [input.length / width, width]) });
    diffs.push(maxDiff(names.map((n) => res[n]!.data as Float32Array), expected));
    await session.release();
  }
  for (const d of diffs) assert.ok(d <= 1e-4, `max |difference| ${d} > 1e-4 (${diffs.join(', ')})`);
  return diffs;
}

const entries = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

describe('model export (real trainer processes and runtimes)', { timeout: 300_000 }, () => {
  let studio: Studio;
  let dataDir: string;
  let mlp: RunSummary;
  let conv: RunSummary;
  /** The MLP's tfjs + ONNX export (first test), reused by the import tests. */
  let mlpExport: string;
  const checkpointOf = async (id: string) => (await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id }))).at(-1)!;

  before(async () => {
    dataDir = tmpDir('export-');
    studio = createStudio({ dataDir, mode: 'cli', launcher: () => forkTrainer() });
    const base = { epochs: 1, maxSamples: 300, batchSize: 64 };
    // Both train at once (two trainer processes). The conv net has three layers: 28 -> 14 -> 7 -> 4,
    // so its decoder produces 32 x 32 and crops 2 pixels on every side; kernel 3 pads unevenly.
    const [a, b] = await Promise.all([
      value<RunSummary>(studio.dispatch('training.start', { datasetId: 'builtin-digits', name: 'mlp', config: { ...base, model: { hidden: [64], latentDim: 4, activation: 'leakyRelu' } } })),
      value<RunSummary>(
        studio.dispatch('training.start', {
          datasetId: 'builtin-digits',
          name: 'conv',
          config: { ...base, model: { kind: 'conv', channels: [4, 8, 8], kernelSize: 3, latentDim: 3, denseUnits: 16, activation: 'elu' } },
        }),
      ),
    ]);
    mlp = await waitForEnd(studio, a.id);
    conv = await waitForEnd(studio, b.id);
    assert.equal(mlp.status, 'completed', mlp.error ?? '');
    assert.equal(conv.status, 'completed', conv.error ?? '');
  });
  after(async () => {
    await studio?.close();
  });

  test('MLP: tfjs + ONNX written, verified, loadable by tfjs and onnxruntime with the same outputs; manifest', async () => {
    const out = path.join(tmpDir('export-out-'), 'mlp export');
    const progress: string[] = [];
    const off = studio.subscribe((e, p) => {
      if (e === 'export.progress') progress.push((p as { phase: string }).phase);
    });
    const exp = await value<ExportResult>(studio.dispatch('export.run', { runId: mlp.id, formats: ['onnx', 'tfjs'], out }));
    off();
    assert.equal(exp.out, out);
    mlpExport = out;
    assert.equal(exp.epoch, 1);
    assert.deepEqual(exp.formats, ['tfjs', 'onnx']);
    assert.deepEqual(entries(out), ['manifest.json', 'onnx', 'tfjs']);
    assert.deepEqual(entries(path.dirname(out)), ['mlp export'], 'no temporary folder left');
    for (const f of exp.files) assert.equal(fs.statSync(f.path).size, f.bytes, f.path);
    assert.deepEqual(
      exp.files.map((f) => path.relative(out, f.path)).sort(),
      ['manifest.json', 'onnx/decoder.onnx', 'onnx/encoder.onnx', 'tfjs/decoder/model.json', 'tfjs/decoder/weights.bin', 'tfjs/encoder/model.json', 'tfjs/encoder/weights.bin'],
    );
    assert.equal(exp.verifications.length, 4);
    for (const v of exp.verifications) {
      assert.ok(v.passed && v.maxAbsDiff <= 1e-4 && v.tolerance === 1e-4, JSON.stringify(v));
    }
    assert.deepEqual(exp.verifications.map((v) => `${v.format}:${v.model}`).sort(), ['onnx:decoder', 'onnx:encoder', 'tfjs:decoder', 'tfjs:encoder']);
    assert.ok(progress.includes('onnx') && progress.includes('verify'), progress.join(','));

    const cp = await checkpointOf(mlp.id);
    const diffs = await checkWithRuntimes(exp, cp.path, 4, 'x_logits');
    console.log(`MLP export: max |runtime - studio| tfjs enc ${diffs[0]}, onnx enc ${diffs[1]}, tfjs dec ${diffs[2]}, onnx dec ${diffs[3]}`);

    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.equal(m.format, 'vae-studio-model');
    assert.equal(m.version, 1);
    assert.equal(m.run.id, mlp.id);
    assert.deepEqual(m.checkpoint, { epoch: 1, step: cp.step });
    assert.deepEqual(m.config, mlp.config);
    assert.equal(m.dataset.fingerprint, 'builtin:digits');
    assert.deepEqual(m.input, { width: 28, height: 28, channels: 1, dim: 784 });
    assert.equal(m.preprocessing.layout, 'HWC');
    assert.deepEqual(m.preprocessing.range, [0, 1]);
    assert.equal(m.likelihood.kind, 'bernoulli');
    assert.equal(m.likelihood.toPixelMean, 'sigmoid(x_logits)');
    assert.deepEqual(m.models.encoder.inputs, [{ name: 'x', shape: [null, 784] }]);
    assert.deepEqual(m.models.encoder.outputs.map((o: { name: string }) => o.name), ['mu', 'logvar']);
    assert.deepEqual(m.models.decoder.outputs, [{ name: 'x_logits', shape: [null, 784] }]);
    assert.equal(m.models.encoder.onnx, 'onnx/encoder.onnx');
    assert.equal(m.models.decoder.tfjs, 'tfjs/decoder/model.json');
    assert.equal(m.versions.tfjs, '4.22.0');
    assert.match(m.versions.onnxruntime, /^\d+\.\d+/);
    assert.equal(m.versions.onnxOpset, 13);
    assert.equal(m.metrics.epoch, 1);
    assert.equal(m.verifications.length, 4);
  });

  test('conv (3 layers, cropped decoder): tfjs + ONNX match the checkpoint within 1e-4; default folder under exports/', async () => {
    const exp = await value<ExportResult>(studio.dispatch('export.run', { runId: conv.id, formats: ['tfjs', 'onnx'] }));
    assert.equal(path.dirname(exp.out), path.join(dataDir, 'exports'));
    assert.match(path.basename(exp.out), new RegExp(`^${conv.id}-epoch-1-\\d{8}-\\d{6}$`));
    assert.ok(exp.verifications.every((v) => v.passed), JSON.stringify(exp.verifications));
    const topo = JSON.parse(fs.readFileSync(path.join(exp.out, 'tfjs', 'decoder', 'model.json'), 'utf8'));
    assert.ok(topo.modelTopology.config.layers.some((l: { class_name: string }) => l.class_name === 'Cropping2D'), 'the decoder crops');
    const diffs = await checkWithRuntimes(exp, (await checkpointOf(conv.id)).path, 3, 'x_logits');
    console.log(`conv export: max |runtime - studio| ${diffs.map((d) => d.toExponential(2)).join(', ')}`);
  });

  test('bad requests fail with their code and field and leave no folder behind', async () => {
    const parent = tmpDir('export-bad-');
    const file = path.join(parent, 'a-file');
    fs.writeFileSync(file, 'x');
    const full = path.join(parent, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
    const before = entries(parent);

    let e = await failure(studio.dispatch('export.run', { runId: 'run-nope', formats: ['tfjs'], out: path.join(parent, 'x') }));
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.field, 'runId');
    e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['tfjs'], checkpointEpoch: 99, out: path.join(parent, 'x') }));
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(e.field, 'checkpointEpoch');
    assert.match(e.message, /epoch 99.*has 1\b/);
    e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['onnx'], out: path.join(file, 'sub', 'export') }));
    assert.equal(e.code, 'INVALID_INPUT');
    assert.equal(e.field, 'out');
    assert.match(e.message, /ENOTDIR|EEXIST/);
    e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['onnx'], out: full }));
    assert.equal(e.code, 'CONFLICT');
    assert.equal(e.field, 'out');
    e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['onnx'], out: file }));
    assert.equal(e.code, 'CONFLICT');
    e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['onnx'], out: 'relative/folder' }));
    assert.equal(e.code, 'INVALID_INPUT');
    assert.equal(e.field, 'out');
    e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['pdf'], out: path.join(parent, 'x') }));
    assert.equal(e.code, 'INVALID_INPUT');

    assert.deepEqual(entries(parent), before, 'nothing created');
    assert.deepEqual(entries(full), ['keep.txt']);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  });

  test('a failed verification is an error (EXPORT_VERIFY_FAILED) and nothing is kept, not even the new parent folders', async () => {
    const parent = tmpDir('export-verify-');
    process.env.VAE_STUDIO_EXPORT_TOLERANCE = '-1';
    try {
      const e = await failure(studio.dispatch('export.run', { runId: mlp.id, formats: ['onnx', 'metrics'], out: path.join(parent, 'new', 'deeper', 'out') }));
      assert.equal(e.code, 'EXPORT_VERIFY_FAILED');
      assert.match(e.message, /onnx encoder .*onnx decoder/);
    } finally {
      delete process.env.VAE_STUDIO_EXPORT_TOLERANCE;
    }
    assert.deepEqual(entries(parent), []);
  });

  test('cancelling an export kills its worker and leaves nothing', async () => {
    const parent = tmpDir('export-cancel-');
    const out = path.join(parent, 'out');
    const jobId = 'export-cancel-test';
    let sawProgress = false;
    const off = studio.subscribe((ev, p) => {
      if (ev !== 'export.progress' || (p as { jobId: string }).jobId !== jobId || sawProgress) return;
      sawProgress = true;
      void studio.dispatch('export.cancel', { jobId });
    });
    const e = await failure(studio.dispatch('export.run', { runId: conv.id, formats: ['tfjs', 'onnx'], out, jobId }));
    off();
    assert.ok(sawProgress);
    assert.equal(e.code, 'CANCELLED');
    assert.deepEqual(entries(parent), []);
    assert.deepEqual(await value(studio.dispatch('export.cancel', { jobId })), { jobId, cancelled: false });
  });

  test('import-model: an export becomes a completed run with one checkpoint on the matching dataset, which evaluates', async () => {
    const out = mlpExport;
    const run = await value<RunSummary>(studio.dispatch('export.importModel', { path: out, name: 'from elsewhere' }));
    assert.equal(run.status, 'completed');
    assert.equal(run.name, 'from elsewhere');
    assert.equal(run.datasetId, 'builtin-digits');
    assert.deepEqual(run.config, mlp.config);
    assert.notEqual(run.id, mlp.id);
    assert.equal(run.last?.epoch, 1);
    const cps = await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id: run.id }));
    assert.deepEqual(cps.map((c) => c.epoch), [1]);
    assert.ok(fs.existsSync(path.join(cps[0]!.path, 'encoder', 'model.json')));
    // The imported checkpoint computes what the original does.
    const { x } = inputs(4);
    const a = await loadTfjs(path.join(cps[0]!.path, 'encoder'));
    const b = await loadTfjs(path.join((await checkpointOf(mlp.id)).path, 'encoder'));
    assert.equal(maxDiff(predict(a, x, 784), predict(b, x, 784)), 0);
    a.dispose();
    b.dispose();
    const ev = await value<EvalResult>(studio.dispatch('runs.eval', { id: run.id, split: 'validation', maxSamples: 64, iwaeK: 0 }));
    assert.ok(Number.isFinite(ev.negElbo));
  });

  test('import-model: a model of an unknown dataset gets a placeholder dataset; bad folders fail clearly', async () => {
    const root = tmpDir('export-imp-');
    const out = path.join(root, 'model');
    fs.cpSync(mlpExport, out, { recursive: true });
    const mf = path.join(out, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(mf, 'utf8'));
    fs.writeFileSync(mf, JSON.stringify({ ...manifest, dataset: { ...manifest.dataset, name: 'Faces', fingerprint: 'sha256:0123' } }));
    const run = await value<RunSummary>(studio.dispatch('export.importModel', { path: out }));
    assert.match(run.datasetId, /^ds-model-/);
    assert.equal(run.name, `${mlp.name} (imported)`);
    const d = await value<DatasetInfo>(studio.dispatch('datasets.get', { id: run.datasetId }));
    assert.equal(d.count, 0);
    assert.equal(d.name, 'Faces (not in this studio)');
    // A second model of the same dataset shares the placeholder.
    const run2 = await value<RunSummary>(studio.dispatch('export.importModel', { path: out }));
    assert.equal(run2.datasetId, run.datasetId);

    const runsBefore = (await value<RunSummary[]>(studio.dispatch('runs.list', {}))).length;
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    let e = await failure(studio.dispatch('export.importModel', { path: empty }));
    assert.equal(e.code, 'INVALID_INPUT');
    assert.equal(e.field, 'path');
    assert.match(e.message, /manifest\.json/);
    e = await failure(studio.dispatch('export.importModel', { path: path.join(root, 'nothing-here') }));
    assert.equal(e.code, 'NOT_FOUND');

    fs.writeFileSync(mf, JSON.stringify({ ...manifest, format: 'keras-model' }));
    e = await failure(studio.dispatch('export.importModel', { path: out }));
    assert.match(e.message, /not a VAE Studio model manifest/);
    fs.writeFileSync(mf, JSON.stringify({ ...manifest, version: 99 }));
    e = await failure(studio.dispatch('export.importModel', { path: out }));
    assert.match(e.message, /version 99/);
    fs.writeFileSync(mf, JSON.stringify({ ...manifest, config: { ...manifest.config, likelihood: 'poisson' } }));
    e = await failure(studio.dispatch('export.importModel', { path: out }));
    assert.match(e.message, /config\.likelihood/);
    fs.writeFileSync(mf, JSON.stringify(manifest));
    fs.rmSync(path.join(out, 'tfjs', 'decoder', 'weights.bin'));
    e = await failure(studio.dispatch('export.importModel', { path: out }));
    assert.equal(e.code, 'INVALID_INPUT');
    assert.match(e.message, /missing weights .*weights\.bin/);
    assert.equal((await value<RunSummary[]>(studio.dispatch('runs.list', {}))).length, runsBefore, 'no run created by a failed import');
  });

  test('CLI: `export` with a comma list and a repeated --format prints files and checks; `runs import-model`', async () => {
    const out = path.join(tmpDir('export-cli-'), 'cli');
    const r = await runCli(['--data-dir', dataDir, 'export', mlp.id, '--format', 'onnx,tfjs', '--format', 'metrics', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${mlp.id} epoch 1 -> ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.stdout, /onnx\/encoder\.onnx\s+\d+ bytes/);
    assert.match(r.stdout, /verified onnx decoder with onnxruntime-node [\d.]+: max \|difference\| \S+ <= 0\.0001 {2}ok/);
    assert.equal(r.stdout.match(/ ok$/gm)?.length, 4);
    assert.ok(fs.existsSync(path.join(out, 'manifest.json')));

    const imp = await runCli(['--data-dir', dataDir, 'runs', 'import-model', out, '--name', 'cli import', '--json']);
    assert.equal(imp.code, 0, imp.stderr);
    const run = jsonLines(imp.stdout)[0] as unknown as RunSummary;
    assert.equal(run.name, 'cli import');
    assert.equal(run.status, 'completed');

  });
});
