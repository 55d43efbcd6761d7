/**
 * The one training configuration schema. Main validates every config with it; the CLI's
 * `--set key=value` and the renderer's panels write into it; each run stores the fully resolved
 * result so that a run can be rebuilt from its row alone. Defaults follow the classic MNIST VAE
 * (Kingma & Welling 2014, appendix C: 784-400-20, Adam), which trains well on 28x28 data.
 */
import { z } from 'zod';

export const ACTIVATIONS = ['relu', 'tanh', 'elu', 'leakyRelu'] as const;
export const LIKELIHOODS = ['bernoulli', 'gaussian'] as const;
export const OPTIMIZERS = ['adam', 'rmsprop', 'sgd'] as const;
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

export const ModelConfigSchema = z
  .object({
    kind: z.literal('mlp').default('mlp'),
    /** Encoder hidden widths; the decoder mirrors them. */
    hidden: z.array(z.number().int().min(1).max(8192)).min(1).max(8).default([400]),
    latentDim: z.number().int().min(1).max(512).default(20),
    activation: z.enum(ACTIVATIONS).default('relu'),
  })
  .strict();

export const OptimizerConfigSchema = z
  .object({
    name: z.enum(OPTIMIZERS).default('adam'),
    learningRate: z.number().positive().max(10).default(1e-3),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    model: ModelConfigSchema.prefault({}),
    /** p(x|z): Bernoulli from logits (data in [0,1]) or Gaussian with fixed sigma. */
    likelihood: z.enum(LIKELIHOODS).default('bernoulli'),
    /** Observation noise of the Gaussian likelihood, in data units. Ignored for Bernoulli. */
    gaussianSigma: z.number().positive().max(10).default(0.1),
    /** Weight of the KL term in the training objective; reported ELBO always uses beta = 1. */
    beta: z.number().min(0).max(1000).default(1),
    optimizer: OptimizerConfigSchema.prefault({}),
    batchSize: z.number().int().min(1).max(4096).default(128),
    epochs: z.number().int().min(1).max(10000).default(10),
    seed: z.number().int().min(0).max(2147483647).default(42),
    /** Fraction of the training data held out (seeded shuffle) to report the validation ELBO. */
    validationFraction: z.number().min(0).max(0.5).default(0.1),
    /** Use at most this many training samples (0 = all); handy for quick trials. */
    maxSamples: z.number().int().min(0).default(0),
    backend: z.enum(BACKEND_CHOICES).default('auto'),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const DEFAULT_CONFIG: TrainConfig = TrainConfigSchema.parse({});

/**
 * Applies `key=value` overrides with dotted keys (`model.latentDim=2`, `optimizer.learningRate=3e-4`,
 * `model.hidden=512,256`) to a plain object. Values are parsed as JSON where possible, as a
 * comma-separated number list where that fits, and as a string otherwise; the schema then validates.
 */
export function applyOverrides(base: Record<string, unknown>, pairs: readonly string[]): Record<string, unknown> {
  const out = structuredClone(base);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`expected key=value, got "${pair}"`);
    const path = pair.slice(0, eq).trim().split('.');
    const raw = pair.slice(eq + 1).trim();
    let node: Record<string, unknown> = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parseValue(raw);
  }
  return out;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    if (/^-?[\d.e+-]+(,-?[\d.e+-]+)+$/i.test(raw)) return raw.split(',').map(Number);
    return raw;
  }
}
