/**
 * The per-epoch previews of a run (contract/history.ts RunPreviews): at each epoch end the trainer
 * decodes
 *   - reconstructions at z = mu(x) of a fixed batch of images: the first PREVIEW_RECONSTRUCTIONS of
 *     the run's validation hold-out (the same images every epoch), or of its training split when it
 *     has no hold-out;
 *   - PREVIEW_SAMPLES prior samples at fixed z ~ N(0, I), drawn from a seed that depends only on the
 *     latent size, so that every run with the same latent size is shown the same z;
 * as decoder means (likelihoodMean) in uint8, and keeps them beside the run's checkpoints:
 *   <runFolder>/previews/epoch-N.bin   originals | reconstructions | samples, row-major HWC uint8
 *   <runFolder>/previews/epoch-N.json  PreviewMeta
 * Both are written atomically (temp file, fsync, rename), the JSON last: an epoch is listed only
 * when its JSON reads and its .bin has the size the JSON announces.
 *
 * The file functions have no tfjs dependency, so main (services/history.ts) reads previews with
 * them; renderPreviews runs in the trainer, on the live model.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { LayersModel, Tensor2D } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import type { DataSource } from '../core/data-source.ts';
import { likelihoodMean } from '../contract/likelihood.ts';
import { writeFileAtomicSync } from '../core/fs-durable.ts';
import { Rng } from '../core/rng.ts';
import type { Tf } from '../core/tf.ts';
import { evaluationBatch, seedStreams, splitIndices } from '../core/train.ts';

export const PREVIEW_RECONSTRUCTIONS = 16;
export const PREVIEW_SAMPLES = 64;
export const PREVIEWS_FOLDER = 'previews';
const FORMAT = 'vae-studio-previews';
const VERSION = 1;

/** What epoch-N.json says about epoch-N.bin. */
export interface PreviewMeta {
  format: typeof FORMAT;
  version: number;
  epoch: number;
  step: number;
  width: number;
  height: number;
  channels: number;
  latentDim: number;
  /** Dataset sample indices of the reconstructed images, in order. */
  indices: number[];
  count: { reconstructions: number; samples: number };
}

export interface PreviewPixels {
  /** count.reconstructions images each: the inputs as stored (0..255) and their reconstructions. */
  originals: Uint8Array;
  reconstructions: Uint8Array;
  /** count.samples decoded prior draws. */
  samples: Uint8Array;
}

export function previewsFolder(runFolder: string): string {
  return path.join(runFolder, PREVIEWS_FOLDER);
}

/**
 * The seed of the fixed prior draws of a latent size. Mixed from the size alone (never the run's
 * seed), so runs with equal latentDim decode the same z.
 */
export function priorSeed(latentDim: number): number {
  return (0x70726976 ^ Math.imul(latentDim, 0x9e3779b1)) >>> 0;
}

/** `count` draws z ~ N(0, I_latentDim), row-major [count, latentDim]; the same for the same arguments. */
export function priorDraws(latentDim: number, count = PREVIEW_SAMPLES): Float32Array {
  return new Rng(priorSeed(latentDim)).fillNormal(new Float32Array(count * latentDim));
}

/**
 * The sample indices reconstructed in the previews: the first `n` of the run's seeded validation
 * hold-out (exactly as training draws it), else the first `n` of its training split.
 */
export function previewIndices(
  config: Pick<TrainConfig, 'seed' | 'maxSamples' | 'validationFraction'>,
  count: number,
  n = PREVIEW_RECONSTRUCTIONS,
): Uint32Array {
  const { train, val } = splitIndices(count, config, seedStreams(config.seed).split);
  const from = val.length > 0 ? val : train;
  return from.slice(0, Math.min(n, from.length));
}

const toUint8 = (means: Float32Array): Uint8Array => {
  const out = new Uint8Array(means.length);
  for (let i = 0; i < means.length; i++) out[i] = Math.round(means[i]! * 255);
  return out;
};

/**
 * Decodes the previews with the live model: reconstructions of `indices` at z = mu(x) (inputs as
 * the run's validation pass sees them: intensities, or its static binarisation) and the decoder
 * means at `z` (priorDraws). Frees every tensor it makes.
 */
export async function renderPreviews(o: {
  tf: Tf;
  encoder: LayersModel;
  decoder: LayersModel;
  config: Pick<TrainConfig, 'seed' | 'binarization' | 'likelihood'>;
  data: DataSource;
  indices: Uint32Array;
  z: Float32Array;
  latentDim: number;
}): Promise<PreviewPixels> {
  const { tf, encoder, decoder, config, data, indices, latentDim } = o;
  const dim = data.width * data.height * data.channels;
  const n = indices.length;
  const originals = data.readBatch(indices, new Uint8Array(n * dim));
  const m = o.z.length / latentDim;
  const [recon, samples] = tf.tidy(() => {
    const parts: Tensor2D[] = [];
    if (n > 0) {
      const x = tf.tensor2d(evaluationBatch(config, originals, indices, dim), [n, dim]);
      const [mu] = encoder.apply(x, { training: false }) as [Tensor2D, Tensor2D];
      parts.push(decoder.apply(mu, { training: false }) as Tensor2D);
    } else parts.push(tf.zeros([0, dim]) as Tensor2D);
    parts.push(decoder.apply(tf.tensor2d(o.z, [m, latentDim]), { training: false }) as Tensor2D);
    return parts;
  });
  try {
    const [r, s] = await Promise.all([recon!.data() as Promise<Float32Array>, samples!.data() as Promise<Float32Array>]);
    return {
      originals,
      reconstructions: toUint8(likelihoodMean(config.likelihood as TrainConfig['likelihood'], r)),
      samples: toUint8(likelihoodMean(config.likelihood as TrainConfig['likelihood'], s)),
    };
  } finally {
    recon!.dispose();
    samples!.dispose();
  }
}

/** Writes one epoch's previews (replacing any earlier ones of that epoch, e.g. after a resume). */
export function writePreviews(folder: string, meta: Omit<PreviewMeta, 'format' | 'version'>, px: PreviewPixels): void {
  const dim = meta.width * meta.height * meta.channels;
  if (px.originals.length !== meta.count.reconstructions * dim || px.reconstructions.length !== px.originals.length || px.samples.length !== meta.count.samples * dim) {
    throw new Error('internal: preview pixel counts do not match their metadata');
  }
  fs.mkdirSync(folder, { recursive: true });
  const bin = new Uint8Array(px.originals.length * 2 + px.samples.length);
  bin.set(px.originals, 0);
  bin.set(px.reconstructions, px.originals.length);
  bin.set(px.samples, px.originals.length * 2);
  writeFileAtomicSync(path.join(folder, `epoch-${meta.epoch}.bin`), bin);
  writeFileAtomicSync(path.join(folder, `epoch-${meta.epoch}.json`), JSON.stringify({ format: FORMAT, version: VERSION, ...meta }));
}

function expectedBytes(meta: PreviewMeta): number {
  return (meta.count.reconstructions * 2 + meta.count.samples) * meta.width * meta.height * meta.channels;
}

async function readMeta(folder: string, epoch: number): Promise<PreviewMeta | null> {
  try {
    const meta = JSON.parse(await fsp.readFile(path.join(folder, `epoch-${epoch}.json`), 'utf8')) as PreviewMeta;
    if (meta.format !== FORMAT || meta.epoch !== epoch) return null;
    const size = (await fsp.stat(path.join(folder, `epoch-${epoch}.bin`))).size;
    return size === expectedBytes(meta) ? meta : null;
  } catch {
    return null;
  }
}

/** The epochs with complete previews in `folder`, ascending ([] when none). */
export async function listPreviewEpochs(folder: string): Promise<number[]> {
  const names = await fsp.readdir(folder).catch(() => [] as string[]);
  const epochs: number[] = [];
  for (const name of names) {
    const m = /^epoch-(\d+)\.json$/.exec(name);
    if (m && (await readMeta(folder, Number(m[1])))) epochs.push(Number(m[1]));
  }
  return epochs.sort((a, b) => a - b);
}

/** One epoch's previews, or null when that epoch has none (or they are incomplete). */
export async function readPreviews(folder: string, epoch: number): Promise<{ meta: PreviewMeta; pixels: PreviewPixels } | null> {
  const meta = await readMeta(folder, epoch);
  if (!meta) return null;
  const buf = await fsp.readFile(path.join(folder, `epoch-${epoch}.bin`));
  if (buf.byteLength !== expectedBytes(meta)) return null;
  const k = meta.count.reconstructions * meta.width * meta.height * meta.channels;
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    meta,
    pixels: { originals: bytes.subarray(0, k), reconstructions: bytes.subarray(k, 2 * k), samples: bytes.subarray(2 * k) },
  };
}
