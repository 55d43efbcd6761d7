/**
 * manifest.json of a model export: everything another program needs to use the exported encoder
 * and decoder correctly without the studio (the full run config, the tensors' names and shapes, how
 * pixels become model inputs, how decoder outputs become pixels, the versions that wrote and
 * verified the files, the dataset it was trained on), and what `export.importModel` reads back to
 * open the model as a run.
 *
 * Export folder layout (paths in the manifest are relative to it):
 *   manifest.json
 *   tfjs/encoder/model.json + weights.bin     tf.loadLayersModel('.../tfjs/encoder/model.json')
 *   tfjs/decoder/model.json + weights.bin
 *   onnx/encoder.onnx, onnx/decoder.onnx      opset 13, batch dimension 'batch'
 */
import { z } from 'zod';
import type { TrainConfig } from '../../contract/config.ts';
import type { ExportVerification } from '../../contract/export.ts';
import type { EpochPoint } from '../../contract/types.ts';
import type { CheckpointMeta } from '../checkpoint.ts';
import { ONNX_OPSET } from './onnx.ts';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'vae-studio-model';
export const MANIFEST_VERSION = 1;

/** Where each file of a model export lives, relative to the export folder. */
export const EXPORT_PATHS = {
  tfjs: { encoder: 'tfjs/encoder', decoder: 'tfjs/decoder' },
  onnx: { encoder: 'onnx/encoder.onnx', decoder: 'onnx/decoder.onnx' },
} as const;

/** The Gaussian likelihood's sigma at a checkpoint: the learned value when it was learned. */
export function checkpointSigma(meta: Pick<CheckpointMeta, 'config' | 'state' | 'metrics'>): number {
  const learned = meta.state?.extra?.['logSigma'];
  if (meta.config.gaussianSigmaMode === 'learned' && typeof learned === 'number') return Math.exp(learned);
  return meta.metrics?.sigma ?? meta.config.gaussianSigma;
}

/** The decoder's ONNX output name: logits for the Bernoulli likelihoods, means for the Gaussian. */
export function decoderOutputName(likelihood: TrainConfig['likelihood']): 'x_logits' | 'x_mean' {
  return likelihood === 'gaussian' ? 'x_mean' : 'x_logits';
}

const TensorSpec = z.object({ name: z.string(), shape: z.array(z.number().int().positive().nullable()) });

/** What import reads and checks; other fields are kept for people and other programs. */
export const ModelManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.number().int().min(1),
  createdAt: z.string(),
  run: z.object({ id: z.string(), name: z.string() }).loose(),
  checkpoint: z.object({ epoch: z.number().int().min(1), step: z.number().int().min(0) }),
  config: z.unknown(),
  dataset: z
    .object({
      name: z.string(),
      kind: z.string(),
      /** `builtin:<name>` for built-in data, `sha256:<hex of the stored uint8 pixels>` for imports. */
      fingerprint: z.string().nullable(),
      count: z.number().int().min(0),
      labels: z.array(z.string()).nullable(),
    })
    .loose(),
  input: z.object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    channels: z.number().int().positive(),
    dim: z.number().int().positive(),
  }).loose(),
  preprocessing: z.record(z.string(), z.unknown()),
  likelihood: z.object({ kind: z.string(), decoderOutput: z.string(), toPixelMean: z.string(), gaussianSigma: z.number().nullable() }).loose(),
  models: z.object({
    latentDim: z.number().int().positive(),
    paramCount: z.number().int().min(0),
    encoder: z.object({ tfjs: z.string().nullable(), onnx: z.string().nullable(), inputs: z.array(TensorSpec), outputs: z.array(TensorSpec) }).loose(),
    decoder: z.object({ tfjs: z.string().nullable(), onnx: z.string().nullable(), inputs: z.array(TensorSpec), outputs: z.array(TensorSpec) }).loose(),
  }).loose(),
  metrics: z.unknown().nullable(),
  versions: z.record(z.string(), z.unknown()),
}).loose();

export type ModelManifest = z.infer<typeof ModelManifestSchema> & {
  config: TrainConfig;
  metrics: EpochPoint | null;
  verifications: ExportVerification[];
};

/** What main knows and the worker does not: the run, its dataset and the studio's version. */
export interface ManifestContext {
  run: { id: string; name: string; createdAt: number; status: string };
  dataset: { id: string; name: string; kind: string; fingerprint: string | null; count: number; labels: string[] | null };
  appVersion: string;
}

/** Builds the manifest of a checkpoint's export. */
export function buildManifest(
  meta: CheckpointMeta,
  ctx: ManifestContext,
  parts: {
    tfjs: boolean;
    onnx: boolean;
    versions: { tfjs: string; tfjsBackend: string; onnxruntime: string | null };
    verifications: ExportVerification[];
    now?: Date;
  },
): ModelManifest {
  const { config } = meta;
  const { width, height, channels } = meta.input;
  const L = config.model.latentDim;
  const D = meta.dim;
  const outName = decoderOutputName(config.likelihood);
  const toPixelMean =
    config.likelihood === 'bernoulli'
      ? `sigmoid(${outName})`
      : config.likelihood === 'continuousBernoulli'
        ? `the continuous Bernoulli mean of lambda = sigmoid(l), l = ${outName}: 0.5 + 0.5 * coth(l / 2) - 1 / l (0.5 + l / 12 - l^3 / 720 for |l| < 0.01), clipped to [0, 1]`
        : `${outName}, clipped to [0, 1] (p(x|z) = N(${outName}, sigma^2 I) with sigma = likelihood.gaussianSigma)`;
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    createdAt: (parts.now ?? new Date()).toISOString(),
    run: { id: ctx.run.id, name: ctx.run.name, status: ctx.run.status, createdAt: new Date(ctx.run.createdAt).toISOString() },
    checkpoint: { epoch: meta.epoch, step: meta.step },
    config,
    dataset: { ...ctx.dataset, width, height, channels },
    input: { width, height, channels, dim: D },
    preprocessing: {
      description: `An image of ${height} x ${width} pixels with ${channels} channel(s) becomes x = pixel / 255 in [0, 1], flattened row by row in height, width, channel order (HWC), ${D} values per image.`,
      scale: 1 / 255,
      range: [0, 1],
      layout: 'HWC',
      colour: channels === 1 ? 'grayscale' : channels === 3 ? 'rgb' : `${channels} channels`,
      binarization: config.binarization,
      binarizationNote:
        config.binarization === 'none'
          ? 'the model was trained on the intensities x in [0, 1]'
          : `the model was trained on binarised pixels (${config.binarization}: each pixel 1 with probability x, else 0); feed 0/1 values for likelihoods comparable with training`,
    },
    likelihood: {
      kind: config.likelihood,
      decoderOutput: config.likelihood === 'gaussian' ? 'mean' : 'logits',
      toPixelMean,
      gaussianSigma: config.likelihood === 'gaussian' ? checkpointSigma(meta) : null,
    },
    models: {
      latentDim: L,
      paramCount: meta.paramCount,
      sampling: 'z = mu + exp(0.5 * logvar) * eps with eps ~ N(0, I); the prior is z ~ N(0, I). Sampling is not part of the encoder.',
      encoder: {
        tfjs: parts.tfjs ? `${EXPORT_PATHS.tfjs.encoder}/model.json` : null,
        onnx: parts.onnx ? EXPORT_PATHS.onnx.encoder : null,
        inputs: [{ name: 'x', shape: [null, D] }],
        outputs: [
          { name: 'mu', shape: [null, L] },
          { name: 'logvar', shape: [null, L] },
        ],
        tfjsOutputs: 'model.predict(x) returns [mu, logvar] in this order',
      },
      decoder: {
        tfjs: parts.tfjs ? `${EXPORT_PATHS.tfjs.decoder}/model.json` : null,
        onnx: parts.onnx ? EXPORT_PATHS.onnx.decoder : null,
        inputs: [{ name: 'z', shape: [null, L] }],
        outputs: [{ name: outName, shape: [null, D] }],
      },
    },
    metrics: meta.metrics,
    versions: {
      app: ctx.appVersion,
      checkpointFormat: meta.version,
      tfjs: parts.versions.tfjs,
      tfjsBackend: parts.versions.tfjsBackend,
      onnxruntime: parts.versions.onnxruntime,
      onnxOpset: parts.onnx ? ONNX_OPSET : null,
      manifest: MANIFEST_VERSION,
    },
    verifications: parts.verifications,
  };
}
