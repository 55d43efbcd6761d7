/**
 * The VAE's parameter count in closed form, for the panel's summary line. The renderer may not
 * import the engine (core/vae.ts builds the tfjs models), so the architecture is counted here layer
 * by layer; a unit test builds the engine's models for several configs and compares with
 * `buildVae(...).paramCount`, so the two cannot drift apart silently.
 *
 * A dense layer n_in -> n_out has n_in * n_out weights + n_out biases. A (transposed) convolution
 * with a k x k kernel from c_in to c_out channels has k * k * c_in * c_out weights + c_out biases,
 * whatever its stride or padding.
 */
import type { ModelConfig, TrainConfig } from '../../../src-main/contract/index.ts';

export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}

/** Mirrors core/vae.ts: every convolution has stride 2 and 'same' padding. */
const CONV_STRIDE = 2;

const dense = (nIn: number, nOut: number) => nIn * nOut + nOut;
const conv = (k: number, cIn: number, cOut: number) => k * k * cIn * cOut + cOut;

/** Weights of the encoder and decoder together (what the engine reports as paramCount). */
export function modelParamCount(model: Pick<ModelConfig, 'kind' | 'hidden' | 'latentDim' | 'channels' | 'kernelSize' | 'denseUnits'>, shape: ImageShape): number {
  const d = shape.width * shape.height * shape.channels;
  const z = model.latentDim;
  if (model.kind === 'mlp') {
    // Encoder d -> h1 -> ... -> hn, two heads hn -> z (mu, log-variance); decoder z -> hn -> ... -> h1 -> d.
    const enc = chain([d, ...model.hidden]);
    const last = model.hidden.length > 0 ? model.hidden[model.hidden.length - 1]! : d;
    const dec = chain([z, ...[...model.hidden].reverse(), d]);
    return enc + 2 * dense(last, z) + dec;
  }
  // Conv: the feature map after L stride-2 'same' convolutions is ceil(size / 2^L) on each side.
  const L = model.channels.length;
  let h = shape.height;
  let w = shape.width;
  for (let i = 0; i < L; i++) {
    h = Math.ceil(h / CONV_STRIDE);
    w = Math.ceil(w / CONV_STRIDE);
  }
  const k = model.kernelSize;
  const chans = [shape.channels, ...model.channels];
  const features = h * w * chans[L]!;
  let n = 0;
  // Encoder convolution i: chans[i-1] -> chans[i]; the decoder's transposed convolution mirrors it
  // (chans[i] -> chans[i-1]): the same kernel size, its biases on the other side.
  for (let i = 1; i <= L; i++) n += conv(k, chans[i - 1]!, chans[i]!) + conv(k, chans[i]!, chans[i - 1]!);
  const du = model.denseUnits;
  if (du > 0) n += dense(features, du) + 2 * dense(du, z) + dense(z, du) + dense(du, features);
  else n += 2 * dense(features, z) + dense(z, features);
  return n;
}

/** Dense layers through the widths w0 -> w1 -> ... -> wn. */
function chain(widths: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < widths.length; i++) n += dense(widths[i - 1]!, widths[i]!);
  return n;
}

/** Everything the optimiser trains: the model, plus the shared log-sigma of a learned Gaussian. */
export function trainableParamCount(config: Pick<TrainConfig, 'model' | 'likelihood' | 'gaussianSigmaMode'>, shape: ImageShape): number {
  const learnedSigma = config.likelihood === 'gaussian' && config.gaussianSigmaMode === 'learned' ? 1 : 0;
  return modelParamCount(config.model, shape) + learnedSigma;
}

/** "784 → 400 → 20" or "28×28×1 → conv 32, 64 → 20": the architecture in one line. */
export function architectureText(model: Pick<ModelConfig, 'kind' | 'hidden' | 'latentDim' | 'channels' | 'denseUnits'>, shape: ImageShape): string {
  const d = shape.width * shape.height * shape.channels;
  if (model.kind === 'mlp') return [d, ...model.hidden, model.latentDim].join(' → ');
  const parts = [`${shape.width}×${shape.height}×${shape.channels}`, `conv ${model.channels.join(', ')}`];
  if (model.denseUnits > 0) parts.push(String(model.denseUnits));
  parts.push(String(model.latentDim));
  return parts.join(' → ');
}

/**
 * Optimisation steps in one epoch, counted as the engine does (core/train.ts splitIndices): the
 * seeded subset of at most maxSamples, minus floor(n * validationFraction) held out, in batches with
 * one partial batch at the end. Imported datasets with an official test split train on fewer
 * images than `count`, so this is an upper bound there.
 */
export function stepsPerEpoch(config: Pick<TrainConfig, 'maxSamples' | 'validationFraction' | 'batchSize'>, count: number): number {
  const used = config.maxSamples > 0 ? Math.min(count, config.maxSamples) : count;
  const nTrain = used - Math.floor(used * config.validationFraction);
  return Math.max(1, Math.ceil(nTrain / config.batchSize));
}
