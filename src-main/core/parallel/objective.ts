/**
 * The training objective of core/train.ts split over shards of a batch, for data-parallel steps
 * (engine.ts on the trainer's main thread, replica.ts in each worker thread).
 *
 * With n the FULL batch size and S a shard of it, each participant computes the gradient of
 *   L_S = (1/n) sum_{i in S} -log p(x_i|z_i) + beta * sum_j m_j * (1/n) sum_{i in S} KL_ij
 * so that sum_S L_S is the single-thread loss, mean_B[-log p(x|z)] + beta * sum_j mean_B[KL_j]
 * (gradients are linear: the full-batch gradient is the plain sum of the shard gradients; no
 * re-weighting by shard size is needed because every shard already divides by n). m_j is 1 without
 * free bits; with free bits lambda > 0 the objective term is max(lambda, mean_B[KL_j]), whose
 * gradient is m_j * grad(mean_B[KL_j]) with m_j = [mean_B[KL_j] >= lambda] (tfjs' maximum passes the
 * gradient to its first input on ties): m depends on the whole batch, so the participants first
 * exchange their per-dimension KL sums (klSums) and then all use the same mask.
 *
 * The noise eps of every row is drawn by the main thread from the run's noise stream exactly as the
 * single-thread loop draws it; only the float32 rounding of the sums differs from that loop.
 */
import type { LayersModel, NamedTensorMap, Scalar, Tensor, Tensor1D, Tensor2D, Variable } from '@tensorflow/tfjs';
import { klPerDimension, reconstructionNll, type LikelihoodSpec } from '../losses.ts';
import type { Tf } from '../tf.ts';

/** The per-sample terms of one forward pass with z drawn by the reparameterisation trick. */
export type Forward = (x: Tensor2D, eps: Tensor2D) => { mu: Tensor2D; recon: Tensor1D; klDims: Tensor2D };

/** The forward pass of core/train.ts: z = mu + exp(logvar / 2) * eps (Kingma & Welling 2014, section 2.4). */
export function makeForward(encoder: LayersModel, decoder: LayersModel, spec: LikelihoodSpec): Forward {
  return (x, eps) => {
    const [mu, logvar] = encoder.apply(x, { training: true }) as [Tensor2D, Tensor2D];
    const z = mu.add(logvar.mul(0.5).exp().mul(eps)) as Tensor2D;
    const out = decoder.apply(z, { training: true }) as Tensor2D;
    return { mu, recon: reconstructionNll(spec, x, out), klDims: klPerDimension(mu, logvar) };
  };
}

/** sum_{i in S} KL_ij per latent dimension j, float64-accumulated by the caller across shards. */
export function shardKlSums(tf: Tf, encoder: LayersModel, x: Float32Array, rows: number, dim: number): Float32Array {
  const t = tf.tidy(() => {
    const [mu, logvar] = encoder.apply(tf.tensor2d(x, [rows, dim]), { training: true }) as [Tensor2D, Tensor2D];
    return klPerDimension(mu, logvar).sum(0);
  });
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

export interface ShardGradients {
  /** Gradients of L_S per variable, in the order of `vars`; the caller frees them. */
  grads: Tensor[];
  /** sum_{i in S} -log p(x_i|z_i) and sum_{i in S} sum_j KL_ij (not divided by n). */
  reconSum: number;
  klSum: number;
}

/**
 * The gradient of L_S (see the file's comment) with respect to `vars`, for the `rows` rows of one
 * shard. `mask` is m (length latentDim) or null for m = 1.
 */
export function shardGradients(
  tf: Tf,
  forward: Forward,
  vars: readonly Variable[],
  shard: { x: Float32Array; eps: Float32Array; rows: number; dim: number; latentDim: number },
  nTotal: number,
  beta: number,
  mask: Float32Array | null,
): ShardGradients {
  let stats: Tensor | null = null;
  const x = tf.tensor2d(shard.x, [shard.rows, shard.dim]);
  const eps = tf.tensor2d(shard.eps, [shard.rows, shard.latentDim]);
  try {
    const { value, grads } = tf.variableGrads(() => {
      const { recon, klDims } = forward(x, eps);
      const reconSum = recon.sum();
      const klDimSums = klDims.sum(0);
      const klSum = klDimSums.sum();
      const klObjective = mask ? klDimSums.mul(tf.tensor1d(mask)).sum() : klSum;
      stats = tf.keep(tf.stack([reconSum, klSum]));
      return reconSum.add(klObjective.mul(beta)).div(nTotal) as Scalar;
    }, vars as Variable[]);
    value.dispose();
    const s = stats as Tensor | null;
    if (!s) throw new Error('internal: the shard step produced no statistics');
    const v = s.dataSync();
    s.dispose();
    return { grads: vars.map((w) => gradOf(grads, w)), reconSum: v[0]!, klSum: v[1]! };
  } finally {
    x.dispose();
    eps.dispose();
  }
}

function gradOf(grads: NamedTensorMap, v: Variable): Tensor {
  const g = grads[v.name];
  if (!g) throw new Error(`internal: no gradient for variable ${v.name}`);
  return g;
}

/** Sizes and offsets of `vars` laid out one after another in a flat float32 vector. */
export interface FlatLayout {
  sizes: number[];
  offsets: number[];
  shapes: number[][];
  total: number;
}

export function flatLayout(vars: readonly Variable[]): FlatLayout {
  const sizes = vars.map((v) => v.size);
  const offsets: number[] = [];
  let total = 0;
  for (const s of sizes) {
    offsets.push(total);
    total += s;
  }
  return { sizes, offsets, shapes: vars.map((v) => [...v.shape]), total };
}

/** Copies gradient tensors (freed here) into `slot` at the layout's offsets. */
export function writeGradients(grads: readonly Tensor[], slot: Float32Array, layout: FlatLayout): void {
  grads.forEach((g, i) => {
    slot.set(g.dataSync() as Float32Array, layout.offsets[i]!);
    g.dispose();
  });
}

/**
 * The sum of the first `participants` slots of `buffer` (slot p at p * total), rows added in slot
 * order in float64 and rounded once. Every participant runs this same function on the same bytes,
 * so all replicas get bit-identical gradients and stay bit-identical after their updates.
 */
export function sumSlots(buffer: Float32Array, total: number, participants: number, out: Float32Array = new Float32Array(total)): Float32Array {
  out.set(buffer.subarray(0, total));
  if (participants === 1) return out;
  if (participants === 2) {
    for (let k = 0; k < total; k++) out[k] = out[k]! + buffer[total + k]!;
    return out;
  }
  for (let k = 0; k < total; k++) {
    let acc = buffer[k]!;
    for (let p = 1; p < participants; p++) acc += buffer[p * total + k]!;
    out[k] = acc;
  }
  return out;
}

/** The summed flat gradient as a NamedTensorMap keyed by this thread's variable names (tensors for the caller to free). */
export function gradientMap(tf: Tf, flat: Float32Array, vars: readonly Variable[], layout: FlatLayout): NamedTensorMap {
  const map: NamedTensorMap = {};
  vars.forEach((v, i) => {
    const off = layout.offsets[i]!;
    map[v.name] = tf.tensor(flat.subarray(off, off + layout.sizes[i]!), layout.shapes[i]!, 'float32');
  });
  return map;
}

/**
 * Copies a flat weight vector into the variables (in the layout's order), as new tensors assigned
 * to them. Not in place: tfjs-wasm caches XNNPACK operators with the weights packed, keyed by the
 * tensor's buffer, and would go on multiplying by the old values (measured: training diverged
 * from the single-thread run at its second step).
 */
export function loadFlatWeights(tf: Tf, flat: Float32Array, vars: readonly Variable[], layout: FlatLayout): void {
  // wasm copies the values into its heap when the tensor is made; the pure-JS 'cpu' backend keeps
  // the array itself, so it gets a private copy (`flat` changes next step).
  const copy = tf.getBackend() !== 'wasm';
  vars.forEach((v, i) => {
    const off = layout.offsets[i]!;
    const values = copy ? flat.slice(off, off + layout.sizes[i]!) : flat.subarray(off, off + layout.sizes[i]!);
    const t = tf.tensor(values, layout.shapes[i]!, 'float32');
    v.assign(t);
    t.dispose();
  });
}

/**
 * The free-bits mask m_j = [mean_B KL_j >= lambda] from the per-shard KL sums, and the objective's
 * KL term sum_j max(lambda, mean_B KL_j) that the single-thread loop reports.
 */
export function freeBitsMask(klSums: readonly Float32Array[], nTotal: number, lambda: number): { mask: Float32Array; klObjective: number } {
  const latentDim = klSums[0]!.length;
  const mask = new Float32Array(latentDim);
  let klObjective = 0;
  for (let j = 0; j < latentDim; j++) {
    let s = 0;
    for (const part of klSums) s += part[j]!;
    const mean = Math.fround(s / nTotal);
    mask[j] = mean >= lambda ? 1 : 0;
    klObjective += Math.max(lambda, mean);
  }
  return { mask, klObjective };
}

/**
 * Row ranges of the shards of an n-row batch over at most `threads` participants: as equal as
 * possible (the first n mod P shards one row longer), no shard under `minRows` rows (so a tiny
 * final batch is not split into slivers). A pure function of (n, threads), so a run splits every
 * batch the same way each time it is run or resumed.
 */
export function shardRanges(n: number, threads: number, minRows = 8): Array<[number, number]> {
  const p = Math.max(1, Math.min(threads, Math.floor(n / minRows)));
  const base = Math.floor(n / p);
  const extra = n % p;
  const out: Array<[number, number]> = [];
  let from = 0;
  for (let i = 0; i < p; i++) {
    const to = from + base + (i < extra ? 1 : 0);
    out.push([from, to]);
    from = to;
  }
  return out;
}
