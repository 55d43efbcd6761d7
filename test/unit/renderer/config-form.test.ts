/**
 * The hyperparameter panel's model (src-renderer/lib/util/config-form.ts), its presets and the
 * renderer's closed-form parameter count. The panel reads ranges from the zod schema; these tests
 * check them against the schema itself by validating the values at and just past every edge, check
 * that the field table covers every leaf of TrainConfigSchema, and compare the parameter count with
 * the engine's tfjs models (core/vae.ts buildVae(...).paramCount).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_CONFIG, ModelConfigSchema, TrainConfigSchema } from '../../../src-main/contract/index.ts';
import type { TrainConfig } from '../../../src-main/contract/index.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { BUILTIN_DATASETS } from '../../../src-main/core/sample-data.ts';
import { plannedSteps, splitIndices } from '../../../src-main/core/train.ts';
import { buildVae } from '../../../src-main/core/vae.ts';
import {
  modelParamCount,
  stepsPerEpoch,
  trainableParamCount,
  architectureText,
} from '../../../src-renderer/features/train/param-count.ts';
import type { ImageShape } from '../../../src-renderer/features/train/param-count.ts';
import { PRESETS, matchingPreset, presetConfig } from '../../../src-renderer/lib/presets.ts';
import {
  FIELD_KEYS,
  FIELD_PATHS,
  FIELD_SPECS,
  GROUPS,
  changedFields,
  checkForm,
  displayValue,
  fieldForPath,
  formFromConfig,
  groupFields,
  isRelevant,
  labelledValue,
  parseList,
  parseNumber,
  rangeSentence,
  rangeShort,
} from '../../../src-renderer/lib/util/config-form.ts';
import type { FieldKey, FormValues } from '../../../src-renderer/lib/util/config-form.ts';

const defaults = (): FormValues => formFromConfig(DEFAULT_CONFIG);
const withField = (patch: Partial<FormValues>): FormValues => ({ ...defaults(), ...patch });

test('the default form is valid and round-trips to DEFAULT_CONFIG', () => {
  const r = checkForm(defaults());
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.config, DEFAULT_CONFIG);
});

/**
 * Keys the schema lets be absent (optional, no default): DEFAULT_CONFIG lacks them, the form still
 * covers them (an empty field means the key is left out). Add a key here deliberately, with its field.
 */
const OPTIONAL_PATHS = ['threads'];

test('the field table covers every leaf of TrainConfigSchema, one field per path', () => {
  const leaves: string[] = [...OPTIONAL_PATHS];
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, path);
      else leaves.push(path);
    }
  };
  walk(DEFAULT_CONFIG as unknown as Record<string, unknown>, '');
  assert.deepEqual([...Object.values(FIELD_PATHS)].sort(), leaves.sort());
  assert.equal(new Set(Object.values(FIELD_PATHS)).size, FIELD_KEYS.length, 'one path per field');
  // The optional keys really are optional: absent from the defaults, and the schema accepts a config without them.
  for (const path of OPTIONAL_PATHS) {
    assert.equal(path in DEFAULT_CONFIG, false, `${path} has a default: it belongs to the leaves`);
    assert.equal(TrainConfigSchema.safeParse({ ...DEFAULT_CONFIG, [path]: undefined }).success, true, path);
  }
  // Exactly the optional fields may be left empty.
  assert.deepEqual(
    FIELD_KEYS.filter((k) => FIELD_SPECS[k].blankMeans !== undefined).map((k) => FIELD_PATHS[k]),
    OPTIONAL_PATHS,
  );
  // Every field sits in exactly one of the six groups.
  assert.deepEqual(GROUPS.map((g) => g.id), ['data', 'model', 'likelihood', 'objective', 'optimizer', 'run']);
  assert.deepEqual(GROUPS.flatMap((g) => groupFields(g.id)).sort(), [...FIELD_KEYS].sort());
});

test('kinds, options and ranges are read from the schema', () => {
  assert.deepEqual(FIELD_SPECS.latentDim.range?.value, { min: 1, minInclusive: true, max: 512, maxInclusive: true, integer: true });
  assert.deepEqual(FIELD_SPECS.learningRate.range?.value, { min: 0, minInclusive: false, max: 10, maxInclusive: true, integer: false });
  assert.deepEqual(FIELD_SPECS.hidden.range?.items, { min: 0, max: 8 });
  assert.deepEqual(FIELD_SPECS.channels.range?.items, { min: 1, max: 6 });
  assert.deepEqual(FIELD_SPECS.lrWarmupSteps.range?.value.max, null);
  assert.deepEqual(FIELD_SPECS.likelihood.options, ['bernoulli', 'continuousBernoulli', 'gaussian']);
  assert.deepEqual(FIELD_SPECS.optimizer.options, ['adam', 'adamw', 'rmsprop', 'sgd']);
  assert.equal(FIELD_SPECS.kind.kind, 'choice');
  // Every number the schema holds has at least a lower bound: the introspection found them all.
  for (const key of FIELD_KEYS) {
    const spec = FIELD_SPECS[key];
    if (spec.kind !== 'choice') assert.notEqual(spec.range?.value.min, null, `${key} has no lower bound`);
  }
  assert.equal(rangeShort(FIELD_SPECS.latentDim), '1–512');
  assert.equal(rangeShort(FIELD_SPECS.learningRate), '> 0, ≤ 10');
  assert.equal(rangeShort(FIELD_SPECS.gradClipNorm), '≥ 0');
  assert.equal(rangeShort(FIELD_SPECS.hidden), 'each 1–8192');
  assert.equal(rangeShort(FIELD_SPECS.seed), '≥ 0', 'a huge maximum stays out of the label row');
  assert.equal(rangeSentence(FIELD_SPECS.seed), 'Whole number, at least 0, at most 2,147,483,647.');
  assert.equal(rangeSentence(FIELD_SPECS.hidden), 'List of 0 to 8 whole numbers, each at least 1, at most 8192.');
});

/** Choices under which each field matters (the first that shows it is used). */
const CONTEXTS: Partial<FormValues>[] = [
  {},
  { kind: 'conv' },
  { likelihood: 'gaussian' },
  { optimizer: 'adamw' },
  { optimizer: 'sgd' },
  { optimizer: 'rmsprop' },
  { klSchedule: 'sigmoid' },
  { klSchedule: 'cyclical' },
  { lrSchedule: 'step' },
  { lrSchedule: 'cosine' },
  { patience: '3' },
];
const contextFor = (key: FieldKey): FormValues | null => {
  for (const c of CONTEXTS) {
    const f = withField(c);
    if (isRelevant(key, f)) return f;
  }
  return null;
};

test('every field is shown for some choice of the others', () => {
  for (const key of FIELD_KEYS) assert.ok(contextFor(key), `${key} is never shown`);
});

test('the shown ranges agree with the schema: values at an edge pass, values just past it fail', () => {
  const check = (key: FieldKey, form: FormValues, value: number, ok: boolean) => {
    const text = String(value);
    const r = checkForm({ ...form, [key]: text });
    if (ok) assert.deepEqual(r.errors, {}, `${key} = ${text} should pass`);
    else {
      assert.ok(r.errors[key] !== undefined, `${key} = ${text} should fail`);
      assert.equal(r.config, null);
    }
    // What the panel checks is what main checks.
    const raw = structuredClone(r.config ?? DEFAULT_CONFIG) as unknown as Record<string, unknown>;
    let node = raw;
    const path = FIELD_PATHS[key].split('.');
    for (const p of path.slice(0, -1)) node = node[p] as Record<string, unknown>;
    node[path[path.length - 1]!] = FIELD_SPECS[key].kind === 'list' ? [value] : value;
    assert.equal(TrainConfigSchema.safeParse(raw).success, ok, `schema on ${key} = ${text}`);
  };
  let edges = 0;
  for (const key of FIELD_KEYS) {
    const spec = FIELD_SPECS[key];
    const r = spec.range?.value;
    if (!r) continue;
    const form = contextFor(key)!;
    const eps = (v: number) => (r.integer ? 1 : Math.max(1e-9, Math.abs(v) * 1e-6));
    if (r.min !== null) {
      check(key, form, r.min, r.minInclusive);
      check(key, form, r.minInclusive ? r.min - eps(r.min) : r.min + eps(r.min), !r.minInclusive);
      edges += 2;
    }
    if (r.max !== null) {
      check(key, form, r.max, r.maxInclusive);
      check(key, form, r.maxInclusive ? r.max + eps(r.max) : r.max - eps(r.max), !r.maxInclusive);
      edges += 2;
    } else {
      check(key, form, (r.min ?? 0) + 1e6, true);
    }
    if (r.integer && r.min !== null && (r.max === null || r.max - r.min >= 1)) {
      assert.match(checkForm({ ...form, [key]: String(r.min + 0.5) }).errors[key] ?? '', /^(Layer 1: )?Must be a whole number$/, key);
    }
  }
  assert.ok(edges > 50, `only ${edges} edges checked`);
  // List lengths.
  assert.equal(checkForm(withField({ hidden: '1, 1, 1, 1, 1, 1, 1, 1, 1' })).errors.hidden, 'At most 8 entries');
  assert.equal(checkForm(withField({ kind: 'conv', channels: '' })).errors.channels, 'At least one layer width');
  assert.deepEqual(checkForm(withField({ hidden: '' })).config?.model.hidden, [], 'an empty MLP is the linear model');
});

test('edited fields land in the config at their paths', () => {
  const r = checkForm(
    withField({
      latentDim: '2',
      hidden: '512, 256',
      learningRate: '3e-4',
      optimizer: 'adamw',
      weightDecay: '0.05',
      epochs: ' 7 ',
      likelihood: 'gaussian',
      gaussianSigma: '0.5',
      sigmaMode: 'learned',
      klSchedule: 'cyclical',
      klSteps: '400',
      klRampFraction: '0.25',
      lrSchedule: 'step',
      lrStepSize: '50',
      lrGamma: '0.5',
      patience: '4',
      minDelta: '0.01',
      maxSteps: '900',
    }),
  );
  assert.deepEqual(r.errors, {});
  const c = r.config!;
  assert.equal(c.model.latentDim, 2);
  assert.deepEqual(c.model.hidden, [512, 256]);
  assert.equal(c.optimizer.learningRate, 3e-4);
  assert.equal(c.optimizer.name, 'adamw');
  assert.equal(c.optimizer.weightDecay, 0.05);
  assert.equal(c.epochs, 7);
  assert.equal(c.likelihood, 'gaussian');
  assert.equal(c.gaussianSigma, 0.5);
  assert.equal(c.gaussianSigmaMode, 'learned');
  assert.deepEqual(c.klWarmup, { schedule: 'cyclical', steps: 400, steepness: 10, rampFraction: 0.25 });
  assert.deepEqual(c.lrSchedule, { kind: 'step', warmupSteps: 0, stepSize: 50, gamma: 0.5, minFactor: 0 });
  assert.deepEqual(c.earlyStopping, { patience: 4, minDelta: 0.01 });
  assert.equal(c.maxSteps, 900);

  const conv = checkForm(withField({ kind: 'conv', channels: '16 32 64', kernelSize: '3', denseUnits: '128' })).config!;
  assert.deepEqual([conv.model.kind, conv.model.channels, conv.model.kernelSize, conv.model.denseUnits], ['conv', [16, 32, 64], 3, 128]);
});

test('fields that do not matter are hidden, left to their defaults and never block a run', () => {
  const cases: [Partial<FormValues>, FieldKey, string][] = [
    [{ likelihood: 'bernoulli' }, 'gaussianSigma', 'gaussianSigma'],
    [{ likelihood: 'gaussian' }, 'binarization', 'binarization'],
    [{ kind: 'mlp' }, 'channels', 'model.channels'],
    [{ kind: 'mlp' }, 'kernelSize', 'model.kernelSize'],
    [{ kind: 'conv' }, 'hidden', 'model.hidden'],
    [{ optimizer: 'adam' }, 'momentum', 'optimizer.momentum'],
    [{ optimizer: 'adam' }, 'weightDecay', 'optimizer.weightDecay'],
    [{ optimizer: 'sgd' }, 'beta1', 'optimizer.beta1'],
    [{ optimizer: 'sgd' }, 'epsilon', 'optimizer.epsilon'],
    [{ optimizer: 'adamw' }, 'rho', 'optimizer.rho'],
    [{ klSchedule: 'none' }, 'klSteps', 'klWarmup.steps'],
    [{ klSchedule: 'linear' }, 'klSteepness', 'klWarmup.steepness'],
    [{ lrSchedule: 'constant' }, 'lrGamma', 'lrSchedule.gamma'],
    [{ lrSchedule: 'step' }, 'lrMinFactor', 'lrSchedule.minFactor'],
    [{ patience: '0' }, 'minDelta', 'earlyStopping.minDelta'],
    [{ backend: 'tensorflow' }, 'threads', 'threads'],
    [{ backend: 'cpu' }, 'threads', 'threads'],
  ];
  for (const [context, key, path] of cases) {
    const f = withField({ ...context, [key]: 'garbage' });
    assert.equal(isRelevant(key, f), false, `${key} hidden under ${JSON.stringify(context)}`);
    const r = checkForm(f);
    assert.deepEqual(r.errors, {}, key);
    const defaultValue = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], DEFAULT_CONFIG);
    const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], r.config);
    assert.deepEqual(value, defaultValue, path);
  }
  // ...and shown once they matter.
  assert.ok(isRelevant('gaussianSigma', withField({ likelihood: 'gaussian' })));
  assert.ok(isRelevant('momentum', withField({ optimizer: 'sgd' })));
  assert.ok(isRelevant('weightDecay', withField({ optimizer: 'adamw' })));
  assert.ok(isRelevant('epsilon', withField({ optimizer: 'rmsprop' })));
  assert.ok(isRelevant('lrMinFactor', withField({ lrSchedule: 'cosine' })));
  assert.ok(isRelevant('channels', withField({ kind: 'conv' })));
});

test('each invalid field gets its own short reason, and no config', () => {
  const cases: [Partial<FormValues>, FieldKey, string][] = [
    [{ epochs: '0' }, 'epochs', 'Must be ≥ 1'],
    [{ epochs: '' }, 'epochs', 'Required'],
    [{ latentDim: '1.5' }, 'latentDim', 'Must be a whole number'],
    [{ learningRate: 'abc' }, 'learningRate', 'Not a number'],
    [{ learningRate: '0' }, 'learningRate', 'Must be > 0'],
    [{ validationFraction: '0.9' }, 'validationFraction', 'Must be ≤ 0.5'],
    [{ beta: '-1' }, 'beta', 'Must be ≥ 0'],
    [{ hidden: '512, 0' }, 'hidden', 'Layer 2: Must be ≥ 1'],
    [{ hidden: '512, x' }, 'hidden', 'Layer 2: "x" is not a number'],
    [{ kind: 'conv', channels: '32, 2000' }, 'channels', 'Layer 2: Must be ≤ 1024'],
    [{ kind: 'conv', kernelSize: '9' }, 'kernelSize', 'Must be ≤ 7'],
    [{ activation: 'swish' }, 'activation', 'Choose one of relu, tanh, elu, leakyRelu'],
    [{ optimizer: 'sgd', momentum: '1' }, 'momentum', 'Must be ≤ 0.9999'],
    [{ likelihood: 'gaussian', gaussianSigma: '0' }, 'gaussianSigma', 'Must be > 0'],
    [{ threads: '0' }, 'threads', 'Must be ≥ 1'],
    [{ threads: '65' }, 'threads', 'Must be ≤ 64'],
    [{ threads: '2.5' }, 'threads', 'Must be a whole number'],
    [{ threads: 'many' }, 'threads', 'Not a number'],
    // Not a schema rule but one the engine enforces at start.
    [{ patience: '5', validationFraction: '0' }, 'patience', 'Needs a validation split above 0'],
  ];
  for (const [patch, key, reason] of cases) {
    const r = checkForm(withField(patch));
    assert.equal(r.config, null, JSON.stringify(patch));
    assert.deepEqual(r.errors, { [key]: reason }, JSON.stringify(patch));
  }
  const two = checkForm(withField({ epochs: '0', batchSize: 'big' }));
  assert.deepEqual(Object.keys(two.errors).sort(), ['batchSize', 'epochs']);
  // The cross-field check shows even while another field is wrong.
  assert.deepEqual(Object.keys(checkForm(withField({ patience: '5', validationFraction: '0', epochs: '0' })).errors).sort(), ['epochs', 'patience']);
});

test('parsers, path mapping, display', () => {
  assert.deepEqual(parseNumber(' 1e-3 '), { value: 0.001 });
  assert.deepEqual(parseNumber('Infinity'), { error: 'Not a number' });
  assert.deepEqual(parseList('512 256;128'), { value: [512, 256, 128] });
  assert.deepEqual(parseList(''), { error: 'At least one layer width' });
  assert.deepEqual(parseList(' ', true), { value: [] });
  assert.equal(fieldForPath('model.latentDim'), 'latentDim');
  assert.equal(fieldForPath('model.hidden.1'), 'hidden');
  assert.equal(fieldForPath('optimizer.learningRate'), 'learningRate');
  assert.equal(fieldForPath('klWarmup.steepness'), 'klSteepness');
  assert.equal(fieldForPath('model'), null);
  assert.deepEqual(changedFields(withField({ beta: '4', seed: '42' }), defaults()), ['beta']);
  assert.equal(displayValue('likelihood', withField({ likelihood: 'continuousBernoulli' })), 'Continuous Bernoulli');
  assert.equal(displayValue('hidden', withField({ hidden: '512, 256' })), '512 → 256');
  assert.equal(displayValue('maxSamples', defaults()), 'all');
  assert.equal(displayValue('maxSamples', withField({ maxSamples: '100' })), '100');
  assert.equal(labelledValue('latentDim', defaults()), 'Latent size 20');
  assert.equal(labelledValue('kind', withField({ kind: 'conv' })), 'Convolutional');
  assert.equal(labelledValue('binarization', defaults()), 'Binarization None');
});

test('threads: empty is Auto (no key in the config), a number is sent as is, and a stored count loads back', () => {
  const spec = FIELD_SPECS.threads;
  assert.deepEqual([spec.group, spec.advanced, spec.kind, spec.blankMeans], ['run', true, 'number', 'Auto']);
  assert.deepEqual(spec.range?.value, { min: 1, minInclusive: true, max: 64, maxInclusive: true, integer: true });
  assert.equal(rangeShort(spec), '1–64');
  assert.equal(rangeSentence(spec), 'Whole number, at least 1, at most 64. Empty: Auto.');
  // Shown next to Backend, in the Run group's advanced part.
  const run = groupFields('run');
  assert.equal(run.indexOf('threads'), run.indexOf('backend') + 1);
  assert.match(spec.help, /ONNX Runtime/);
  assert.match(spec.help, /WebAssembly/);
  assert.match(spec.help, /one per core/);
  assert.match(spec.help, /cores free/);

  // Auto (empty, or blanks): the key is left out, not null or 0.
  assert.equal(defaults().threads, '');
  for (const text of ['', '  ']) {
    const r = checkForm(withField({ threads: text }));
    assert.deepEqual(r.errors, {});
    assert.equal('threads' in r.config!, false, JSON.stringify(text));
    assert.deepEqual(r.config, DEFAULT_CONFIG);
  }
  assert.equal(displayValue('threads', defaults()), 'Auto');
  assert.equal(labelledValue('threads', defaults()), 'Threads Auto');
  assert.deepEqual(changedFields(withField({ threads: ' ' }), defaults()), []);

  // A count lands in the config, and what the form sends is what main accepts.
  const two = checkForm(withField({ threads: ' 2 ' })).config!;
  assert.equal(two.threads, 2);
  assert.deepEqual(TrainConfigSchema.parse(two), two);
  assert.deepEqual(TrainConfigSchema.parse(JSON.parse(JSON.stringify(two))), two, 'survives the JSON of the wire');
  assert.equal(checkForm(withField({ threads: '64', backend: 'wasm' })).config?.threads, 64);
  assert.equal(checkForm(withField({ threads: '1', backend: 'onnxruntime' })).config?.threads, 1);
  assert.deepEqual(changedFields(withField({ threads: '2' }), defaults()), ['threads']);
  assert.equal(displayValue('threads', withField({ threads: '2' })), '2');

  // A stored (or re-run) config with a count shows it, and round-trips.
  const four = TrainConfigSchema.parse({ threads: 4, backend: 'wasm' });
  const f = formFromConfig(four);
  assert.equal(f.threads, '4');
  assert.deepEqual(checkForm(f).config, four);
  assert.equal(formFromConfig(TrainConfigSchema.parse({ threads: 2 })).threads, '2');

  // Hidden (and left out) for the backends that ignore it.
  for (const backend of ['tensorflow', 'cpu']) {
    const r = checkForm(withField({ backend, threads: '8' }));
    assert.deepEqual(r.errors, {});
    assert.equal('threads' in r.config!, false, backend);
  }
  for (const backend of ['auto', 'onnxruntime', 'wasm']) assert.ok(isRelevant('threads', withField({ backend })), backend);

  // Out of range: rejected, the field named, no config.
  for (const [text, reason] of [
    ['0', 'Must be ≥ 1'],
    ['65', 'Must be ≤ 64'],
    ['-2', 'Must be ≥ 1'],
    ['1.5', 'Must be a whole number'],
    ['auto', 'Not a number'],
  ] as const) {
    const r = checkForm(withField({ threads: text }));
    assert.equal(r.config, null, text);
    assert.deepEqual(r.errors, { threads: reason }, text);
  }
});

test('a config stored before a field existed loads with the schema default for it', () => {
  const old = structuredClone(DEFAULT_CONFIG) as unknown as { model: Record<string, unknown>; optimizer: Record<string, unknown> };
  delete old.model['kind'];
  delete old.model['channels'];
  delete old.optimizer['beta1'];
  const f = formFromConfig(old as unknown as TrainConfig);
  assert.equal(f.kind, 'mlp');
  assert.equal(f.channels, '32, 64');
  assert.equal(f.beta1, '0.9');
  assert.deepEqual(checkForm(f).config, DEFAULT_CONFIG);
});

test('presets: valid, round-trip through the form, and recognised as selected', () => {
  assert.deepEqual(PRESETS.map((p) => p.name), ['MNIST-like MLP', 'Conv 64 px', 'β-VAE on shapes']);
  for (const p of PRESETS) {
    const c = presetConfig(p);
    // Everything a preset sets is shown by the panel (nothing hides in a field that is not relevant).
    assert.deepEqual(checkForm(formFromConfig(c)).config, c, p.id);
    assert.equal(matchingPreset(c)?.id, p.id);
    if (p.datasetId) assert.ok(BUILTIN_DATASETS.some((d) => d.id === p.datasetId), `${p.id}: unknown dataset ${p.datasetId}`);
  }
  const [mlp, conv, beta] = PRESETS.map(presetConfig) as [TrainConfig, TrainConfig, TrainConfig];
  assert.deepEqual([mlp.model.kind, mlp.model.hidden, mlp.model.latentDim, mlp.likelihood], ['mlp', [400], 20, 'bernoulli']);
  assert.deepEqual(mlp, DEFAULT_CONFIG, 'the defaults are the MNIST-like MLP');
  assert.deepEqual([conv.model.kind, conv.model.channels, conv.model.latentDim], ['conv', [32, 64, 128], 32]);
  assert.ok(['gaussian', 'continuousBernoulli'].includes(conv.likelihood));
  assert.deepEqual(PRESETS[1]!.madeFor, { width: 64, height: 64, channels: 3 });
  assert.deepEqual([beta.beta, beta.model.latentDim, PRESETS[2]!.datasetId], [4, 10, 'builtin-shapes']);
  assert.notEqual(beta.klWarmup.schedule, 'none');
  assert.equal(matchingPreset({ ...mlp, beta: 2 }), null);
  assert.equal(matchingPreset(null), null);
});

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

test('the closed-form parameter count equals the engine models for MLP and conv configs', () => {
  const cases: [Record<string, unknown>, ImageShape][] = [
    [{}, { width: 28, height: 28, channels: 1 }],
    [{ hidden: [] }, { width: 28, height: 28, channels: 1 }],
    [{ hidden: [512, 256], latentDim: 2 }, { width: 32, height: 32, channels: 3 }],
    [{ kind: 'conv' }, { width: 28, height: 28, channels: 1 }],
    [{ kind: 'conv', channels: [8, 16, 16], kernelSize: 3, denseUnits: 64, latentDim: 5 }, { width: 30, height: 22, channels: 2 }],
    [{ kind: 'conv', channels: [4], kernelSize: 2, latentDim: 3 }, { width: 9, height: 9, channels: 3 }],
    ...PRESETS.map((p) => [p.input.model ?? {}, p.madeFor] as [Record<string, unknown>, ImageShape]),
  ];
  for (const [m, shape] of cases) {
    const model = ModelConfigSchema.parse(m);
    const vae = buildVae(tf, model, shape, 1);
    try {
      assert.equal(modelParamCount(model, shape), vae.paramCount, `${JSON.stringify(m)} on ${JSON.stringify(shape)}`);
    } finally {
      vae.encoder.dispose();
      vae.decoder.dispose();
    }
  }
  // The closed form by hand for the classic MLP: 784*400+400 + 2*(400*20+20) + 20*400+400 + 400*784+784.
  assert.equal(modelParamCount(DEFAULT_CONFIG.model, { width: 28, height: 28, channels: 1 }), 652_824);
  const gaussian = TrainConfigSchema.parse({ likelihood: 'gaussian', gaussianSigmaMode: 'learned' });
  assert.equal(trainableParamCount(gaussian, { width: 28, height: 28, channels: 1 }), 652_825, 'plus the learned log-sigma');
  assert.equal(architectureText(DEFAULT_CONFIG.model, { width: 28, height: 28, channels: 1 }), '784 → 400 → 20');
  assert.equal(architectureText(presetConfig(PRESETS[1]!).model, PRESETS[1]!.madeFor), '64×64×3 → conv 32, 64, 128 → 32');
});

test('steps per epoch match the engine split', () => {
  for (const [count, patch] of [
    [6000, {}],
    [1000, { validationFraction: 0.15, batchSize: 64 }],
    [20000, { maxSamples: 1500, validationFraction: 0.1, batchSize: 100 }],
    [7, { validationFraction: 0.5, batchSize: 128 }],
  ] as const) {
    const c = TrainConfigSchema.parse(patch);
    const train = splitIndices(count, c, new Rng(1)).train.length;
    assert.equal(stepsPerEpoch(c, count) * c.epochs, plannedSteps(c, train), `${count} ${JSON.stringify(patch)}`);
  }
});
