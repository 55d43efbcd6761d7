/**
 * The hyperparameter panel's model: every field is edited as text (so a half-typed "1e-" is not
 * lost) and turned into a TrainConfig on each change. Validation uses the one TrainConfigSchema of
 * the contract, and each issue is mapped back to the field that shows it with a short reason.
 */
import {
  ACTIVATIONS,
  BACKEND_CHOICES,
  LIKELIHOODS,
  OPTIMIZERS,
  TrainConfigSchema,
} from '../../../src-main/contract/index.ts';
import type { TrainConfig } from '../../../src-main/contract/index.ts';

export const FIELD_KEYS = [
  'latentDim',
  'hidden',
  'activation',
  'likelihood',
  'gaussianSigma',
  'beta',
  'optimizer',
  'learningRate',
  'batchSize',
  'epochs',
  'seed',
  'validationFraction',
  'maxSamples',
  'backend',
] as const;
export type FieldKey = (typeof FIELD_KEYS)[number];
export type FormValues = Record<FieldKey, string>;
export type FieldErrors = Partial<Record<FieldKey, string>>;

/** Where each field lives in TrainConfig (dotted path, as the server's INVALID_INPUT `field`). */
export const FIELD_PATHS: Record<FieldKey, string> = {
  latentDim: 'model.latentDim',
  hidden: 'model.hidden',
  activation: 'model.activation',
  likelihood: 'likelihood',
  gaussianSigma: 'gaussianSigma',
  beta: 'beta',
  optimizer: 'optimizer.name',
  learningRate: 'optimizer.learningRate',
  batchSize: 'batchSize',
  epochs: 'epochs',
  seed: 'seed',
  validationFraction: 'validationFraction',
  maxSamples: 'maxSamples',
  backend: 'backend',
};

export interface FieldSpec {
  key: FieldKey;
  label: string;
  kind: 'number' | 'list' | 'choice';
  options?: readonly string[];
  hint: string;
}

export const FIELD_SPECS: Record<FieldKey, FieldSpec> = {
  latentDim: { key: 'latentDim', label: 'Latent size', kind: 'number', hint: 'Dimensions of z (2 lets you plot the latent space directly).' },
  hidden: { key: 'hidden', label: 'Hidden layers', kind: 'list', hint: 'Encoder widths, comma separated; the decoder mirrors them.' },
  activation: { key: 'activation', label: 'Activation', kind: 'choice', options: ACTIVATIONS, hint: 'Non-linearity of the hidden layers.' },
  likelihood: { key: 'likelihood', label: 'Likelihood', kind: 'choice', options: LIKELIHOODS, hint: 'p(x|z): Bernoulli for data in [0, 1], Gaussian with fixed σ otherwise.' },
  gaussianSigma: { key: 'gaussianSigma', label: 'Gaussian σ', kind: 'number', hint: 'Observation noise of the Gaussian likelihood, in data units.' },
  beta: { key: 'beta', label: 'β (KL weight)', kind: 'number', hint: 'Weight of the KL term in the objective; reported -ELBO always uses β = 1.' },
  optimizer: { key: 'optimizer', label: 'Optimizer', kind: 'choice', options: OPTIMIZERS, hint: 'Update rule.' },
  learningRate: { key: 'learningRate', label: 'Learning rate', kind: 'number', hint: 'Step size, e.g. 1e-3 for Adam.' },
  batchSize: { key: 'batchSize', label: 'Batch size', kind: 'number', hint: 'Samples per step.' },
  epochs: { key: 'epochs', label: 'Epochs', kind: 'number', hint: 'Passes over the training split.' },
  seed: { key: 'seed', label: 'Seed', kind: 'number', hint: 'Same seed, same data split and initial weights.' },
  validationFraction: { key: 'validationFraction', label: 'Validation split', kind: 'number', hint: 'Fraction held out to report the validation -ELBO (0 to 0.5).' },
  maxSamples: { key: 'maxSamples', label: 'Max samples', kind: 'number', hint: 'Train on at most this many samples; 0 uses all.' },
  backend: { key: 'backend', label: 'Backend', kind: 'choice', options: BACKEND_CHOICES, hint: 'Compute engine; auto picks the fastest that loads.' },
};

export function formFromConfig(c: TrainConfig): FormValues {
  return {
    latentDim: String(c.model.latentDim),
    hidden: c.model.hidden.join(', '),
    activation: c.model.activation,
    likelihood: c.likelihood,
    gaussianSigma: String(c.gaussianSigma),
    beta: String(c.beta),
    optimizer: c.optimizer.name,
    learningRate: String(c.optimizer.learningRate),
    batchSize: String(c.batchSize),
    epochs: String(c.epochs),
    seed: String(c.seed),
    validationFraction: String(c.validationFraction),
    maxSamples: String(c.maxSamples),
    backend: c.backend,
  };
}

/** Parses a number typed by a person: '' is missing, anything Number() rejects is not a number. */
export function parseNumber(text: string): { value: number } | { error: string } {
  const t = text.trim();
  if (t === '') return { error: 'Required' };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: 'Not a number' };
  return { value: v };
}

/** "512, 256" or "512 256" -> [512, 256]. */
export function parseList(text: string): { value: number[] } | { error: string } {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  if (parts.length === 0) return { error: 'At least one layer width' };
  const out: number[] = [];
  for (const [i, p] of parts.entries()) {
    const v = Number(p);
    if (!Number.isFinite(v)) return { error: `Layer ${i + 1}: "${p}" is not a number` };
    out.push(v);
  }
  return { value: out };
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  origin?: string;
  expected?: string;
  values?: unknown[];
}

/** A short reason in plain words for one schema issue. */
export function describeIssue(issue: Issue): string {
  const layer = typeof issue.path[2] === 'number' ? `Layer ${issue.path[2] + 1}: ` : '';
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return `Needs at least ${issue.minimum} ${issue.minimum === 1 ? 'entry' : 'entries'}`;
      return `${layer}Must be ${issue.inclusive ? '≥' : '>'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `At most ${issue.maximum} entries`;
      return `${layer}Must be ${issue.inclusive ? '≤' : '<'} ${issue.maximum}`;
    case 'invalid_type':
      if (issue.expected === 'int') return `${layer}Must be a whole number`;
      return `${layer}Must be a ${issue.expected}`;
    case 'invalid_value':
      return `Choose one of ${(issue.values ?? []).map(String).join(', ')}`;
    default:
      return issue.message;
  }
}

/** The form field that shows an error about `path` (a dotted TrainConfig path), if any. */
export function fieldForPath(path: string): FieldKey | null {
  for (const key of FIELD_KEYS) {
    const p = FIELD_PATHS[key];
    if (path === p || path.startsWith(`${p}.`)) return key;
  }
  return null;
}

export interface FormCheck {
  /** The validated config (schema defaults applied), or null while any field is wrong. */
  config: TrainConfig | null;
  errors: FieldErrors;
}

export function checkForm(f: FormValues): FormCheck {
  const errors: FieldErrors = {};
  const num = (key: FieldKey): number => {
    const r = parseNumber(f[key]);
    if ('error' in r) {
      errors[key] = r.error;
      return Number.NaN;
    }
    return r.value;
  };
  const hidden = parseList(f.hidden);
  if ('error' in hidden) errors.hidden = hidden.error;
  const raw = {
    model: {
      kind: 'mlp' as const,
      hidden: 'value' in hidden ? hidden.value : [],
      latentDim: num('latentDim'),
      activation: f.activation,
    },
    likelihood: f.likelihood,
    gaussianSigma: num('gaussianSigma'),
    beta: num('beta'),
    optimizer: { name: f.optimizer, learningRate: num('learningRate') },
    batchSize: num('batchSize'),
    epochs: num('epochs'),
    seed: num('seed'),
    validationFraction: num('validationFraction'),
    maxSamples: num('maxSamples'),
    backend: f.backend,
  };
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    for (const issue of r.error.issues as Issue[]) {
      const key = fieldForPath(issue.path.map(String).join('.'));
      // A field that already failed to parse keeps its parse message ("Required", "Not a number").
      if (key && errors[key] === undefined) errors[key] = describeIssue(issue);
    }
  }
  const ok = r.success && Object.keys(errors).length === 0;
  return { config: ok ? r.data : null, errors };
}

/** Fields that differ from the defaults (to show a "modified" mark and a reset). */
export function changedFields(f: FormValues, defaults: FormValues): FieldKey[] {
  return FIELD_KEYS.filter((k) => f[k].trim() !== defaults[k]);
}
