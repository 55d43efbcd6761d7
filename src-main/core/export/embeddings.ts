/**
 * What the results export computes from encoder means: a two-dimensional principal-component
 * projection for the report's latent map, and the ordering of latent dimensions by their KL.
 */

export interface Pca2 {
  /** n * 2 projected coordinates, sample-major. */
  coords: Float32Array;
  /** The two principal axes (unit vectors of length d; the second is zero when d = 1). */
  axes: [Float64Array, Float64Array];
  /** The variance along each axis (the covariance's two largest eigenvalues). */
  variance: [number, number];
  /** Total variance (the covariance's trace), so variance / total is the share explained. */
  totalVariance: number;
}

/**
 * Projects `n` points of dimension `d` (sample-major) onto the two leading eigenvectors of their
 * covariance, found by power iteration with deflation (the second iterate is kept orthogonal to
 * the first). Each axis's sign is fixed so its largest-magnitude component is positive, so the
 * result is deterministic.
 */
export function pca2(points: Float32Array, n: number, d: number, iterations = 300): Pca2 {
  if (points.length < n * d) throw new RangeError(`expected ${n} x ${d} values, got ${points.length}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += points[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(1, n);
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = points[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += ra * row[b]!;
    }
  }
  const denom = Math.max(1, n - 1);
  let total = 0;
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / denom;
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
    total += cov[a * d + a]!;
  }
  const mulCov = (v: Float64Array, out: Float64Array) => {
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += cov[a * d + b]! * v[b]!;
      out[a] = s;
    }
  };
  const normalize = (v: Float64Array): number => {
    let s = 0;
    for (const x of v) s += x * x;
    const norm = Math.sqrt(s);
    if (norm > 0) for (let j = 0; j < d; j++) v[j]! /= norm;
    return norm;
  };
  const orthogonalize = (v: Float64Array, against: Float64Array | null) => {
    if (!against) return;
    let dot = 0;
    for (let j = 0; j < d; j++) dot += v[j]! * against[j]!;
    for (let j = 0; j < d; j++) v[j]! -= dot * against[j]!;
  };
  const leading = (against: Float64Array | null): { v: Float64Array; lambda: number } => {
    const v = new Float64Array(d);
    // A fixed, generic start vector (not orthogonal to any axis by construction).
    for (let j = 0; j < d; j++) v[j] = 1 + ((j * 0.618034) % 1);
    orthogonalize(v, against);
    if (normalize(v) === 0) return { v, lambda: 0 };
    const w = new Float64Array(d);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      mulCov(v, w);
      orthogonalize(w, against);
      lambda = normalize(w);
      if (lambda === 0) return { v: new Float64Array(d), lambda: 0 };
      let change = 0;
      for (let j = 0; j < d; j++) change = Math.max(change, Math.abs(w[j]! - v[j]!));
      v.set(w);
      if (change < 1e-12) break;
    }
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) for (let j = 0; j < d; j++) v[j] = -v[j]!;
    return { v, lambda };
  };
  const first = leading(null);
  const second = d > 1 ? leading(first.v) : { v: new Float64Array(d), lambda: 0 };
  const coords = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    let x = 0;
    let y = 0;
    for (let j = 0; j < d; j++) {
      const c = points[i * d + j]! - mean[j]!;
      x += c * first.v[j]!;
      y += c * second.v[j]!;
    }
    coords[i * 2] = x;
    coords[i * 2 + 1] = y;
  }
  return { coords, axes: [first.v, second.v], variance: [first.lambda, second.lambda], totalVariance: total };
}

/** Latent dimensions by decreasing KL (ties: lower index first). */
export function dimsByKl(klPerDim: readonly number[]): number[] {
  return klPerDim
    .map((kl, j) => ({ kl: Number.isFinite(kl) ? kl : -Infinity, j }))
    .sort((a, b) => b.kl - a.kl || a.j - b.j)
    .map((e) => e.j);
}
