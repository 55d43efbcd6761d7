/**
 * Adam (and AdamW) for data-parallel steps, sharded over the participants like ZeRO stage 1
 * (Rajbhandari et al. 2020): participant p owns the slice p of the flat parameter vector, sums only
 * that slice of the shard gradients, keeps that slice of the moments and updates that slice of the
 * weights, in one fused pass per element instead of tfjs' dozen tensor operations per variable.
 * Weights and moments live in SharedArrayBuffers: after the update every participant copies the
 * whole new weight vector into its model, so all replicas hold the same bytes.
 *
 * The maths is tfjs' AdamOptimizer (Kingma & Ba 2015, algorithm 1) with t the optimiser's
 * iteration count before the step:
 *   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
 *   w <- w - lr * (m / (1 - b1^(t+1))) / (sqrt(v / (1 - b2^(t+1))) + eps)
 * after core/train.ts applyUpdate's clipping by global norm (g <- g * c / max(||g||, c)) and
 * decoupled weight decay (w <- w * (1 - lr * wd) on the model's weights, not on log-sigma).
 */

/** Contiguous, nearly equal slices [lo, hi) of `total` elements for `participants` owners. */
export function paramSlices(total: number, participants: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let p = 0; p < participants; p++) out.push([Math.floor((total * p) / participants), Math.floor((total * (p + 1)) / participants)]);
  return out;
}

/**
 * Sums the slice [lo, hi) of the first `participants` gradient slots of `slots` (slot p at
 * p * total) into `out[lo, hi)`; returns the sum of squares of the summed slice (for the norm).
 */
export function reduceSlice(slots: Float32Array, total: number, participants: number, lo: number, hi: number, out: Float32Array): number {
  let sq = 0;
  if (participants === 2) {
    for (let k = lo; k < hi; k++) {
      const g = (out[k] = slots[k]! + slots[total + k]!);
      sq += g * g;
    }
    return sq;
  }
  for (let k = lo; k < hi; k++) {
    let acc = slots[k]!;
    for (let p = 1; p < participants; p++) acc += slots[p * total + k]!;
    out[k] = acc;
    const g = out[k]!;
    sq += g * g;
  }
  return sq;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** AdamW's decoupled weight decay (0 for Adam). */
  weightDecay: number;
  /** Gradient scale from clipping (1 without). */
  scale: number;
  /** The optimiser's iteration count before this step. */
  iterations: number;
}

/**
 * One Adam step on the slice [lo, hi): weights `w`, moments `m` and `v` are updated in place from
 * the summed gradient `g`; elements at or past `decayEnd` (log-sigma) are not decayed.
 */
export function adamSlice(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lo: number, hi: number, decayEnd: number, h: AdamHyper): void {
  const { lr, beta1, beta2, epsilon, scale } = h;
  // Bias corrections as reciprocals: one division per element instead of three.
  const ic1 = 1 / (1 - Math.pow(beta1, h.iterations + 1));
  const ic2 = 1 / (1 - Math.pow(beta2, h.iterations + 1));
  const keep = 1 - lr * h.weightDecay;
  const decayTo = Math.min(hi, Math.max(lo, decayEnd));
  if (h.weightDecay > 0) for (let k = lo; k < decayTo; k++) w[k] = w[k]! * keep;
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  const f32 = Math.fround;
  for (let k = lo; k < hi; k++) {
    const gk = g[k]! * scale;
    // The moments are used as float32, as tfjs keeps them in float32 tensors: fround gives the
    // value the store keeps, without reading it back (measured ~1.3x faster).
    const mk = f32(beta1 * m[k]! + a1 * gk);
    const vk = f32(beta2 * v[k]! + a2 * gk * gk);
    m[k] = mk;
    v[k] = vk;
    w[k] = w[k]! - (lr * mk * ic1) / (Math.sqrt(vk * ic2) + epsilon);
  }
}
