/**
 * The results formats of an export, end to end on a tiny run trained by a real trainer process:
 * writeResultFormat writes each format into a fresh folder through real worker jobs (tfjs in a
 * forked trainer), and the files are read back: NPY headers and sizes, CSV columns and rows, PNG
 * grid sizes, each embedding's split, a self-contained report naming the run and its config (its
 * grids computed once when the export writes the grids too), and the sampler page, loaded
 * from file:// in Chromium with the network unused, drawing a non-blank image.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint } from '../../src-main/core/checkpoint.ts';
import { likelihoodMean } from '../../src-main/contract/likelihood.ts';
import type { CheckpointInfo, Result, RunSummary } from '../../src-main/contract/index.ts';
import { parseNpyHeader } from '../../src-main/core/formats/npy.ts';
import { seedStreams, splitIndices } from '../../src-main/core/train.ts';
import { resultShare, writeResultFormat, type ResultContext, type ResultFormat } from '../../src-main/services/export-results.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import type { Studio } from '../../src-main/services/studio-api.ts';
import { TrainingSupervisor } from '../../src-main/services/training.ts';
import { openStore, type Store } from '../../src-main/store/index.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import { CHROMIUM, CHROMIUM_ARGS, SHOTS } from '../helpers/e2e.ts';
import { tmpDir } from '../helpers/tmp.ts';

const LATENT = 3;

/** The decoder mean at z = 0 of a checkpoint, computed here with tfjs's cpu backend. */
async function decodeZero(dir: string): Promise<Float32Array> {
  const { decoder, encoder, meta } = await loadCheckpoint(tf, dir);
  try {
    const out = tf.tidy(() => decoder.predict(tf.zeros([1, LATENT])) as tf.Tensor);
    const v = likelihoodMean(meta.config.likelihood, (await out.data()) as Float32Array);
    out.dispose();
    return v;
  } finally {
    decoder.dispose();
    encoder.dispose();
  }
}

const value = async <T>(p: Promise<Result<unknown>>): Promise<T> => {
  const r = await p;
  assert.ok(r.ok, JSON.stringify(r));
  return r.value as T;
};

describe('results formats of an export (real trainer processes)', { timeout: 240_000 }, () => {
  let dataDir: string;
  let studio: Studio;
  let store: Store;
  let supervisor: TrainingSupervisor;
  let run: RunSummary;
  let checkpoint: CheckpointInfo;
  /** The report written by the report test, opened in Chromium by the sampler test. */
  let reportFile: string | null = null;

  before(async () => {
    dataDir = tmpDir('export-results-');
    studio = createStudio({ dataDir, mode: 'cli', launcher: () => forkTrainer() });
    const started = await value<RunSummary>(
      studio.dispatch('training.start', {
        datasetId: 'builtin-digits',
        name: 'Tiny, "quoted" <digits>',
        config: { maxSamples: 400, epochs: 2, batchSize: 100, validationFraction: 0.25, model: { latentDim: LATENT, hidden: [32] }, backend: 'cpu' },
      }),
    );
    for (;;) {
      run = await value<RunSummary>(studio.dispatch('runs.get', { id: started.id }));
      if (!['queued', 'running'].includes(run.status)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(run.status, 'completed', run.error ?? '');
    checkpoint = (await value<CheckpointInfo[]>(studio.dispatch('runs.checkpoints', { id: run.id }))).at(-1)!;
    store = openStore({ dataDir });
    supervisor = new TrainingSupervisor({ store, launcher: () => forkTrainer(), emit: () => {}, checkpointRoot: path.join(dataDir, 'checkpoints') });
  });

  after(async () => {
    store?.close();
    await studio?.close();
  });

  const context = (outDir: string, phases: string[] = [], signal = new AbortController().signal): ResultContext => ({
    store,
    supervisor,
    dataDir,
    run,
    checkpoint: { epoch: checkpoint.epoch, step: checkpoint.step, path: checkpoint.path },
    outDir,
    onProgress: (phase) => phases.push(phase),
    signal,
    studioVersion: '9.9.9-test',
  });

  async function write(format: ResultFormat): Promise<{ out: string; files: { path: string; bytes: number }[]; phases: string[] }> {
    const out = tmpDir(`export-${format}-`);
    const phases: string[] = [];
    const files = await writeResultFormat(format, context(out, phases));
    for (const f of files) assert.equal((await fs.stat(path.join(out, f.path))).size, f.bytes, f.path);
    return { out, files, phases };
  }

  test('embeddings: CSV, float32 [N, d] NPY, int32 labels and int8 splits of every sample', async () => {
    const { out, files, phases } = await write('embeddings');
    assert.deepEqual(files.map((f) => f.path).sort(), ['embeddings/embeddings.csv', 'embeddings/embeddings.npy', 'embeddings/labels.npy', 'embeddings/splits.npy']);
    assert.ok(phases.includes('embeddings'));
    const N = 6000; // the built-in digits, all of them
    const npy = new Uint8Array(await fs.readFile(path.join(out, 'embeddings/embeddings.npy')));
    const h = parseNpyHeader(npy);
    assert.deepEqual(h.shape, [N, LATENT]);
    assert.equal(h.dtype, 'float32');
    assert.equal(h.dataOffset % 64, 0);
    assert.equal(npy.length, h.dataOffset + N * LATENT * 4);
    const z = new Float32Array(npy.slice(h.dataOffset).buffer);
    assert.ok(z.every(Number.isFinite));
    const labelsNpy = new Uint8Array(await fs.readFile(path.join(out, 'embeddings/labels.npy')));
    // (The studio's .npy reader takes image dtypes only; int32 labels are checked by hand.)
    const offset = 10 + (labelsNpy[8]! | (labelsNpy[9]! << 8));
    assert.equal(offset % 64, 0);
    assert.ok(Buffer.from(labelsNpy.subarray(10, offset)).toString('latin1').startsWith(`{'descr': '<i4', 'fortran_order': False, 'shape': (${N},), }`));
    assert.equal(labelsNpy.length, offset + 4 * N);
    const labels = new Int32Array(labelsNpy.slice(offset).buffer);
    assert.ok(labels.every((l) => l >= 0 && l <= 9));
    const lines = (await fs.readFile(path.join(out, 'embeddings/embeddings.csv'), 'utf8')).trimEnd().split('\n');
    assert.equal(lines[0], 'index,label,label_name,split,z0,z1,z2');
    assert.equal(lines.length, N + 1);
    const row = lines[11]!.split(',');
    assert.equal(row[0], '10');
    assert.equal(Number(row[1]), labels[10]);
    assert.equal(row[2], String(labels[10])); // digit classes are named '0'..'9'
    for (let j = 0; j < LATENT; j++) assert.equal(Math.fround(Number(row[4 + j])), z[10 * LATENT + j]);
    // splits.npy: int8, 0 train / 1 validation / 2 test / -1 unused, as the CSV's split column says.
    const splitsNpy = new Uint8Array(await fs.readFile(path.join(out, 'embeddings/splits.npy')));
    const splitsAt = 10 + (splitsNpy[8]! | (splitsNpy[9]! << 8));
    assert.equal(splitsAt % 64, 0);
    assert.ok(Buffer.from(splitsNpy.subarray(10, splitsAt)).toString('latin1').startsWith(`{'descr': '|i1', 'fortran_order': False, 'shape': (${N},), }`));
    assert.equal(splitsNpy.length, splitsAt + N);
    const splits = new Int8Array(splitsNpy.buffer, splitsNpy.byteOffset + splitsAt, N);
    const names = lines.slice(1).map((l) => l.split(',')[3]);
    const named: Record<number, string> = { 0: 'train', 1: 'validation', 2: 'test', [-1]: 'unused' };
    for (let i = 0; i < N; i++) assert.equal(names[i], named[splits[i]!], `sample ${i}`);
    // maxSamples 400 of the 6,000 digits with validationFraction 0.25: 100 validation, 300 train
    // (the validation set is the run's: the one its training drew), no official test split.
    const tally = (c: number) => splits.filter((v) => v === c).length;
    assert.deepEqual([tally(0), tally(1), tally(2), tally(-1)], [300, 100, 0, N - 400]);
    const { val } = splitIndices(6000, run.config, seedStreams(run.config.seed).split);
    assert.deepEqual(
      Array.from(splits.entries()).filter(([, c]) => c === 1).map(([i]) => i),
      Array.from(val).sort((a, b) => a - b),
    );
  });

  test('grids: four PNGs of the expected layout', async () => {
    const { out, files } = await write('grids');
    assert.deepEqual(files.map((f) => f.path).sort(), ['grids/interpolation.png', 'grids/reconstructions.png', 'grids/samples.png', 'grids/traversals.png']);
    // 28x28 tiles scaled 3x (84 px), 2-pixel borders.
    const side = (n: number) => n * (84 + 2) + 2;
    const expect: Record<string, [number, number]> = {
      samples: [side(8), side(8)],
      reconstructions: [side(16), side(2)],
      traversals: [side(9), side(LATENT)],
      interpolation: [side(10), side(1)],
    };
    for (const [name, [w, h]] of Object.entries(expect)) {
      const meta = await sharp(path.join(out, 'grids', `${name}.png`)).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels], [w, h, 1], name);
    }
    // The samples are not blank: the tiles' pixels vary.
    const { data } = await sharp(path.join(out, 'grids/samples.png')).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    assert.ok(new Set(data).size > 20);
  });

  test('metrics: every step, every epoch with KL per dimension', async () => {
    const { out, files } = await write('metrics');
    assert.deepEqual(files.map((f) => f.path), ['metrics/metrics-steps.csv', 'metrics/metrics-epochs.csv']);
    const steps = (await fs.readFile(path.join(out, 'metrics/metrics-steps.csv'), 'utf8')).trimEnd().split('\n');
    assert.equal(steps[0], 'step,epoch,loss,recon,kl,neg_elbo,samples_per_sec,time_ms,beta,lr,grad_norm');
    // 300 training samples, batch 100, 2 epochs: 6 steps, all of them.
    assert.equal(steps.length - 1, 6);
    assert.deepEqual(steps.slice(1).map((l) => Number(l.split(',')[0])), [1, 2, 3, 4, 5, 6]);
    const epochs = (await fs.readFile(path.join(out, 'metrics/metrics-epochs.csv'), 'utf8')).trimEnd().split('\n');
    const head = epochs[0]!.split(',');
    assert.deepEqual(head.slice(-LATENT), ['kl_0', 'kl_1', 'kl_2']);
    assert.equal(epochs.length - 1, 2);
    const last = epochs[2]!.split(',');
    const kl = head.map((c, i) => (c.startsWith('kl_') ? Number(last[i]) : 0)).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(kl - Number(last[head.indexOf('val_kl')])) < 1e-3 * Math.max(1, kl), 'KL per dimension sums to the validation KL');
  });

  test('report: one offline file with the run name, its config, charts, images and latent map', async () => {
    const { out, files } = await write('report');
    assert.deepEqual(files.map((f) => f.path), ['report.html']);
    assert.deepEqual((await fs.readdir(out)).sort(), ['report.html'], 'no scratch files left');
    reportFile = path.join(out, 'report.html');
    const html = await fs.readFile(reportFile, 'utf8');
    assert.ok(!/https?:/i.test(html), 'no http(s) anywhere');
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]!);
    for (const r of refs) assert.ok(r.startsWith('data:image/png;base64,'), `reference ${r.slice(0, 30)}`);
    assert.equal(refs.length, 4, 'the four grids, inline');
    assert.ok(!/["'(]\/\//.test(html), 'no protocol-relative reference');
    assert.ok(html.includes('Tiny, &quot;quoted&quot; &lt;digits&gt;'));
    for (const s of ['model.latentDim', 'model.hidden', '[32]', 'maxSamples', '400', 'Sample digits', 'VAE Studio 9.9.9-test', `epoch ${checkpoint.epoch}`]) {
      assert.ok(html.includes(s), `report holds ${s}`);
    }
    // Four training charts, the KL per dimension and the latent map (100 validation points).
    assert.equal((html.match(/<svg/g) ?? []).length, 6);
    assert.ok((html.match(/<circle/g) ?? []).length >= 100);
  });

  test('sampler: works from file:// without the network and draws a non-blank image', async (t) => {
    const { out, files } = await write('sampler');
    const names = files.map((f) => f.path);
    for (const f of ['sampler/index.html', 'sampler/tf.min.js', 'sampler/model.js', 'sampler/decoder/model.json', 'sampler/decoder/weights.bin']) {
      assert.ok(names.includes(f), f);
    }
    if (!existsSync(CHROMIUM)) return t.skip(`no Chromium at ${CHROMIUM}`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(path.join(out, 'sampler/index.html')).href);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      await page.waitForFunction(`Number(document.body.dataset.drawn ?? 0) >= 1`);
      assert.equal(await page.locator('input[type=range][id^="z"]').count(), LATENT);
      // (Page code as strings: the tests' tsconfig has no DOM types.)
      const pixels = () =>
        page.evaluate<number[]>(`(() => {
          const c = document.getElementById('image');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          return Array.from({ length: d.length / 4 }, (_, i) => d[i * 4]);
        })()`);
      const first = await pixels();
      // At z = 0 the canvas shows the studio's decoder mean at z = 0, each pixel a 14x14 block.
      const expected = await decodeZero(checkpoint.path);
      const scale = Math.round(384 / 28);
      let worst = 0;
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const got = first[(y * scale + scale / 2) * 28 * scale + x * scale + scale / 2]!;
          worst = Math.max(worst, Math.abs(got - Math.round(expected[y * 28 + x]! * 255)));
        }
      }
      assert.ok(worst <= 2, `canvas pixels within 2 of the decoder mean (worst ${worst})`);
      // Moving the first slider (largest KL) to its end changes the image.
      await page.locator('input[type=range][id^="z"]').first().focus();
      await page.keyboard.press('End');
      await page.waitForFunction(`Number(document.body.dataset.drawn ?? 0) >= 2`);
      const moved = await pixels();
      assert.ok(moved.some((v, i) => v !== first[i]), 'the slider changes the image');
      await page.screenshot({ path: path.join(SHOTS, 'export-sampler.png') });
      await page.getByRole('button', { name: 'Random sample' }).click();
      await page.waitForFunction(`Number(document.body.dataset.drawn ?? 0) >= 3`);
      assert.deepEqual(errors, []);
      assert.ok(requests.every((u) => u.startsWith('file:')), requests.join(' '));
      if (reportFile) {
        // The report renders offline too: only its own file and its inline images are requested.
        requests.length = 0;
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.goto(pathToFileURL(reportFile).href);
        await page.screenshot({ path: path.join(SHOTS, 'export-report.png'), fullPage: true });
        assert.ok(requests.every((u) => u.startsWith('file:') || u.startsWith('data:')), requests.join(' '));
        assert.deepEqual(errors, []);
      }
    } finally {
      await browser.close();
    }
  });

  test('grids and report of one export share one grids job', async () => {
    const out = tmpDir('export-shared-');
    const kinds: string[] = [];
    const counting = { runJob: (kind: string, ...rest: unknown[]) => (kinds.push(kind), (supervisor.runJob as (...a: unknown[]) => Promise<unknown>)(kind, ...rest)) };
    const share = resultShare(['report', 'grids', 'metrics']);
    const rc: ResultContext = { ...context(out), supervisor: counting as unknown as TrainingSupervisor, share };
    // The report first: it computes the grids into grids/, which the grids format then reuses.
    const report = await writeResultFormat('report', rc);
    const grids = await writeResultFormat('grids', rc);
    assert.deepEqual(kinds, ['export.grids']);
    assert.deepEqual(report.map((f) => f.path), ['report.html']);
    assert.deepEqual(grids.map((f) => f.path).sort(), ['grids/interpolation.png', 'grids/reconstructions.png', 'grids/samples.png', 'grids/traversals.png']);
    assert.deepEqual((await fs.readdir(out)).sort(), ['grids', 'report.html']);
    // The report inlines the very PNGs of grids/, and still holds the latent map.
    const html = await fs.readFile(path.join(out, 'report.html'), 'utf8');
    for (const f of grids) assert.ok(html.includes((await fs.readFile(path.join(out, f.path))).toString('base64')), f.path);
    assert.ok((html.match(/<circle/g) ?? []).length >= 100);
  });

  test('a cancelled export stops with CANCELLED', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(writeResultFormat('grids', context(tmpDir('export-cancel-'), [], ac.signal)), (e: unknown) => (e as { code?: string }).code === 'CANCELLED');
  });
});
