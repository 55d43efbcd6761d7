/**
 * The tfjs optimisers' state as the native step holds it: the iteration count and up to two slot
 * tensors per variable, read from and written back to the tfjs optimiser with its own
 * getWeights / setWeights, so checkpoints keep tfjs's format (names `${variable}/${suffix}`).
 *
 *   adam, adamw        m (first moment), v (second moment)       accumulatedFirst/SecondMoment
 *   rmsprop            rms (mean square), momentum (last update)   accumulatedMeanSquares / Moments
 *   sgd, momentum > 0  momentum (the velocity)                     accumulations
 *   sgd, momentum 0    none
 *
 * tfjs lists each slot kind for all variables in the order it first met their gradients: the keys
 * of an object built from the variable names (accumulatorOrder).
 */
import type { Optimizer, Tensor, Variable } from '@tensorflow/tfjs';
import type { TrainConfig } from '../../contract/config.ts';
import type { Tf } from '../tf.ts';

export interface SlotSpec {
  suffixes: readonly string[];
  /** The optimiser's fields holding those slots ({variable} entries), freed before setWeights replaces them. */
  fields: readonly string[];
}

/** Adam's and AdamW's slots: the first and second moments. */
export const ADAM_SLOTS: SlotSpec = { suffixes: ['m', 'v'], fields: ['accumulatedFirstMoment', 'accumulatedSecondMoment'] };

export function slotSpec(optimizer: TrainConfig['optimizer']): SlotSpec {
  switch (optimizer.name) {
    case 'adam':
    case 'adamw':
      return ADAM_SLOTS;
    case 'rmsprop':
      return { suffixes: ['rms', 'momentum'], fields: ['accumulatedMeanSquares', 'accumulatedMoments'] };
    case 'sgd':
      return optimizer.momentum > 0 ? { suffixes: ['momentum'], fields: ['accumulations'] } : { suffixes: [], fields: [] };
  }
}

/** The order in which tfjs lists per-variable slots (object key order of the variable names). */
export function accumulatorOrder(vars: readonly Variable[]): number[] {
  const index = new Map(vars.map((v, i) => [v.name, i]));
  return Object.keys(Object.fromEntries(vars.map((v) => [v.name, 0]))).map((name) => index.get(name)!);
}

export interface OptimizerState {
  iterations: number;
  /** slots[k][i]: slot kind k (spec order) of variable i (vars order); zeros for a fresh optimiser. */
  slots: Float32Array[][];
}

export async function captureOptimizerState(optimizer: Optimizer, spec: SlotSpec, vars: readonly Variable[]): Promise<OptimizerState> {
  const named = await optimizer.getWeights();
  const iter = named[0];
  const iterations = iter && iter.name === 'iter' ? (await iter.tensor.data())[0]! : 0;
  // getWeights makes a fresh scalar for the iteration count; the slot tensors are the optimiser's own.
  if (iter && iter.name === 'iter' && !iter.tensor.isDisposed) iter.tensor.dispose();
  const listed = named.slice(1);
  const order = accumulatorOrder(vars);
  const slots = spec.suffixes.map(() => vars.map((v) => new Float32Array(v.size)));
  if (listed.length === spec.suffixes.length * vars.length) {
    for (let k = 0; k < spec.suffixes.length; k++) {
      for (let j = 0; j < order.length; j++) slots[k]![order[j]!]!.set(await listed[k * vars.length + j]!.tensor.data());
    }
  } else if (listed.length !== 0) {
    throw new Error(`the optimiser holds ${listed.length} slot tensors for ${vars.length} variables (${spec.suffixes.length} per variable expected)`);
  }
  return { iterations, slots };
}

export async function writeOptimizerState(tf: Tf, optimizer: Optimizer, spec: SlotSpec, vars: readonly Variable[], state: OptimizerState): Promise<void> {
  const order = accumulatorOrder(vars);
  const list: Array<{ name: string; tensor: Tensor }> = [{ name: 'iter', tensor: tf.scalar(state.iterations, 'int32') }];
  spec.suffixes.forEach((suffix, k) => {
    for (const i of order) list.push({ name: `${vars[i]!.name}/${suffix}`, tensor: tf.tensor(state.slots[k]![i]!, [...vars[i]!.shape]) });
  });
  // setWeights makes new variables from the list; the old ones would leak.
  const o = optimizer as unknown as Record<string, Array<{ variable: Variable }> | undefined>;
  for (const field of spec.fields) tf.dispose((o[field] ?? []).map((x) => x.variable));
  await optimizer.setWeights(list);
  tf.dispose(list.map((x) => x.tensor));
}
