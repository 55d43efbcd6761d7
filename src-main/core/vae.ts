/**
 * The VAE's encoder and decoder, built as two tfjs LayersModels so that checkpoints use the standard
 * tfjs model.json + weights.bin format, which the renderer can load directly (tf.loadLayersModel) to
 * decode latent points. Both models speak flat vectors (encoder input and decoder output are
 * [batch, height * width * channels], row-major HWC per sample), whatever the architecture, so the
 * training loop, the losses and the checkpoints never depend on it.
 *
 * - 'mlp': the MLP VAE of Kingma & Welling 2014 (appendix C): x -> hidden -> (mu, logvar), decoder
 *   z -> mirrored hidden -> D outputs.
 * - 'conv': the image is reshaped to [H, W, C] inside the encoder; each convolution (stride 2, 'same'
 *   padding) halves height and width (rounding up), then flatten -> optional dense -> (mu, logvar).
 *   The decoder mirrors it: z -> optional dense -> dense to the last feature map -> reshape ->
 *   transposed convolutions (stride 2), the last one producing the input's channels. Sizes that are
 *   not a multiple of 2^layers (28 -> 14 -> 7 is fine; 30 -> 15 -> 8 -> 32 is not) come back larger
 *   than the input and are cropped to it exactly.
 * Both likelihoods read the decoder's output linearly (Bernoulli logits or Gaussian means).
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import type { ModelConfig } from '../contract/config.ts';
import { Rng } from './rng.ts';
import type { Tf } from './tf.ts';

export interface Vae {
  /** x [batch, D] -> [mu, logvar], each [batch, latentDim]. */
  encoder: LayersModel;
  /** z [batch, latentDim] -> [batch, D] logits (Bernoulli) or means (Gaussian). */
  decoder: LayersModel;
  paramCount: number;
}

/** An image size; D = width * height * channels, stored row-major HWC. */
export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}

/** Slope of the negative part for 'leakyRelu' (the usual choice in VAE/GAN MLPs). */
const LEAKY_ALPHA = 0.2;

/** Every convolution of the conv VAE moves by this many pixels: each layer halves the image. */
export const CONV_STRIDE = 2;

/**
 * The shape of a flat input of `dim` values when only its size is known: a square grayscale
 * (side^2) or square RGB (3 * side^2) image. The two cannot be confused (3 * side^2 is never a
 * perfect square). Null when neither fits.
 */
export function squareImageShape(dim: number): ImageShape | null {
  const side = (n: number) => {
    const s = Math.round(Math.sqrt(n));
    return s * s === n ? s : null;
  };
  const gray = side(dim);
  if (gray) return { width: gray, height: gray, channels: 1 };
  const rgb = dim % 3 === 0 ? side(dim / 3) : null;
  if (rgb) return { width: rgb, height: rgb, channels: 3 };
  return null;
}

/** Where the conv VAE's feature maps land for one input size. */
export interface ConvGeometry {
  /** [height, width] after each encoder convolution (ceil(size / 2) per layer). */
  encoderSizes: Array<[number, number]>;
  /** [height, width] the decoder's last transposed convolution produces (>= the input). */
  decoderSize: [number, number];
  /** Rows / columns cropped from the decoder's output: [[top, bottom], [left, right]]. */
  crop: [[number, number], [number, number]];
}

export function convGeometry(model: Pick<ModelConfig, 'channels'>, shape: ImageShape): ConvGeometry {
  const encoderSizes: Array<[number, number]> = [];
  let [h, w] = [shape.height, shape.width];
  for (let i = 0; i < model.channels.length; i++) {
    h = Math.ceil(h / CONV_STRIDE);
    w = Math.ceil(w / CONV_STRIDE);
    encoderSizes.push([h, w]);
  }
  const scale = CONV_STRIDE ** model.channels.length;
  const decoderSize: [number, number] = [h * scale, w * scale];
  // Crop the excess evenly, the odd row / column at the bottom / right.
  const split = (extra: number): [number, number] => [Math.floor(extra / 2), extra - Math.floor(extra / 2)];
  return { encoderSizes, decoderSize, crop: [split(decoderSize[0] - shape.height), split(decoderSize[1] - shape.width)] };
}

function toShape(model: ModelConfig, input: number | ImageShape): ImageShape {
  if (typeof input !== 'number') {
    for (const k of ['width', 'height', 'channels'] as const) {
      if (!Number.isInteger(input[k]) || input[k] < 1) throw new Error(`input ${k} must be a positive integer, got ${input[k]}`);
    }
    return input;
  }
  if (!Number.isInteger(input) || input < 1) throw new Error(`inputDim must be a positive integer, got ${input}`);
  if (model.kind !== 'conv') return { width: input, height: 1, channels: 1 };
  const square = squareImageShape(input);
  if (!square) {
    throw new Error(`a conv VAE needs the image's width, height and channels: ${input} inputs is not a square grayscale or RGB image`);
  }
  return square;
}

/**
 * Builds the encoder and decoder. Every kernel gets a Glorot-uniform initialiser with its own seed
 * drawn from `seed`, so the same seed gives bit-identical initial weights on every backend (the
 * seeded draws happen in JS), and same-shaped layers (the mu and logvar heads) still start apart.
 */
export function buildVae(tf: Tf, model: ModelConfig, input: number | ImageShape, seed: number): Vae {
  const shape = toShape(model, input);
  const inputDim = shape.width * shape.height * shape.channels;
  const rng = new Rng(seed);
  const kernelInit = () => tf.initializers.glorotUniform({ seed: rng.nextUint32() });
  const activation = model.activation === 'leakyRelu' ? 'linear' : model.activation;
  const leaky = model.activation === 'leakyRelu';
  /** The configured nonlinearity after a layer built linear (leakyRelu needs a layer of its own). */
  const act = (h: SymbolicTensor, name: string): SymbolicTensor =>
    leaky ? (tf.layers.leakyReLU({ alpha: LEAKY_ALPHA, name }).apply(h) as SymbolicTensor) : h;
  const dense = (h: SymbolicTensor, units: number, name: string, linear = false): SymbolicTensor =>
    tf.layers
      .dense({ units, activation: linear ? 'linear' : activation, kernelInitializer: kernelInit(), biasInitializer: 'zeros', name })
      .apply(h) as SymbolicTensor;

  const hiddenStack = (h: SymbolicTensor, widths: readonly number[], prefix: string): SymbolicTensor => {
    widths.forEach((units, i) => {
      h = act(dense(h, units, `${prefix}_dense_${i + 1}`), `${prefix}_act_${i + 1}`);
    });
    return h;
  };
  if (model.kind === 'conv') return buildConv(tf, model, shape, { kernelInit, act, dense, activation });

  const x = tf.input({ shape: [inputDim], name: 'x' });
  const eh = hiddenStack(x, model.hidden, 'enc');
  const head = (name: string) =>
    tf.layers
      .dense({ units: model.latentDim, activation: 'linear', kernelInitializer: kernelInit(), biasInitializer: 'zeros', name })
      .apply(eh) as SymbolicTensor;
  const mu = head('enc_mu');
  const logvar = head('enc_logvar');
  const encoder = tf.model({ inputs: x, outputs: [mu, logvar], name: 'encoder' });

  const z = tf.input({ shape: [model.latentDim], name: 'z' });
  const dh = hiddenStack(z, [...model.hidden].reverse(), 'dec');
  const out = tf.layers
    .dense({ units: inputDim, activation: 'linear', kernelInitializer: kernelInit(), biasInitializer: 'zeros', name: 'dec_out' })
    .apply(dh) as SymbolicTensor;
  const decoder = tf.model({ inputs: z, outputs: out, name: 'decoder' });

  return { encoder, decoder, paramCount: encoder.countParams() + decoder.countParams() };
}

interface LayerKit {
  kernelInit: () => ReturnType<Tf['initializers']['glorotUniform']>;
  act: (h: SymbolicTensor, name: string) => SymbolicTensor;
  dense: (h: SymbolicTensor, units: number, name: string, linear?: boolean) => SymbolicTensor;
  activation: 'linear' | Exclude<ModelConfig['activation'], 'leakyRelu'>;
}

/** The convolutional VAE (see the file comment); the seeded initialisers are drawn in layer order. */
function buildConv(tf: Tf, model: ModelConfig, shape: ImageShape, kit: LayerKit): Vae {
  const { kernelInit, act, dense, activation } = kit;
  const { height: H, width: W, channels: C } = shape;
  const geo = convGeometry(model, shape);
  const L = model.channels.length;
  const [hL, wL] = geo.encoderSizes[L - 1]!;
  const cL = model.channels[L - 1]!;
  const conv = (kind: 'conv2d' | 'conv2dTranspose', h: SymbolicTensor, filters: number, name: string, linear = false) =>
    tf.layers[kind]({
      filters,
      kernelSize: model.kernelSize,
      strides: CONV_STRIDE,
      padding: 'same',
      activation: linear ? 'linear' : activation,
      kernelInitializer: kernelInit(),
      biasInitializer: 'zeros',
      name,
    }).apply(h) as SymbolicTensor;

  const x = tf.input({ shape: [H * W * C], name: 'x' });
  let h = tf.layers.reshape({ targetShape: [H, W, C], name: 'enc_image' }).apply(x) as SymbolicTensor;
  model.channels.forEach((filters, i) => {
    h = act(conv('conv2d', h, filters, `enc_conv_${i + 1}`), `enc_conv_act_${i + 1}`);
  });
  h = tf.layers.flatten({ name: 'enc_flatten' }).apply(h) as SymbolicTensor;
  if (model.denseUnits > 0) h = act(dense(h, model.denseUnits, 'enc_dense_1'), 'enc_act_1');
  const mu = dense(h, model.latentDim, 'enc_mu', true);
  const logvar = dense(h, model.latentDim, 'enc_logvar', true);
  const encoder = tf.model({ inputs: x, outputs: [mu, logvar], name: 'encoder' });

  const z = tf.input({ shape: [model.latentDim], name: 'z' });
  let g = z;
  if (model.denseUnits > 0) g = act(dense(g, model.denseUnits, 'dec_dense_1'), 'dec_act_1');
  g = act(dense(g, hL * wL * cL, 'dec_dense_features'), 'dec_act_features');
  g = tf.layers.reshape({ targetShape: [hL, wL, cL], name: 'dec_features' }).apply(g) as SymbolicTensor;
  // Mirror: the transposed convolution i maps channels[i] back to channels[i - 1], the first to C.
  for (let i = L - 1; i >= 0; i--) {
    const last = i === 0;
    g = conv('conv2dTranspose', g, last ? C : model.channels[i - 1]!, `dec_deconv_${L - i}`, last);
    if (!last) g = act(g, `dec_deconv_act_${L - i}`);
  }
  const [[top, bottom], [left, right]] = geo.crop;
  if (top + bottom + left + right > 0) {
    g = tf.layers.cropping2D({ cropping: [[top, bottom], [left, right]], name: 'dec_crop' }).apply(g) as SymbolicTensor;
  }
  const out = tf.layers.flatten({ name: 'dec_out' }).apply(g) as SymbolicTensor;
  const decoder = tf.model({ inputs: z, outputs: out, name: 'decoder' });

  return { encoder, decoder, paramCount: encoder.countParams() + decoder.countParams() };
}
