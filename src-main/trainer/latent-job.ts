/**
 * The latent explorer's worker jobs (trainer/jobs.ts), each run in its own trainer process:
 *   latent.encode   one checkpoint's encoder over a split of the dataset -> an encoding folder
 *                   (core/latent/cache.ts), with its PCA view computed at the same time;
 *   latent.project  a UMAP or t-SNE view of an encoding folder's means, written next to it;
 *   latent.decode   decoder means of latent vectors read from a file, written as uint8 pixels.
 * Main chooses every path; the values returned are small.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LatentEncoding, LatentSplit } from '../contract/latent.ts';
import { loadCheckpoint, readCheckpointMeta } from '../core/checkpoint.ts';
import { likelihoodMean } from '../contract/likelihood.ts';
import { checkpointSigma } from '../core/export/manifest.ts';
import { checkpointSource, readF32, writeFolderAtomic, writeProjection } from '../core/latent/cache.ts';
import { encodeSamples, splitSamples, summarise, type SplitLayout } from '../core/latent/encode.ts';
import { embed2d } from '../core/latent/project.ts';
import { CovarianceAccumulator, firstTwo, pcaFromCovariance, pcaProject } from '../core/latent/pca.ts';
import type { Tensor2D } from '@tensorflow/tfjs';
import { evaluationBatch } from '../core/train.ts';
import { selectBackend } from './backend.ts';
import { openCheckpointWithData } from './job-data.ts';
import type { Job } from './jobs.ts';
import type { DatasetSource } from './protocol.ts';

/** Seed of the reparameterisation noise of the per-sample -ELBO. */
export const ENCODE_SEED = 1;

export interface EncodePayload {
  runId: string;
  checkpoint: string;
  dataset: DatasetSource;
  /** labels.u8 of an imported dataset, null when it has none. */
  labelsFile: string | null;
  /** Class names (DatasetInfo.labels), null when unlabelled. */
  labels: string[] | null;
  layout: SplitLayout;
  split: LatentSplit;
  maxSamples: number;
  /** The encoding folder to create. */
  outDir: string;
}

export interface ProjectPayload {
  dir: string;
  kind: 'umap' | 'tsne';
  seed: number;
}

export interface DecodePayload {
  checkpoint: string;
  zFile: string;
  outFile: string;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export const encodeJob: Job = async (raw, ctx) => {
  const p = raw as EncodePayload;
  const t0 = performance.now();
  ctx.progress('loading', 0, 1);
  const m = await openCheckpointWithData(p.checkpoint, p.dataset, p.labelsFile, ctx);
  const { tf, info, meta, data, labels } = m;
  const config = meta.config;
  try {
    const indices = splitSamples(p.split, p.layout, config, p.maxSamples);
    if (indices.length === 0) throw new Error(`the ${p.split} split holds no samples`);
    const enc = await encodeSamples({
      tf,
      encoder: m.encoder,
      decoder: m.decoder,
      likelihood: config.likelihood,
      gaussianSigma: checkpointSigma(meta),
      data,
      indices,
      modelInput: (u8, idx) => evaluationBatch(config, u8, idx, meta.dim),
      seed: ENCODE_SEED,
      onProgress: (done, total) => ctx.progress('encoding', done, total),
    });
    const s = summarise(enc);
    const encoding: LatentEncoding = {
      runId: p.runId,
      epoch: meta.epoch,
      step: meta.step,
      split: p.split,
      count: enc.count,
      latentDim: enc.latentDim,
      width: meta.input.width,
      height: meta.input.height,
      channels: meta.input.channels,
      likelihood: config.likelihood,
      labels: p.labels,
      ...s,
      backend: info.backend,
      createdAt: Date.now(),
    };
    const files: Record<string, string | Float32Array | Int32Array> = {
      'meta.json': JSON.stringify(encoding),
      'source.json': JSON.stringify(checkpointSource(p.checkpoint, meta.step)),
      'mu.f32': enc.mu,
      'logvar.f32': enc.logvar,
      'negelbo.f32': enc.negElbo,
      'index.i32': Int32Array.from(indices),
    };
    if (labels) files['label.i32'] = Int32Array.from(indices, (i) => labels[i]!);
    // The PCA view costs one pass over the means: computed here, with the encoding.
    ctx.progress('projecting', 0, 1);
    const tp = performance.now();
    const acc = new CovarianceAccumulator(enc.latentDim);
    acc.add(enc.mu, enc.count);
    const { mean, covariance } = acc.result();
    const pca = pcaFromCovariance(mean, covariance);
    const { x, y } = pcaProject(pca, enc.mu, enc.count);
    writeFolderAtomic(p.outDir, files);
    writeProjection(p.outDir, 'proj-pca', x, y, {
      explainedVariance: Array.from(pca.explainedVariance.subarray(0, Math.max(2, Math.min(10, enc.latentDim)))).concat(enc.latentDim < 2 ? [0] : []),
      pca: { mean: Array.from(pca.mean), components: firstTwo(pca) },
      durationMs: performance.now() - tp,
    });
    ctx.progress('projecting', 1, 1);
    return { encoding, durationMs: performance.now() - t0 };
  } finally {
    m.dispose();
  }
};

export const projectJob: Job = async (raw, ctx) => {
  const p = raw as ProjectPayload;
  const t0 = performance.now();
  const enc = JSON.parse(fs.readFileSync(path.join(p.dir, 'meta.json'), 'utf8')) as LatentEncoding;
  const n = enc.count;
  const d = enc.latentDim;
  const mu = readF32(path.join(p.dir, 'mu.f32'));
  if (mu.length !== n * d) throw new Error(`${p.dir}/mu.f32 holds ${mu.length} values, expected ${n} x ${d}`);
  // Progress in thousandths, sent at most every 1 %; yielding lets each message leave. (UMAP's
  // neighbour search, before its first epoch, reports nothing.)
  ctx.progress('projecting', 0, 1000);
  await yieldToEventLoop();
  let last = 0;
  const { x, y, fitted } = await embed2d(p.kind, mu, n, d, {
    seed: p.seed,
    onProgress: async (f) => {
      const done = Math.min(1000, Math.floor(1000 * f));
      if (Math.floor(done / 10) === last && done < 1000) return;
      last = Math.floor(done / 10);
      ctx.progress('projecting', done, 1000);
      await yieldToEventLoop();
    },
  });
  const durationMs = performance.now() - t0;
  writeProjection(p.dir, `proj-${p.kind}`, x, y, { durationMs, fitted, seed: p.seed });
  return { durationMs, fitted };
};

export const decodeJob: Job = async (raw, ctx) => {
  const p = raw as DecodePayload;
  const meta = await readCheckpointMeta(p.checkpoint);
  const { tf, info } = await selectBackend(meta.config.backend);
  ctx.backend(info);
  const { encoder, decoder } = await loadCheckpoint(tf, p.checkpoint);
  encoder.dispose();
  try {
    const latentDim = decoder.inputs[0]?.shape[1];
    if (typeof latentDim !== 'number') throw new Error('the decoder must take z of shape [batch, latentDim]');
    const z = readF32(p.zFile);
    const count = z.length / latentDim;
    const out = new Uint8Array(count * meta.dim);
    const batch = 256;
    for (let from = 0; from < count; from += batch) {
      const n = Math.min(count, from + batch) - from;
      const t = tf.tidy(() => decoder.apply(tf.tensor2d(z.subarray(from * latentDim, (from + n) * latentDim), [n, latentDim]), { training: false }) as Tensor2D);
      const raw = (await t.data()) as Float32Array;
      t.dispose();
      const means = likelihoodMean(meta.config.likelihood, raw);
      for (let k = 0; k < means.length; k++) out[from * meta.dim + k] = Math.round(means[k]! * 255);
      ctx.progress('decoding', from + n, count);
    }
    fs.writeFileSync(p.outFile, out);
    return { count };
  } finally {
    decoder.dispose();
  }
};
