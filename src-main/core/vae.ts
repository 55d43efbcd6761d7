/**
 * The MLP VAE of Kingma & Welling 2014 (appendix C): encoder x -> hidden -> (mu, logvar), decoder
 * z -> mirrored hidden -> D outputs (Bernoulli logits or Gaussian means, both linear). Built as two
 * tfjs LayersModels so that checkpoints use the standard tfjs model.json + weights.bin format, which
 * the renderer can load directly (tf.loadLayersModel) to decode latent points.
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

/** Slope of the negative part for 'leakyRelu' (the usual choice in VAE/GAN MLPs). */
const LEAKY_ALPHA = 0.2;

/**
 * Builds the encoder and decoder. Every kernel gets a Glorot-uniform initialiser with its own seed
 * drawn from `seed`, so the same seed gives bit-identical initial weights on every backend (the
 * seeded draws happen in JS), and same-shaped layers (the mu and logvar heads) still start apart.
 */
export function buildVae(tf: Tf, model: ModelConfig, inputDim: number, seed: number): Vae {
  if (!Number.isInteger(inputDim) || inputDim < 1) throw new Error(`inputDim must be a positive integer, got ${inputDim}`);
  const rng = new Rng(seed);
  const kernelInit = () => tf.initializers.glorotUniform({ seed: rng.nextUint32() });

  const hiddenStack = (input: SymbolicTensor, widths: readonly number[], prefix: string): SymbolicTensor => {
    let h = input;
    const leaky = model.activation === 'leakyRelu';
    const activation = model.activation === 'leakyRelu' ? 'linear' : model.activation;
    widths.forEach((units, i) => {
      h = tf.layers
        .dense({
          units,
          activation,
          kernelInitializer: kernelInit(),
          biasInitializer: 'zeros',
          name: `${prefix}_dense_${i + 1}`,
        })
        .apply(h) as SymbolicTensor;
      if (leaky) h = tf.layers.leakyReLU({ alpha: LEAKY_ALPHA, name: `${prefix}_act_${i + 1}` }).apply(h) as SymbolicTensor;
    });
    return h;
  };

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
