/**
 * Starting points for the hyperparameter panel. Each preset is a partial config that the contract's
 * TrainConfigSchema completes with its defaults, so a preset can never hold a value main would
 * refuse (a unit test parses every one), plus the dataset it was made for where it names one.
 */
import { TrainConfigSchema } from '../../src-main/contract/index.ts';
import type { TrainConfig, TrainConfigInput } from '../../src-main/contract/index.ts';

export type PresetId = 'mnist-mlp' | 'conv-64' | 'beta-vae-shapes';

export interface Preset {
  id: PresetId;
  name: string;
  /** One line: what it is for. */
  description: string;
  /** The dataset the preset selects, or null to keep the one chosen. */
  datasetId: string | null;
  /** The image size it was designed for (the model adapts to any size; the panel says when they differ). */
  madeFor: { width: number; height: number; channels: number };
  input: TrainConfigInput;
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'mnist-mlp',
    name: 'MNIST-like MLP',
    description: 'The classic 784-400-20 MLP, Bernoulli likelihood and Adam (Kingma & Welling 2014).',
    datasetId: null,
    madeFor: { width: 28, height: 28, channels: 1 },
    // The schema's defaults are this model: an empty input keeps the preset and the defaults in step.
    input: {},
  },
  {
    id: 'conv-64',
    name: 'Conv 64 px',
    description: 'Three stride-2 convolutions (64 → 8 px), a 32-d latent, Gaussian likelihood with a learned σ.',
    datasetId: null,
    madeFor: { width: 64, height: 64, channels: 3 },
    input: {
      model: { kind: 'conv', channels: [32, 64, 128], kernelSize: 4, denseUnits: 0, latentDim: 32, activation: 'leakyRelu' },
      // A shared learned sigma (the "sigma-VAE" of Rybkin et al. 2021) balances reconstruction and
      // KL without hand-tuning the noise level of natural images.
      likelihood: 'gaussian',
      gaussianSigma: 0.1,
      gaussianSigmaMode: 'learned',
      optimizer: { name: 'adam', learningRate: 1e-3 },
      batchSize: 64,
      epochs: 30,
    },
  },
  {
    id: 'beta-vae-shapes',
    name: 'β-VAE on shapes',
    description: 'β = 4, linear KL warm-up, 10-d latent: looks for disentangled factors (Higgins et al. 2017; Burgess et al. 2018).',
    datasetId: 'builtin-shapes',
    madeFor: { width: 64, height: 64, channels: 1 },
    input: {
      model: { kind: 'conv', channels: [32, 32, 64, 64], kernelSize: 4, denseUnits: 256, latentDim: 10, activation: 'relu' },
      likelihood: 'bernoulli',
      beta: 4,
      // About 5 of the 20 epochs on the 18,000 training images (282 steps each at batch 64).
      klWarmup: { schedule: 'linear', steps: 1500 },
      optimizer: { name: 'adam', learningRate: 5e-4 },
      batchSize: 64,
      epochs: 20,
    },
  },
];

/** The full config a preset stands for (schema defaults filled in). */
export function presetConfig(preset: Preset): TrainConfig {
  return TrainConfigSchema.parse(preset.input);
}

/** "64×64×3" */
export function shapeText(s: { width: number; height: number; channels: number }): string {
  return `${s.width}×${s.height}×${s.channels}`;
}

export function presetById(id: string): Preset | null {
  return PRESETS.find((p) => p.id === id) ?? null;
}

/** The preset whose config equals `config` exactly, if any (the panel shows it as selected). */
export function matchingPreset(config: TrainConfig | null): Preset | null {
  if (!config) return null;
  const key = canonical(config);
  return PRESETS.find((p) => canonical(presetConfig(p)) === key) ?? null;
}

/** JSON with sorted keys: equal configs give equal strings whatever their key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}
