/**
 * The latent-space explorer's commands (issue 6). Main encodes a split of the run's dataset with a
 * checkpoint's encoder (in a worker process, cached per run, checkpoint and split), projects the
 * means to 2-D (native dimensions, PCA, UMAP or t-SNE; cached too) and serves the decoder's
 * weights so the renderer decodes at frame rate with tfjs WebGL. Large numeric arrays travel as
 * base64 of their little-endian bytes (Float32Array / Int32Array / Uint8Array).
 */
import { z } from 'zod';
import { command } from './define.ts';

const Id = z.string().min(1).max(200);
/** base64 of a Float32Array's bytes. */
export type Base64F32 = string;
/** base64 of an Int32Array's bytes. */
export type Base64I32 = string;
/** base64 of uint8 pixels, row-major HWC, images concatenated. */
export type Base64U8 = string;

export const LATENT_SPLITS = ['train', 'validation', 'test', 'all'] as const;
export type LatentSplit = (typeof LATENT_SPLITS)[number];
export const PROJECTIONS = ['dims', 'pca', 'umap', 'tsne'] as const;
export type Projection = (typeof PROJECTIONS)[number];

/** Which encoding: a run, one of its checkpoints (default the latest) and a split. */
const Target = {
  runId: Id,
  checkpointEpoch: z.number().int().min(1).optional(),
  split: z.enum(LATENT_SPLITS).default('validation'),
  /** Encode at most this many samples of the split (0 = all, up to the dataset's size). */
  maxSamples: z.number().int().min(0).max(1_000_000).default(0),
};

/** Facts of one encoding (the split's samples through one checkpoint's encoder). */
export interface LatentEncoding {
  runId: string;
  epoch: number;
  step: number;
  split: LatentSplit;
  count: number;
  latentDim: number;
  width: number;
  height: number;
  channels: number;
  likelihood: string;
  /** Class names (index = label id), null when the dataset is unlabelled. */
  labels: string[] | null;
  /** Mean KL(q(z_j|x) || N(0,1)) per dimension over the encoded samples, nats. */
  klPerDim: number[];
  /** Dimension indices by decreasing KL (the sliders' order). */
  dimsByKl: number[];
  /** Standard deviation of the means per dimension (traversal ranges use +-3 sd). */
  stdPerDim: number[];
  meanPerDim: number[];
  /** Mean per-sample -ELBO (beta = 1) over the set, nats. */
  negElboMean: number;
  backend: string;
  createdAt: number;
}

/** 2-D positions of every encoded sample, with what the map colours by. */
export interface LatentMap {
  encoding: LatentEncoding;
  projection: Projection;
  /** The two latent dimensions shown for 'dims'. */
  dims: [number, number] | null;
  x: Base64F32;
  y: Base64F32;
  /** Dataset sample index of each point. */
  index: Base64I32;
  /** Label id of each point (-1 unlabelled), null when the dataset has no labels. */
  label: Base64I32 | null;
  /** Per-sample -ELBO (beta = 1), nats. */
  negElbo: Base64F32;
  /** PCA: the fraction of variance of each of the first components (at least two). */
  explainedVariance: number[] | null;
  /** PCA: z = mean + x * components[0] + y * components[1] (the view's exact inverse). */
  pca: { mean: number[]; components: [number[], number[]] } | null;
  durationMs: number;
}

/** The decoder of one checkpoint, for tf.io.fromMemory in the renderer. */
export interface DecoderWeights {
  runId: string;
  epoch: number;
  latentDim: number;
  width: number;
  height: number;
  channels: number;
  likelihood: string;
  /** The decoder's model.json: modelTopology and weightsManifest (paths ignored). */
  modelJson: { modelTopology: unknown; weightsManifest: { paths: string[]; weights: unknown[] }[]; format?: string };
  /** The concatenated weight bytes of the manifest, base64. */
  weights: string;
}

export const latentCommands = {
  /** Encodes (or returns the cached encoding of) a split; progress as latent.progress. */
  'latent.encode': command(z.object({ ...Target, jobId: z.string().min(1).max(100).optional() }).strict()).returns<LatentEncoding>(),
  /** The encoding's 2-D map in a projection (computed in the background and cached). */
  'latent.map': command(z
      .object({
        ...Target,
        projection: z.enum(PROJECTIONS).default('pca'),
        dims: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
        jobId: z.string().min(1).max(100).optional(),
      })
      .strict()).returns<LatentMap>(),
  /** Cancels an encode or projection in progress (it ends with CANCELLED). */
  'latent.cancel': command(z.object({ jobId: z.string().min(1).max(100) }).strict()).returns<{ jobId: string; cancelled: boolean }>(),
  /** Full latent vectors (means and log-variances) of some points of an encoding, by position. */
  'latent.vectors': command(z.object({ ...Target, rows: z.array(z.number().int().min(0)).min(1).max(10000) }).strict()).returns<{ latentDim: number; mu: Base64F32; logvar: Base64F32 }>(),
  /**
   * Latent vectors for 2-D map positions: the exact inverse for 'dims' (other dimensions at the
   * encoding's mean) and PCA, a neighbour-weighted mean of the nearest points' z for UMAP / t-SNE.
   */
  'latent.invert': command(z
      .object({
        ...Target,
        projection: z.enum(PROJECTIONS),
        dims: z.tuple([z.number().int().min(0), z.number().int().min(0)]).optional(),
        points: z.array(z.tuple([z.number(), z.number()])).min(1).max(4096),
      })
      .strict()).returns<{ latentDim: number; z: Base64F32 }>(),
  /** Attribute vector: mean z of the group (positions) minus mean z of the rest of the encoding. */
  'latent.attribute': command(z.object({ ...Target, rows: z.array(z.number().int().min(0)).min(1).max(1_000_000) }).strict()).returns<{ direction: number[]; norm: number; groupSize: number; restSize: number }>(),
  /** The decoder's weights for decoding in the renderer. */
  'latent.decoder': command(z.object({ runId: Id, checkpointEpoch: z.number().int().min(1).optional() }).strict()).returns<DecoderWeights>(),
  /** Decodes latent vectors in main (the fallback where the renderer has no WebGL): decoder means as pixels. */
  'latent.decode': command(z
      .object({ runId: Id, checkpointEpoch: z.number().int().min(1).optional(), z: z.string().min(1).max(50_000_000) })
      .strict()).returns<{ count: number; width: number; height: number; channels: number; pixels: Base64U8 }>(),
  /** Dataset images by sample index (hover thumbnails, picked images). */
  'latent.images': command(z.object({ runId: Id, indices: z.array(z.number().int().min(0)).min(1).max(2000) }).strict()).returns<{ width: number; height: number; channels: number; pixels: Base64U8 }>(),
} as const;

export interface LatentEvents {
  'latent.progress': { jobId: string | null; runId: string; phase: 'loading' | 'encoding' | 'projecting'; done: number; total: number };
}
