/**
 * Exponential moving average for noisy per-step curves, debiased like TensorBoard's smoothing: with
 * weight w, s_k = w s_{k-1} + (1 - w) y_k from s_0 = 0, shown as s_k / (1 - w^k) where k counts the
 * finite points so far. Without the division the first points would be pulled towards 0 (Adam's
 * bias correction, Kingma & Ba 2015, section 3, is the same idea). Non-finite points (a diverged
 * step) are skipped and carry the previous value forward (NaN before the first finite one).
 */
import type { SeriesData } from './chart-math.ts';

/** Smoothed values of `y[0..length)`; w = 0 returns a copy, w must be in [0, 1). */
export function emaSmooth(y: ArrayLike<number>, length: number, weight: number): Float64Array {
  const out = new Float64Array(length);
  const w = Math.min(0.999, Math.max(0, weight));
  let s = 0;
  let debias = 1;
  let last = Number.NaN;
  for (let i = 0; i < length; i++) {
    const v = y[i]!;
    if (Number.isFinite(v)) {
      s = w * s + (1 - w) * v;
      debias *= w;
      last = w === 0 ? v : s / (1 - debias);
    }
    out[i] = last;
  }
  return out;
}

/**
 * A cache of the smoothed copy of one growing series: when only points were appended since the last
 * call, only those are smoothed (live training appends ~10 times a second to series of up to a
 * million points).
 */
export class SmoothCache {
  #w = -1;
  #len = 0;
  #src: ArrayLike<number> | null = null;
  #out = new Float64Array(0);
  #s = 0;
  #debias = 1;
  #last = Number.NaN;

  /** The series with y replaced by its EMA (x shared). `sameData` false forces a full recompute. */
  smooth(data: SeriesData, weight: number, sameData = true): SeriesData {
    const w = Math.min(0.999, Math.max(0, weight));
    if (w === 0) return data;
    const n = data.length;
    const canExtend = sameData && w === this.#w && n >= this.#len && this.#src !== null;
    if (!canExtend) {
      this.#w = w;
      this.#len = 0;
      this.#s = 0;
      this.#debias = 1;
      this.#last = Number.NaN;
    }
    this.#src = data.y;
    if (this.#out.length < n) {
      const grown = new Float64Array(Math.max(n, this.#out.length * 2, 64));
      grown.set(this.#out.subarray(0, this.#len));
      this.#out = grown;
    }
    for (let i = this.#len; i < n; i++) {
      const v = data.y[i]!;
      if (Number.isFinite(v)) {
        this.#s = w * this.#s + (1 - w) * v;
        this.#debias *= w;
        this.#last = this.#s / (1 - this.#debias);
      }
      this.#out[i] = this.#last;
    }
    this.#len = n;
    return { x: data.x, y: this.#out, length: n };
  }
}
