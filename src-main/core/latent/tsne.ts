/**
 * t-SNE (van der Maaten & Hinton 2008) for the explorer's map, small and exact in its repulsion:
 * input affinities are computed on the 3 x perplexity nearest neighbours of each point (sparse P,
 * as in van der Maaten 2014, exact neighbours by brute force) and the gradient's repulsive term sums
 * over every pair (O(n^2) per iteration, no Barnes-Hut tree). That bounds it to a few thousand
 * points: larger sets are subsampled by the caller, and the other points placed by their nearest
 * subsampled neighbours in latent space (knn.ts placeByNeighbours).
 *
 * Optimisation as in the reference implementation: early exaggeration 12 for the first 250
 * iterations, momentum 0.5 then 0.8, per-coordinate gains (delta-bar-delta), learning rate
 * max(50, n / 12) (after Belkina et al. 2019: n / exaggeration; the floor keeps small sets from
 * moving too little), the embedding re-centred at every step.
 */
import { Rng } from '../rng.ts';
import { nearestInLatent } from './knn.ts';

export interface TsneOptions {
  perplexity?: number;
  iterations?: number;
  seed?: number;
  /** Called every `reportEvery` iterations; awaiting it lets the caller's messages leave. */
  onIteration?: (done: number, total: number) => void | Promise<void>;
  reportEvery?: number;
}

/** Sparse symmetric input affinities P (CSR, both triangles stored), summing to 1. */
export interface Affinities {
  rowStart: Int32Array;
  col: Int32Array;
  val: Float64Array;
}

/**
 * Conditional affinities p(j|i) on each point's k nearest neighbours, the Gaussian bandwidth of each
 * found by bisection so that the row's perplexity 2^H equals `perplexity`; then symmetrised
 * P_ij = (p(j|i) + p(i|j)) / 2n.
 */
export function inputAffinities(points: Float32Array, n: number, d: number, perplexity: number): Affinities {
  if (n < 2) throw new Error('t-SNE needs at least two points');
  const k = Math.min(n - 1, Math.max(1, Math.floor(3 * perplexity)));
  const perp = Math.min(perplexity, k);
  const { ids, dist } = nearestInLatent(points, n, points, n, d, k + 1);
  const target = Math.log(perp);
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  const d2 = new Float64Array(k);
  const p = new Float64Array(k);
  const nb = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    // The neighbours of i other than i itself (duplicates of i's position may come first).
    let m = 0;
    for (let t = 0; t < k + 1 && m < k; t++) {
      const j = ids[i * (k + 1) + t]!;
      if (j === i) continue;
      nb[m] = j;
      d2[m] = dist[i * (k + 1) + t]! ** 2;
      m++;
    }
    let beta = 1;
    let lo = -Infinity;
    let hi = Infinity;
    const dmin = d2[0]!;
    for (let iter = 0; iter < 200; iter++) {
      let sum = 0;
      let sumDP = 0;
      for (let t = 0; t < m; t++) {
        // Shifted by the nearest distance: the same normalised row, no underflow to zero.
        const e = Math.exp(-beta * (d2[t]! - dmin));
        p[t] = e;
        sum += e;
        sumDP += (d2[t]! - dmin) * e;
      }
      const h = Math.log(sum) + (beta * sumDP) / sum;
      if (Math.abs(h - target) < 1e-5) break;
      if (h > target) {
        lo = beta;
        beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
      } else {
        hi = beta;
        beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
      }
    }
    let sum = 0;
    for (let t = 0; t < m; t++) sum += p[t]!;
    for (let t = 0; t < m; t++) {
      const v = p[t]! / sum / (2 * n);
      rows.push(i, nb[t]!);
      cols.push(nb[t]!, i);
      vals.push(v, v);
    }
  }
  // Merge (i, j) duplicates: p(j|i) and p(i|j) land on the same entry.
  const order = Array.from({ length: rows.length }, (_, e) => e).sort((a, b) => rows[a]! - rows[b]! || cols[a]! - cols[b]!);
  const rowStart = new Int32Array(n + 1);
  const col: number[] = [];
  const val: number[] = [];
  let lastR = -1;
  let lastC = -1;
  for (const e of order) {
    const r = rows[e]!;
    const c = cols[e]!;
    if (r === lastR && c === lastC) {
      val[val.length - 1]! += vals[e]!;
      continue;
    }
    col.push(c);
    val.push(vals[e]!);
    rowStart[r + 1]!++;
    lastR = r;
    lastC = c;
  }
  for (let i = 0; i < n; i++) rowStart[i + 1]! += rowStart[i]!;
  return { rowStart, col: Int32Array.from(col), val: Float64Array.from(val) };
}

/** Embeds `n` points (row-major [n x d]) in 2-D; returns x and y. */
export async function tsne(points: Float32Array, n: number, d: number, opts: TsneOptions = {}): Promise<{ x: Float32Array; y: Float32Array }> {
  const perplexity = Math.max(2, Math.min(opts.perplexity ?? 30, (n - 1) / 3));
  const iterations = opts.iterations ?? 750;
  const reportEvery = opts.reportEvery ?? 10;
  if (n === 1) return { x: new Float32Array(1), y: new Float32Array(1) };
  const P = inputAffinities(points, n, d, perplexity);
  const rng = new Rng(opts.seed ?? 1);
  const Y = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) Y[i] = 1e-4 * rng.normal();
  const update = new Float64Array(2 * n);
  const gains = new Float64Array(2 * n).fill(1);
  const grad = new Float64Array(2 * n);
  const rep = new Float64Array(2 * n);
  const lr = Math.max(50, n / 12);
  const exaggerationEnd = Math.min(250, Math.floor(iterations / 3));
  for (let it = 0; it < iterations; it++) {
    const exaggeration = it < exaggerationEnd ? 12 : 1;
    const momentum = it < exaggerationEnd ? 0.5 : 0.8;
    // Repulsion over every pair: q_ij = 1 / (1 + |y_i - y_j|^2), Z = sum q.
    rep.fill(0);
    let Z = 0;
    for (let i = 0; i < n; i++) {
      const yi0 = Y[2 * i]!;
      const yi1 = Y[2 * i + 1]!;
      let r0 = 0;
      let r1 = 0;
      for (let j = i + 1; j < n; j++) {
        const a = yi0 - Y[2 * j]!;
        const b = yi1 - Y[2 * j + 1]!;
        const q = 1 / (1 + a * a + b * b);
        Z += 2 * q;
        const q2 = q * q;
        r0 += q2 * a;
        r1 += q2 * b;
        rep[2 * j]! -= q2 * a;
        rep[2 * j + 1]! -= q2 * b;
      }
      rep[2 * i]! += r0;
      rep[2 * i + 1]! += r1;
    }
    // Attraction over P's non-zeros; gradient 4 (exaggeration * sum_j p_ij q_ij (y_i - y_j) - rep_i / Z).
    for (let i = 0; i < n; i++) {
      let a0 = 0;
      let a1 = 0;
      for (let e = P.rowStart[i]!; e < P.rowStart[i + 1]!; e++) {
        const j = P.col[e]!;
        const a = Y[2 * i]! - Y[2 * j]!;
        const b = Y[2 * i + 1]! - Y[2 * j + 1]!;
        const pq = P.val[e]! / (1 + a * a + b * b);
        a0 += pq * a;
        a1 += pq * b;
      }
      grad[2 * i] = 4 * (exaggeration * a0 - rep[2 * i]! / Z);
      grad[2 * i + 1] = 4 * (exaggeration * a1 - rep[2 * i + 1]! / Z);
    }
    let m0 = 0;
    let m1 = 0;
    for (let c = 0; c < 2 * n; c++) {
      const g = grad[c]!;
      gains[c] = g > 0 !== update[c]! > 0 ? gains[c]! + 0.2 : Math.max(0.01, gains[c]! * 0.8);
      update[c] = momentum * update[c]! - lr * gains[c]! * g;
      Y[c]! += update[c]!;
      if (c & 1) m1 += Y[c]!;
      else m0 += Y[c]!;
    }
    m0 /= n;
    m1 /= n;
    for (let i = 0; i < n; i++) {
      Y[2 * i]! -= m0;
      Y[2 * i + 1]! -= m1;
    }
    if (opts.onIteration && ((it + 1) % reportEvery === 0 || it + 1 === iterations)) await opts.onIteration(it + 1, iterations);
  }
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = Y[2 * i]!;
    y[i] = Y[2 * i + 1]!;
  }
  return { x, y };
}
