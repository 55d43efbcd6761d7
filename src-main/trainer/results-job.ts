/**
 * The worker jobs of the results export (services/export-results.ts), run in a trainer process
 * because they need tfjs:
 *   'export.embeddings'  encoder means of the run's dataset (up to `maxSamples`, in sample order)
 *                        written as embeddings.csv (with each sample's split), embeddings.npy
 *                        (float32 [N, d]), labels.npy (int32 [N], -1 for an unlabelled sample) and
 *                        splits.npy (int8 [N]: 0 train, 1 validation, 2 test, -1 unused) into `outDir`;
 *   'export.grids'       the four PNG grids (core/export/grids.ts) into `outDir`, and optionally the
 *                        2-D PCA projection of the validation encodings for the report's latent map.
 * Both write their files where main said and return only small JSON.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TrainConfig } from '../contract/config.ts';
import type { CheckpointMeta } from '../core/checkpoint.ts';
import { csvRow, float32Text } from '../core/export/csv.ts';
import { pca2, sampleSplits, splitName } from '../core/export/embeddings.ts';
import { computeGrids, encodeRows, type GridName, type LatentModel } from '../core/export/grids.ts';
import { npyData, npyHeader } from '../core/export/npy.ts';
import { writePng } from '../core/export/png.ts';
import { evaluationBatch, seedStreams, splitIndices } from '../core/train.ts';
import { openCheckpointWithData, type JobData } from './job-data.ts';
import type { Job, JobContext } from './jobs.ts';
import type { DatasetSource } from './protocol.ts';

/** What both jobs are told: the checkpoint folder and the run's dataset. */
interface ModelPayload {
  checkpoint: string;
  dataset: DatasetSource;
  /** The dataset's labels.u8 (one byte per sample), or null when it has none. */
  labelsPath: string | null;
}

export interface EmbeddingsPayload extends ModelPayload {
  labelNames: string[] | null;
  maxSamples: number;
  outDir: string;
}

export interface EmbeddingsJobResult {
  count: number;
  latentDim: number;
  files: string[];
}

export interface GridsPayload extends ModelPayload {
  outDir: string;
  seed: number;
  /** Also project up to this many validation encodings to 2-D (0: no latent map). */
  latentMapPoints: number;
}

export interface GridsJobResult {
  files: string[];
  traversalDims: number[];
  klPerDim: number[];
  latentMap: { x: number[]; y: number[]; labels: number[]; variance: [number, number]; totalVariance: number } | null;
  backend: string;
}

/** The validation samples the grids use, at most this many. */
const MAX_VALIDATION = 2048;
const BATCH = 512;

/** The checkpoint's models as the grids and embeddings code takes them, with the run's dataset. */
async function openModel(p: ModelPayload, ctx: JobContext): Promise<{ model: LatentModel; meta: CheckpointMeta; opened: JobData; dispose(): void }> {
  const m = await openCheckpointWithData(p.checkpoint, p.dataset, p.labelsPath, ctx);
  const { meta } = m;
  const config: TrainConfig = meta.config;
  const model: LatentModel = {
    tf: m.tf,
    encoder: m.encoder,
    decoder: m.decoder,
    likelihood: config.likelihood,
    latentDim: config.model.latentDim,
    width: meta.input.width,
    height: meta.input.height,
    channels: meta.input.channels,
    modelInput: (u8, idx) => evaluationBatch(config, u8, idx, meta.dim),
  };
  return { model, meta, opened: m, dispose: () => m.dispose() };
}

/** The run's seeded validation hold-out (as training drew it), else its first samples; at most MAX_VALIDATION. */
function validationSamples(config: TrainConfig, trainCount: number): Uint32Array {
  const { val } = splitIndices(trainCount, config, seedStreams(config.seed).split);
  const chosen = val.length > 0 ? val : Uint32Array.from({ length: Math.min(trainCount, MAX_VALIDATION) }, (_, i) => i);
  return chosen.slice(0, MAX_VALIDATION);
}

export const gridsJob: Job = async (payload, ctx) => {
  const p = payload as GridsPayload;
  const { model, meta, opened, dispose } = await openModel(p, ctx);
  try {
    const validation = validationSamples(meta.config, opened.trainCount);
    const g = await computeGrids(model, opened.data, validation, p.seed, (done, total) => ctx.progress('grids', done, total));
    await fs.mkdir(p.outDir, { recursive: true });
    const files: string[] = [];
    for (const name of Object.keys(g.images) as GridName[]) {
      const file = `${name}.png`;
      await writePng(path.join(p.outDir, file), g.images[name]);
      files.push(file);
    }
    let latentMap: GridsJobResult['latentMap'] = null;
    if (p.latentMapPoints > 0) {
      const n = Math.min(p.latentMapPoints, g.encoded.indices.length);
      const d = model.latentDim;
      const proj = pca2(g.encoded.mu.subarray(0, n * d), n, d);
      const x: number[] = [];
      const y: number[] = [];
      const labels: number[] = [];
      for (let i = 0; i < n; i++) {
        x.push(proj.coords[2 * i]!);
        y.push(proj.coords[2 * i + 1]!);
        labels.push(opened.labels ? opened.labels[g.encoded.indices[i]!]! : -1);
      }
      latentMap = { x, y, labels, variance: proj.variance, totalVariance: proj.totalVariance };
    }
    return { files, traversalDims: g.traversalDims, klPerDim: g.klPerDim, latentMap, backend: model.tf.getBackend() } satisfies GridsJobResult;
  } finally {
    dispose();
  }
};

export const embeddingsJob: Job = async (payload, ctx) => {
  const p = payload as EmbeddingsPayload;
  const { model, meta, opened, dispose } = await openModel(p, ctx);
  const d = model.latentDim;
  const n = Math.min(opened.data.count, Math.max(1, p.maxSamples));
  const files = ['embeddings.csv', 'embeddings.npy', 'labels.npy', 'splits.npy'];
  // The latent explorer's splits: samples past the training part are the official test split.
  const count = opened.data.count;
  const { trainCount } = opened;
  const splits = sampleSplits({ count, trainCount, test: trainCount < count ? { from: trainCount, to: count } : null }, meta.config, n);
  let csv: fs.FileHandle | undefined;
  let npy: fs.FileHandle | undefined;
  try {
    await fs.mkdir(p.outDir, { recursive: true });
    csv = await fs.open(path.join(p.outDir, files[0]!), 'w');
    npy = await fs.open(path.join(p.outDir, files[1]!), 'w');
    const header = ['index', 'label', 'label_name', 'split', ...Array.from({ length: d }, (_, j) => `z${j}`)];
    await csv.write(csvRow(header));
    await npy.write(npyHeader('<f4', [n, d]));
    const labels = new Int32Array(n).fill(-1);
    ctx.progress('embeddings', 0, n);
    for (let from = 0; from < n; from += BATCH) {
      const to = Math.min(n, from + BATCH);
      const idx = Uint32Array.from({ length: to - from }, (_, i) => from + i);
      const u8 = opened.data.readBatch(idx);
      const { mu } = await encodeRows(model, model.modelInput!(u8, idx), idx.length);
      await npy.write(npyData(mu));
      let lines = '';
      for (let r = 0; r < idx.length; r++) {
        const i = idx[r]!;
        const label = opened.labels ? opened.labels[i]! : null;
        if (label !== null) labels[i] = label;
        const name = label !== null ? (p.labelNames?.[label] ?? String(label)) : null;
        lines += csvRow([i, label, name, splitName(splits[i]!), ...Array.from(mu.subarray(r * d, (r + 1) * d), float32Text)]);
      }
      await csv.write(lines);
      ctx.progress('embeddings', to, n);
    }
    await fs.writeFile(path.join(p.outDir, files[2]!), Buffer.concat([npyHeader('<i4', [n]), npyData(labels)]));
    await fs.writeFile(path.join(p.outDir, files[3]!), Buffer.concat([npyHeader('|i1', [n]), npyData(splits)]));
  } finally {
    await Promise.all([csv?.close(), npy?.close()]);
    dispose();
  }
  return { count: n, latentDim: d, files } satisfies EmbeddingsJobResult;
};
