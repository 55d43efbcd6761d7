/**
 * The hyperparameter panel's model, generated from ONE field table (FIELDS below) over the one
 * TrainConfigSchema of the contract that main validates.
 *
 * - Each field names its dotted config path, label, short help, group and when it is relevant. Its
 *   kind (number, list, choice), its options and its valid range are read from the zod schema at
 *   that path (zod 4 keeps every check's definition on the schema), so the panel can never show a
 *   bound the schema does not enforce. The unit tests validate the edge values of every range.
 * - Every field is edited as text (so a half-typed "1e-" is not lost) and the whole form is turned
 *   into a TrainConfig on each change. Fields that are not relevant to the current choices (conv
 *   fields for an MLP, sigma for a Bernoulli likelihood, momentum for Adam...) are left out of the
 *   config, so the schema fills their defaults and a stale value in a hidden field never blocks a run.
 * - A field whose key the schema lets be absent (`.optional()`, no default: "threads") says what an
 *   empty field means ("Auto"); left empty, its key is left out of the config, and a config without
 *   the key loads as an empty field.
 * - Each schema issue is mapped back to the field that shows it with a short reason.
 */
import { TrainConfigSchema } from '../../../src-main/contract/index.ts';
import type { TrainConfig } from '../../../src-main/contract/index.ts';

export type GroupId = 'data' | 'model' | 'likelihood' | 'objective' | 'optimizer' | 'run';

export interface GroupSpec {
  id: GroupId;
  title: string;
}

/** The panel's groups, top to bottom. */
export const GROUPS: readonly GroupSpec[] = [
  { id: 'data', title: 'Data' },
  { id: 'model', title: 'Model' },
  { id: 'likelihood', title: 'Likelihood' },
  { id: 'objective', title: 'Objective & schedules' },
  { id: 'optimizer', title: 'Optimizer' },
  { id: 'run', title: 'Run' },
];

/** How one field is written in the table; the rest (kind, options, range) comes from the schema. */
interface FieldDef {
  /** Dotted TrainConfig path (as the server's INVALID_INPUT `field`, without `config.`). */
  path: string;
  label: string;
  /** One or two short sentences: what it does, and a typical value. */
  help: string;
  group: GroupId;
  /** Behind the group's "Advanced" disclosure. */
  advanced?: boolean;
  /** Display names of a choice's values (the value itself otherwise). */
  optionLabels?: Record<string, string>;
  /** Radio buttons instead of a drop-down (short choices that change what else is shown). */
  segmented?: boolean;
  /** Relevant only when this holds; hidden fields are left out of the config (schema default). */
  when?: (f: FormLike) => boolean;
  /** A remark about the current combination (not an error: it does not block a run). */
  note?: (f: FormLike) => string | null;
  /** What 0 stands for, where it switches the feature off ("all", "off"); shown in summaries. */
  zeroMeans?: string;
  /**
   * What an empty field stands for ("Auto"): only for a field the schema lets be absent (optional,
   * no default), whose key an empty field leaves out of the config. Shown as the placeholder and in
   * summaries.
   */
  blankMeans?: string;
  /** A choice whose value names itself in a collapsed group's summary ("MLP", "Adam"). */
  bare?: boolean;
}

type FormLike = Readonly<Record<string, string>>;

const adamLike = (f: FormLike) => f['optimizer'] === 'adam' || f['optimizer'] === 'adamw';
const num = (f: FormLike, key: string) => Number(f[key]);

/**
 * The field table. Object order is display order inside a group. Keys are the form's field names
 * (and the inputs' ids: `cfg-<key>`).
 */
const FIELDS = {
  // ── Data
  validationFraction: {
    path: 'validationFraction',
    label: 'Validation split',
    help: 'Fraction held out (seeded shuffle) to report the validation -ELBO each epoch; 0.1 is typical.',
    group: 'data',
  },
  maxSamples: {
    path: 'maxSamples',
    label: 'Max samples',
    help: 'Train on at most this many images (a seeded subset); 0 uses all. Handy for quick trials.',
    group: 'data',
    zeroMeans: 'all',
  },
  // ── Model
  kind: {
    path: 'model.kind',
    label: 'Architecture',
    help: 'MLP: dense layers on the flattened image. Convolutional: stride-2 convolutions, each halving the image, mirrored by transposed convolutions in the decoder.',
    group: 'model',
    segmented: true,
    optionLabels: { mlp: 'MLP', conv: 'Convolutional' },
    bare: true,
  },
  latentDim: {
    path: 'model.latentDim',
    label: 'Latent size',
    help: 'Dimensions of z. 2 lets you plot the latent space directly; 10 to 64 reconstruct better.',
    group: 'model',
  },
  hidden: {
    path: 'model.hidden',
    label: 'Hidden layers',
    help: 'Encoder widths, comma separated; the decoder mirrors them. Empty gives a linear model (probabilistic PCA).',
    group: 'model',
    when: (f) => f['kind'] === 'mlp',
  },
  channels: {
    path: 'model.channels',
    label: 'Channels',
    help: 'Output channels of each encoder convolution, comma separated; each layer halves height and width (28 → 14 → 7 for 32, 64).',
    group: 'model',
    when: (f) => f['kind'] === 'conv',
  },
  activation: {
    path: 'model.activation',
    label: 'Activation',
    help: 'Non-linearity after every hidden layer (the heads and the output stay linear).',
    group: 'model',
    optionLabels: { relu: 'ReLU', tanh: 'tanh', elu: 'ELU', leakyRelu: 'Leaky ReLU (0.2)' },
    bare: true,
  },
  kernelSize: {
    path: 'model.kernelSize',
    label: 'Kernel size',
    help: 'Square kernel of every convolution; 4, a multiple of the stride 2, avoids checkerboard artefacts.',
    group: 'model',
    advanced: true,
    when: (f) => f['kind'] === 'conv',
  },
  denseUnits: {
    path: 'model.denseUnits',
    label: 'Dense units',
    help: 'Width of a dense layer between the convolutional features and the latent heads; 0 = none.',
    group: 'model',
    advanced: true,
    when: (f) => f['kind'] === 'conv',
    zeroMeans: 'none',
  },
  // ── Likelihood
  likelihood: {
    path: 'likelihood',
    label: 'Likelihood',
    help: 'p(x|z) on data in [0, 1]. Bernoulli suits near-binary images; continuous Bernoulli is its proper density on [0, 1]; Gaussian suits natural images.',
    group: 'likelihood',
    optionLabels: { bernoulli: 'Bernoulli', continuousBernoulli: 'Continuous Bernoulli', gaussian: 'Gaussian' },
    bare: true,
  },
  binarization: {
    path: 'binarization',
    label: 'Binarization',
    help: 'Draw each pixel as 0/1 with its intensity as probability: once per sample (static) or at every step (dynamic). Validation uses the static draw.',
    group: 'likelihood',
    optionLabels: { none: 'None', static: 'Static', dynamic: 'Dynamic' },
    when: (f) => f['likelihood'] === 'bernoulli',
  },
  sigmaMode: {
    path: 'gaussianSigmaMode',
    label: 'σ mode',
    help: 'Fixed, or learned: one shared log-σ trained with the model (it finds the noise level of the data).',
    group: 'likelihood',
    optionLabels: { fixed: 'Fixed', learned: 'Learned' },
    when: (f) => f['likelihood'] === 'gaussian',
  },
  gaussianSigma: {
    path: 'gaussianSigma',
    label: 'Gaussian σ',
    help: 'Observation noise in data units; smaller σ weighs reconstruction more against the KL term.',
    group: 'likelihood',
    when: (f) => f['likelihood'] === 'gaussian',
    note: (f) => (f['sigmaMode'] === 'learned' ? 'Initial value; trained with the model' : null),
  },
  // ── Objective & schedules
  beta: {
    path: 'beta',
    label: 'β (KL weight)',
    help: 'Weight of the KL term in the training objective (β-VAE when > 1); the reported -ELBO always uses β = 1.',
    group: 'objective',
  },
  klSchedule: {
    path: 'klWarmup.schedule',
    label: 'KL warm-up',
    help: 'Ramps the KL weight from 0 up to β: linear, sigmoid, or cyclical (repeats every period). Helps against posterior collapse.',
    group: 'objective',
    optionLabels: { none: 'None', linear: 'Linear', sigmoid: 'Sigmoid', cyclical: 'Cyclical' },
  },
  klSteps: {
    path: 'klWarmup.steps',
    label: 'KL warm-up steps',
    help: 'Steps the ramp takes (the period of a cyclical schedule).',
    group: 'objective',
    when: (f) => f['klSchedule'] !== 'none',
  },
  klSteepness: {
    path: 'klWarmup.steepness',
    label: 'Sigmoid steepness',
    help: 'Steepness of the logistic ramp, centred half way through the warm-up.',
    group: 'objective',
    when: (f) => f['klSchedule'] === 'sigmoid',
  },
  klRampFraction: {
    path: 'klWarmup.rampFraction',
    label: 'Ramp fraction',
    help: 'Part of each cycle spent ramping up; the weight then stays at β until the next cycle.',
    group: 'objective',
    when: (f) => f['klSchedule'] === 'cyclical',
  },
  freeBits: {
    path: 'freeBits',
    label: 'Free bits',
    help: 'Nats per latent dimension below which KL is not penalised (0 = off); 0.1 to 0.5 keeps dimensions active.',
    group: 'objective',
    advanced: true,
    zeroMeans: 'off',
  },
  lrSchedule: {
    path: 'lrSchedule.kind',
    label: 'LR schedule',
    help: 'Constant, step decay, or cosine decay to a final fraction of the learning rate at the last step.',
    group: 'objective',
    advanced: true,
    optionLabels: { constant: 'Constant', step: 'Step decay', cosine: 'Cosine' },
  },
  lrWarmupSteps: {
    path: 'lrSchedule.warmupSteps',
    label: 'LR warm-up steps',
    help: 'The learning rate rises linearly over these first steps; 0 = none.',
    group: 'objective',
    advanced: true,
    zeroMeans: 'none',
  },
  lrStepSize: {
    path: 'lrSchedule.stepSize',
    label: 'Decay every',
    help: 'Steps between two decays of the learning rate.',
    group: 'objective',
    advanced: true,
    when: (f) => f['lrSchedule'] === 'step',
  },
  lrGamma: {
    path: 'lrSchedule.gamma',
    label: 'Decay factor',
    help: 'The learning rate is multiplied by this at every decay.',
    group: 'objective',
    advanced: true,
    when: (f) => f['lrSchedule'] === 'step',
  },
  lrMinFactor: {
    path: 'lrSchedule.minFactor',
    label: 'Final LR factor',
    help: 'Learning rate at the last step as a fraction of the base one.',
    group: 'objective',
    advanced: true,
    when: (f) => f['lrSchedule'] === 'cosine',
  },
  // ── Optimizer
  optimizer: {
    path: 'optimizer.name',
    label: 'Optimizer',
    help: 'Update rule. AdamW adds decoupled weight decay; SGD uses momentum.',
    group: 'optimizer',
    optionLabels: { adam: 'Adam', adamw: 'AdamW', rmsprop: 'RMSprop', sgd: 'SGD' },
    bare: true,
  },
  learningRate: {
    path: 'optimizer.learningRate',
    label: 'Learning rate',
    help: 'Base step size (the schedule scales it); 1e-3 suits Adam, 1e-2 to 1e-1 SGD.',
    group: 'optimizer',
  },
  weightDecay: {
    path: 'optimizer.weightDecay',
    label: 'Weight decay',
    help: 'Decoupled decay: every step, weights shrink by learning rate × this.',
    group: 'optimizer',
    when: (f) => f['optimizer'] === 'adamw',
  },
  momentum: {
    path: 'optimizer.momentum',
    label: 'Momentum',
    help: 'Heavy-ball momentum; 0 = plain SGD.',
    group: 'optimizer',
    when: (f) => f['optimizer'] === 'sgd',
  },
  beta1: {
    path: 'optimizer.beta1',
    label: 'Adam β₁',
    help: 'Decay rate of the first-moment (mean) estimate.',
    group: 'optimizer',
    advanced: true,
    when: adamLike,
  },
  beta2: {
    path: 'optimizer.beta2',
    label: 'Adam β₂',
    help: 'Decay rate of the second-moment (squared gradient) estimate.',
    group: 'optimizer',
    advanced: true,
    when: adamLike,
  },
  rho: {
    path: 'optimizer.rho',
    label: 'RMSprop ρ',
    help: 'Decay of the running mean of squared gradients.',
    group: 'optimizer',
    advanced: true,
    when: (f) => f['optimizer'] === 'rmsprop',
  },
  epsilon: {
    path: 'optimizer.epsilon',
    label: 'ε',
    help: 'Offset in the update’s denominator, for numerical stability.',
    group: 'optimizer',
    advanced: true,
    when: (f) => adamLike(f) || f['optimizer'] === 'rmsprop',
  },
  gradClipNorm: {
    path: 'gradClipNorm',
    label: 'Clip gradient norm',
    help: 'Rescales the gradients so their global L2 norm is at most this; 0 = no clipping.',
    group: 'optimizer',
    advanced: true,
    zeroMeans: 'off',
  },
  // ── Run
  batchSize: {
    path: 'batchSize',
    label: 'Batch size',
    help: 'Samples per step; 64 to 256 is typical.',
    group: 'run',
  },
  epochs: {
    path: 'epochs',
    label: 'Epochs',
    help: 'Passes over the training split.',
    group: 'run',
    note: (f) => (num(f, 'maxSteps') > 0 ? 'Ignored: the step budget sets the length' : null),
  },
  // Backend and Threads open the advanced part, side by side (one row of the two-column grid).
  backend: {
    path: 'backend',
    label: 'Backend',
    help: 'Compute engine; auto picks the fastest that loads (TensorFlow native or GPU > ONNX Runtime native CPU > WebAssembly > plain JS). The Compute page shows which load here.',
    group: 'run',
    advanced: true,
    optionLabels: { auto: 'Auto', tensorflow: 'TensorFlow', onnxruntime: 'ONNX Runtime', wasm: 'WebAssembly', cpu: 'Plain JS' },
  },
  threads: {
    path: 'threads',
    label: 'Threads',
    help: 'CPU threads to train on: ONNX Runtime’s intra-op threads, or WebAssembly’s data-parallel workers. Auto: one per core (one for a WebAssembly MLP); fewer leave cores free for other work. TensorFlow ignores it.',
    group: 'run',
    advanced: true,
    blankMeans: 'Auto',
    // TensorFlow uses every core itself and plain JS one: the count only steers ONNX Runtime and wasm.
    when: (f) => f['backend'] !== 'tensorflow' && f['backend'] !== 'cpu',
  },
  maxSteps: {
    path: 'maxSteps',
    label: 'Step budget',
    help: 'When above 0, train exactly this many steps and ignore the epoch count.',
    group: 'run',
    advanced: true,
    zeroMeans: 'off',
  },
  patience: {
    path: 'earlyStopping.patience',
    label: 'Patience',
    help: 'Early stopping: end the run after this many epochs without a better validation -ELBO; 0 = off. Needs a validation split.',
    group: 'run',
    advanced: true,
    zeroMeans: 'off',
  },
  minDelta: {
    path: 'earlyStopping.minDelta',
    label: 'Min improvement',
    help: 'Nats by which an epoch must beat the best validation -ELBO to count as better.',
    group: 'run',
    advanced: true,
    when: (f) => num(f, 'patience') > 0,
  },
  seed: {
    path: 'seed',
    label: 'Seed',
    help: 'Same seed, same data split, shuffles and initial weights.',
    group: 'run',
    advanced: true,
  },
} satisfies Record<string, FieldDef>;

export type FieldKey = keyof typeof FIELDS;
export const FIELD_KEYS = Object.keys(FIELDS) as FieldKey[];
export type FormValues = Record<FieldKey, string>;
export type FieldErrors = Partial<Record<FieldKey, string>>;

// ─────────────────────────── schema introspection (zod 4)

/** The parts of a zod 4 schema the panel reads: `def` with its type, wrapped type, shape, element, checks. */
interface SchemaNode {
  def: {
    type: string;
    innerType?: SchemaNode;
    shape?: Record<string, SchemaNode>;
    element?: SchemaNode;
    entries?: Record<string, string | number>;
    checks?: { _zod: { def: CheckDef } }[];
  };
}
interface CheckDef {
  check: string;
  value?: number;
  inclusive?: boolean;
  format?: string;
  minimum?: number;
  maximum?: number;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch']);

function unwrap(node: SchemaNode): SchemaNode {
  let n = node;
  while (WRAPPERS.has(n.def.type) && n.def.innerType) n = n.def.innerType;
  return n;
}

/** The schema at a dotted path of TrainConfigSchema, still in its wrappers (default, optional...). */
function wrappedSchemaAt(path: string): SchemaNode {
  let node = TrainConfigSchema as unknown as SchemaNode;
  for (const key of path.split('.')) {
    const parent = unwrap(node);
    const next = parent.def.type === 'object' ? parent.def.shape?.[key] : undefined;
    if (!next) throw new Error(`TrainConfigSchema has no field "${path}"`);
    node = next;
  }
  return node;
}

/** The (unwrapped) schema at a dotted path of TrainConfigSchema. */
function schemaAt(path: string): SchemaNode {
  return unwrap(wrappedSchemaAt(path));
}

/** Whether the key at `path` may be absent from a parsed config: optional, and no default fills it. */
function mayBeAbsent(path: string): boolean {
  let n = wrappedSchemaAt(path);
  while (WRAPPERS.has(n.def.type) && n.def.innerType) {
    if (n.def.type === 'default' || n.def.type === 'prefault') return false;
    if (n.def.type === 'optional') return true;
    n = n.def.innerType;
  }
  return false;
}

/** Bounds of a number; null where the schema sets none. */
export interface NumberRange {
  min: number | null;
  minInclusive: boolean;
  max: number | null;
  maxInclusive: boolean;
  integer: boolean;
}

export interface FieldRange {
  /** The number's bounds (for a list: each entry's). */
  value: NumberRange;
  /** List fields: how many entries. */
  items?: { min: number; max: number | null };
}

function numberRange(node: SchemaNode): NumberRange {
  const r: NumberRange = { min: null, minInclusive: true, max: null, maxInclusive: true, integer: false };
  for (const c of node.def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'number_format' && /int/.test(d.format ?? '')) r.integer = true;
    else if (d.check === 'greater_than' && typeof d.value === 'number') {
      // Several lower bounds: the tightest wins (an exclusive one beats an inclusive one at the same value).
      if (r.min === null || d.value > r.min || (d.value === r.min && !d.inclusive)) {
        r.min = d.value;
        r.minInclusive = d.inclusive !== false;
      }
    } else if (d.check === 'less_than' && typeof d.value === 'number') {
      if (r.max === null || d.value < r.max || (d.value === r.max && !d.inclusive)) {
        r.max = d.value;
        r.maxInclusive = d.inclusive !== false;
      }
    }
  }
  return r;
}

function itemsRange(node: SchemaNode): { min: number; max: number | null } {
  let min = 0;
  let max: number | null = null;
  for (const c of node.def.checks ?? []) {
    const d = c._zod.def;
    if (d.check === 'min_length' && typeof d.minimum === 'number') min = Math.max(min, d.minimum);
    if (d.check === 'max_length' && typeof d.maximum === 'number') max = max === null ? d.maximum : Math.min(max, d.maximum);
    if (d.check === 'length_equals' && typeof d.value === 'number') min = max = d.value;
  }
  return { min, max };
}

// ─────────────────────────── the resolved field specs

export type FieldKind = 'number' | 'list' | 'choice';

export interface FieldSpec {
  key: FieldKey;
  path: string;
  label: string;
  help: string;
  group: GroupId;
  advanced: boolean;
  segmented: boolean;
  kind: FieldKind;
  /** Choice fields: the schema's values, and what to show for each. */
  options?: readonly string[];
  optionLabels?: Readonly<Record<string, string>>;
  /** Number and list fields: the schema's bounds. */
  range?: FieldRange;
  zeroMeans?: string;
  /** Fields the schema lets be absent: what empty means ("Auto"); empty leaves the key out. */
  blankMeans?: string;
  bare: boolean;
}

function resolve(key: FieldKey): FieldSpec {
  const def: FieldDef = FIELDS[key];
  const node = schemaAt(def.path);
  // An optional key must say what its absence means, and only an optional key may be left empty.
  if (mayBeAbsent(def.path) !== (def.blankMeans !== undefined)) {
    throw new Error(`${def.path}: blankMeans must be set exactly when the schema lets the key be absent`);
  }
  const base = {
    key,
    path: def.path,
    label: def.label,
    help: def.help,
    group: def.group,
    advanced: def.advanced ?? false,
    segmented: def.segmented ?? false,
    bare: def.bare ?? false,
    ...(def.zeroMeans ? { zeroMeans: def.zeroMeans } : {}),
    ...(def.blankMeans ? { blankMeans: def.blankMeans } : {}),
  };
  switch (node.def.type) {
    case 'enum': {
      const options = Object.values(node.def.entries ?? {}).map(String);
      const optionLabels = Object.fromEntries(options.map((o) => [o, def.optionLabels?.[o] ?? o]));
      return { ...base, kind: 'choice', options, optionLabels };
    }
    case 'number':
      return { ...base, kind: 'number', range: { value: numberRange(node) } };
    case 'array': {
      const el = node.def.element ? unwrap(node.def.element) : null;
      if (!el || el.def.type !== 'number') throw new Error(`${def.path}: only lists of numbers are supported`);
      return { ...base, kind: 'list', range: { value: numberRange(el), items: itemsRange(node) } };
    }
    default:
      throw new Error(`${def.path}: unsupported schema type ${node.def.type}`);
  }
}

export const FIELD_SPECS: Record<FieldKey, FieldSpec> = Object.fromEntries(FIELD_KEYS.map((k) => [k, resolve(k)])) as Record<
  FieldKey,
  FieldSpec
>;

/** Where each field lives in TrainConfig (dotted path, as the server's INVALID_INPUT `field`). */
export const FIELD_PATHS: Record<FieldKey, string> = Object.fromEntries(FIELD_KEYS.map((k) => [k, FIELDS[k].path])) as Record<
  FieldKey,
  string
>;

/** The fields of one group, in display order. */
export function groupFields(group: GroupId): FieldKey[] {
  return FIELD_KEYS.filter((k) => FIELDS[k].group === group);
}

/** Whether a field matters for the current choices (others are hidden and left to their defaults). */
export function isRelevant(key: FieldKey, f: FormValues): boolean {
  const def: FieldDef = FIELDS[key];
  return def.when ? def.when(f) : true;
}

/** A remark about the field in the current combination, or null. */
export function fieldNote(key: FieldKey, f: FormValues): string | null {
  const def: FieldDef = FIELDS[key];
  return def.note ? def.note(f) : null;
}

// ─────────────────────────── range text

function fmt(v: number): string {
  if (Math.abs(v) >= 1e5 && Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(v);
}

/** Compact range for the label row ("1–512", "> 0, ≤ 10", "≥ 0", "each 1–8192"); '' for choices. */
export function rangeShort(spec: FieldSpec): string {
  const r = spec.range?.value;
  if (!r) return '';
  // Very large upper bounds (e.g. the seed's 2^31 - 1) only crowd the label: the sentence keeps them.
  const max = r.max !== null && r.max < 1e5 ? r.max : null;
  const prefix = spec.kind === 'list' ? 'each ' : '';
  if (r.min !== null && max !== null) {
    if (r.minInclusive && r.maxInclusive) return `${prefix}${fmt(r.min)}–${fmt(max)}`;
    return `${prefix}${r.minInclusive ? '≥' : '>'} ${fmt(r.min)}, ${r.maxInclusive ? '≤' : '<'} ${fmt(max)}`;
  }
  if (r.min !== null) return `${prefix}${r.minInclusive ? '≥' : '>'} ${fmt(r.min)}`;
  if (max !== null) return `${prefix}${r.maxInclusive ? '≤' : '<'} ${fmt(max)}`;
  return '';
}

function boundsSentence(r: NumberRange): string {
  const lo = r.min === null ? null : `${r.minInclusive ? 'at least' : 'above'} ${fmt(r.min)}`;
  const hi = r.max === null ? null : `${r.maxInclusive ? 'at most' : 'below'} ${fmt(r.max)}`;
  return [lo, hi].filter(Boolean).join(', ');
}

/**
 * The valid range in words, for screen readers and the help line ("Whole number, at least 1, at
 * most 512."; "... Empty: Auto." where the field may be left empty).
 */
export function rangeSentence(spec: FieldSpec): string {
  const s = rangeWords(spec);
  return spec.blankMeans ? `${s} Empty: ${spec.blankMeans}.` : s;
}

function rangeWords(spec: FieldSpec): string {
  const range = spec.range;
  if (!range) return spec.options ? `One of: ${spec.options.map((o) => spec.optionLabels?.[o] ?? o).join(', ')}.` : '';
  const what = range.value.integer ? 'whole number' : 'number';
  const bounds = boundsSentence(range.value);
  if (range.items) {
    const { min, max } = range.items;
    const count = max === null ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
    return `List of ${count} ${what}s${bounds ? `, each ${bounds}` : ''}.`;
  }
  const s = `${what}${bounds ? `, ${bounds}` : ''}.`;
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ─────────────────────────── form <-> config

function getPath(obj: unknown, path: string): unknown {
  let v = obj;
  for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/**
 * The form for a config. A run stored before a field existed lacks it: the schema's default (what
 * that run used) fills it in. An optional key that is absent ("threads": automatic) gives an empty field.
 */
export function formFromConfig(c: TrainConfig): FormValues {
  const full = TrainConfigSchema.safeParse(c);
  const src = full.success ? full.data : c;
  const out = {} as FormValues;
  for (const key of FIELD_KEYS) {
    const v = getPath(src, FIELD_PATHS[key]);
    out[key] = Array.isArray(v) ? v.join(', ') : v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/** Parses a number typed by a person: '' is missing, anything Number() rejects is not a number. */
export function parseNumber(text: string): { value: number } | { error: string } {
  const t = text.trim();
  if (t === '') return { error: 'Required' };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: 'Not a number' };
  return { value: v };
}

/** "512, 256" or "512 256" -> [512, 256]; '' -> [] when `allowEmpty`. */
export function parseList(text: string, allowEmpty = false): { value: number[] } | { error: string } {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  if (parts.length === 0) return allowEmpty ? { value: [] } : { error: 'At least one layer width' };
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
  const last = issue.path[issue.path.length - 1];
  const layer = typeof last === 'number' ? `Layer ${last + 1}: ` : '';
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

/**
 * Checks across fields that the schema alone cannot see but the engine refuses at start (so the
 * person learns it here, not from a failed run). They read the raw typed values, so they show even
 * while another field is wrong.
 */
function crossChecks(raw: Record<string, unknown>, f: FormValues): FieldErrors {
  const errors: FieldErrors = {};
  const n = (path: string) => getPath(raw, path);
  // core/train.ts: early stopping watches the validation -ELBO, so it needs a hold-out.
  if (isRelevant('patience', f) && Number(n('earlyStopping.patience')) > 0 && n('validationFraction') === 0) {
    errors.patience = 'Needs a validation split above 0';
  }
  return errors;
}

export interface FormCheck {
  /** The validated config (schema defaults applied), or null while any field is wrong. */
  config: TrainConfig | null;
  errors: FieldErrors;
}

export function checkForm(f: FormValues): FormCheck {
  const errors: FieldErrors = {};
  const raw: Record<string, unknown> = {};
  for (const key of FIELD_KEYS) {
    if (!isRelevant(key, f)) continue;
    const spec = FIELD_SPECS[key];
    // Empty where the key may be absent: left out of the config (automatic), not null or 0.
    if (spec.blankMeans !== undefined && f[key].trim() === '') continue;
    let value: unknown = f[key];
    if (spec.kind === 'number') {
      const r = parseNumber(f[key]);
      if ('error' in r) errors[key] = r.error;
      value = 'value' in r ? r.value : Number.NaN;
    } else if (spec.kind === 'list') {
      const r = parseList(f[key], (spec.range?.items?.min ?? 1) === 0);
      if ('error' in r) errors[key] = r.error;
      value = 'value' in r ? r.value : [];
    }
    setPath(raw, spec.path, value);
  }
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    for (const issue of r.error.issues as Issue[]) {
      const key = fieldForPath(issue.path.map(String).join('.'));
      // A field that already failed to parse keeps its parse message ("Required", "Not a number").
      if (key && errors[key] === undefined) errors[key] = describeIssue(issue);
    }
  }
  for (const [k, m] of Object.entries(crossChecks(raw, f)) as [FieldKey, string][]) errors[k] ??= m;
  const ok = r.success && Object.keys(errors).length === 0;
  return { config: ok ? r.data : null, errors };
}

/** Fields that differ from the defaults (to show a "modified" mark and a reset). */
export function changedFields(f: FormValues, defaults: FormValues): FieldKey[] {
  return FIELD_KEYS.filter((k) => f[k].trim() !== defaults[k]);
}

/**
 * The value as shown to a person: a choice's label, a list with arrows, "off" for a 0 that
 * disables, "Auto" for an optional field left empty.
 */
export function displayValue(key: FieldKey, f: FormValues): string {
  const spec = FIELD_SPECS[key];
  const v = f[key].trim();
  if (spec.blankMeans !== undefined && v === '') return spec.blankMeans;
  if (spec.kind === 'choice') return spec.optionLabels?.[v] ?? v;
  if (spec.kind === 'list') return v === '' ? 'none' : v.split(/[\s,;]+/).filter(Boolean).join(' → ');
  if (spec.zeroMeans && v !== '' && Number(v) === 0) return spec.zeroMeans;
  return v;
}

/** "Latent size 20", "Binarization None", or just "ReLU" where the value names itself: for collapsed summaries. */
export function labelledValue(key: FieldKey, f: FormValues): string {
  const spec = FIELD_SPECS[key];
  return spec.bare ? displayValue(key, f) : `${spec.label} ${displayValue(key, f)}`;
}
