import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../../src-main/contract/index.ts';
import {
  FIELD_KEYS,
  FIELD_PATHS,
  changedFields,
  checkForm,
  fieldForPath,
  formFromConfig,
  parseList,
  parseNumber,
} from '../../../src-renderer/lib/util/config-form.ts';
import type { FormValues } from '../../../src-renderer/lib/util/config-form.ts';

const defaults = (): FormValues => formFromConfig(DEFAULT_CONFIG);
const withField = (patch: Partial<FormValues>): FormValues => ({ ...defaults(), ...patch });

test('the default form is valid and round-trips to DEFAULT_CONFIG', () => {
  const r = checkForm(defaults());
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.config, DEFAULT_CONFIG);
});

test('edited fields land in the config at their paths', () => {
  const r = checkForm(
    withField({ latentDim: '2', hidden: '512, 256', learningRate: '3e-4', optimizer: 'rmsprop', epochs: ' 7 ', likelihood: 'gaussian', gaussianSigma: '0.5' }),
  );
  assert.deepEqual(r.errors, {});
  assert.equal(r.config?.model.latentDim, 2);
  assert.deepEqual(r.config?.model.hidden, [512, 256]);
  assert.equal(r.config?.optimizer.learningRate, 3e-4);
  assert.equal(r.config?.optimizer.name, 'rmsprop');
  assert.equal(r.config?.epochs, 7);
  assert.equal(r.config?.likelihood, 'gaussian');
  assert.equal(r.config?.gaussianSigma, 0.5);
});

test('each invalid field gets its own short reason, and no config', () => {
  const cases: [Partial<FormValues>, keyof FormValues, string][] = [
    [{ epochs: '0' }, 'epochs', 'Must be ≥ 1'],
    [{ epochs: '' }, 'epochs', 'Required'],
    [{ latentDim: '1.5' }, 'latentDim', 'Must be a whole number'],
    [{ learningRate: 'abc' }, 'learningRate', 'Not a number'],
    [{ learningRate: '0' }, 'learningRate', 'Must be > 0'],
    [{ validationFraction: '0.9' }, 'validationFraction', 'Must be ≤ 0.5'],
    [{ beta: '-1' }, 'beta', 'Must be ≥ 0'],
    [{ hidden: '' }, 'hidden', 'At least one layer width'],
    [{ hidden: '512, 0' }, 'hidden', 'Layer 2: Must be ≥ 1'],
    [{ hidden: '512, x' }, 'hidden', 'Layer 2: "x" is not a number'],
    [{ activation: 'swish' }, 'activation', 'Choose one of relu, tanh, elu, leakyRelu'],
  ];
  for (const [patch, key, reason] of cases) {
    const r = checkForm(withField(patch));
    assert.equal(r.config, null, JSON.stringify(patch));
    assert.deepEqual(r.errors, { [key]: reason }, JSON.stringify(patch));
  }
  const two = checkForm(withField({ epochs: '0', batchSize: 'big' }));
  assert.deepEqual(Object.keys(two.errors).sort(), ['batchSize', 'epochs']);
});

test('parsers and path mapping', () => {
  assert.deepEqual(parseNumber(' 1e-3 '), { value: 0.001 });
  assert.deepEqual(parseNumber('Infinity'), { error: 'Not a number' });
  assert.deepEqual(parseList('512 256;128'), { value: [512, 256, 128] });
  assert.equal(fieldForPath('model.latentDim'), 'latentDim');
  assert.equal(fieldForPath('model.hidden.1'), 'hidden');
  assert.equal(fieldForPath('optimizer.learningRate'), 'learningRate');
  assert.equal(fieldForPath('model'), null);
  assert.equal(new Set(Object.values(FIELD_PATHS)).size, FIELD_KEYS.length, 'one path per field');
  assert.deepEqual(changedFields(withField({ beta: '4', seed: '42' }), defaults()), ['beta']);
});
