/**
 * The latent explorer's pure maths, free of the DOM so plain Node tests can check it: typed arrays
 * from base64, image grids, the PCA and native-axes inverses, linear and spherical
 * interpolation, seeded prior samples, traversal and manifold grids, the lasso, and the colour maps.
 */
import { decodeBase64 } from '../../lib/util/base64.ts';
import { gridImage, sampleToRgba } from '../../lib/util/pixels.ts';
import type { GridImage } from '../../lib/util/pixels.ts';

/** base64 of some bytes (chunked: String.fromCharCode takes a bounded argument list). */
export function base64OfBytes(bytes: Uint8Array): string {
  let s = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(s);
}

/** A Float32Array from base64 of its little-endian bytes (the contract's Base64F32). */
export function f32OfBase64(data: string): Float32Array {
  const b = decodeBase64(data);
  if (b.length % 4 !== 0) throw new Error(`a float32 array needs a multiple of 4 bytes, got ${b.length}`);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

/** An Int32Array from base64 of its little-endian bytes (the contract's Base64I32). */
export function i32OfBase64(data: string): Int32Array {
  const b = decodeBase64(data);
  if (b.length % 4 !== 0) throw new Error(`an int32 array needs a multiple of 4 bytes, got ${b.length}`);
  return new Int32Array(b.buffer, b.byteOffset, b.length / 4);
}

export function base64OfF32(a: Float32Array): string {
  return base64OfBytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/**
 * Several images (each `width*height*channels` values, consecutive in `values`, times `scale`) laid
 * out as one RGBA grid, `columns` per row, `gap` pixels apart (the gap in `gapColour`); an image
 * that `values` holds only part of stays gap-coloured.
 */
export function gridRgba(
  values: ArrayLike<number>,
  count: number,
  columns: number,
  shape: { width: number; height: number; channels: number },
  scale: number,
  gap = 1,
  gapColour: [number, number, number] = [13, 16, 22],
): GridImage {
  const { width: w, height: h, channels: c } = shape;
  const size = w * h * c;
  const sub = (k: number) =>
    'subarray' in values ? (values as Float32Array).subarray(k * size, (k + 1) * size) : Array.prototype.slice.call(values, k * size, (k + 1) * size);
  return gridImage(count, columns, w, h, (k) => ((k + 1) * size <= values.length ? sampleToRgba(sub(k), w, h, c, scale) : null), gap, gapColour);
}

/** PCA view inverse: z = mean + x * components[0] + y * components[1] (the contract's LatentMap.pca). */
export function pcaInverse(pca: { mean: number[]; components: [number[], number[]] }, x: number, y: number): Float32Array {
  const d = pca.mean.length;
  const z = new Float32Array(d);
  for (let j = 0; j < d; j++) z[j] = pca.mean[j]! + x * pca.components[0][j]! + y * pca.components[1][j]!;
  return z;
}

/** Native-axes inverse: the two shown dimensions at (x, y), every other at `base` (the encoding means). */
export function dimsInverse(base: ArrayLike<number>, dims: [number, number], x: number, y: number): Float32Array {
  const z = Float32Array.from(base);
  z[dims[0]] = x;
  z[dims[1]] = y;
  return z;
}

export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + (b[i]! - a[i]!) * t;
  return out;
}

/**
 * Spherical interpolation (Shoemake 1985; White 2016 "Sampling generative networks" for latent
 * spaces): sin((1-t) w)/sin(w) a + sin(t w)/sin(w) b, w the angle between a and b. It keeps the
 * norm close to that of Gaussian samples where the straight line passes near the origin. Nearly
 * parallel (or zero) vectors fall back to the straight line.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const denom = Math.sqrt(na * nb);
  if (denom < 1e-12) return lerp(a, b, t);
  const cos = Math.max(-1, Math.min(1, dot / denom));
  const w = Math.acos(cos);
  const s = Math.sin(w);
  if (s < 1e-6) return lerp(a, b, t);
  const ka = Math.sin((1 - t) * w) / s;
  const kb = Math.sin(t * w) / s;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = ka * a[i]! + kb * b[i]!;
  return out;
}

/**
 * A path through two or more latent vectors: `steps` points per segment (both ends included once),
 * concatenated into one Float32Array of `count * dim` values.
 */
export function interpolationPath(points: ArrayLike<number>[], steps: number, mode: 'linear' | 'spherical'): { z: Float32Array; count: number } {
  if (points.length < 2) throw new Error('interpolation needs at least two points');
  if (steps < 2) throw new Error('interpolation needs at least two steps per segment');
  const dim = points[0]!.length;
  const count = (points.length - 1) * (steps - 1) + 1;
  const z = new Float32Array(count * dim);
  let k = 0;
  for (let s = 0; s + 1 < points.length; s++) {
    for (let i = s === 0 ? 0 : 1; i < steps; i++) {
      const t = i / (steps - 1);
      z.set((mode === 'linear' ? lerp : slerp)(points[s]!, points[s + 1]!, t), k * dim);
      k++;
    }
  }
  return { z, count };
}

/** mulberry32: a small seeded generator of uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` samples of N(0, temperature^2 I) in `dim` dimensions (Box-Muller), the same for the same seed. */
export function priorSamples(count: number, dim: number, temperature: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th) * temperature;
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(th) * temperature;
  }
  return out;
}

/** Evenly spaced values from -range to +range, `steps` of them (steps >= 2). */
export function symmetricSteps(range: number, steps: number): number[] {
  return Array.from({ length: steps }, (_, i) => -range + (2 * range * i) / (steps - 1));
}

/**
 * Traversal grid: one row per dimension in `dims`, each row moving that dimension of `base` over
 * offsets `sd * std[dim] * t` for t in [-3, 3] (`steps` columns); rows * steps vectors.
 */
export function traversalGrid(base: ArrayLike<number>, dims: number[], std: ArrayLike<number>, steps: number, sdRange = 3): Float32Array {
  const dim = base.length;
  const ts = symmetricSteps(sdRange, steps);
  const out = new Float32Array(dims.length * steps * dim);
  dims.forEach((d, r) => {
    ts.forEach((t, c) => {
      const o = (r * steps + c) * dim;
      out.set(base as Float32Array, o);
      out[o + d] = base[d]! + t * std[d]!;
    });
  });
  return out;
}

/**
 * 2-D manifold grid over dimensions a (columns, left to right) and b (rows, top = +range), the other
 * dimensions at `base`: n * n vectors, row-major.
 */
export function manifoldGrid(base: ArrayLike<number>, a: number, b: number, std: ArrayLike<number>, n: number, sdRange = 3): Float32Array {
  const dim = base.length;
  const ts = symmetricSteps(sdRange, n);
  const out = new Float32Array(n * n * dim);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const o = (r * n + c) * dim;
      out.set(base as Float32Array, o);
      out[o + a] = base[a]! + ts[c]! * std[a]!;
      out[o + b] = base[b]! + ts[n - 1 - r]! * std[b]!;
    }
  }
  return out;
}

/** base + amount * direction. */
export function addScaled(base: ArrayLike<number>, direction: ArrayLike<number>, amount: number): Float32Array {
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = base[i]! + amount * direction[i]!;
  return out;
}

/** Row positions of the `n` largest values (the worst -ELBO first); NaN counts as worst. */
export function worstRows(values: ArrayLike<number>, n: number): number[] {
  const rows = Array.from({ length: values.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(values[i]!) ? Infinity : values[i]!);
  rows.sort((a, b) => key(b) - key(a) || a - b);
  return rows.slice(0, Math.max(0, n));
}

/** Even-odd rule: is (x, y) inside the polygon? */
export function pointInPolygon(x: number, y: number, poly: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The rows whose (x, y) lie inside the polygon (bounding box first, then the even-odd test). */
export function lassoRows(xs: ArrayLike<number>, ys: ArrayLike<number>, poly: readonly (readonly [number, number])[]): number[] {
  if (poly.length < 3) return [];
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const [x, y] of poly) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (x < x0 || x > x1 || y < y0 || y > y1) continue;
    if (pointInPolygon(x, y, poly)) out.push(i);
  }
  return out;
}

/** Tableau-like categorical colours for labels (cycled past 12). */
export const LABEL_COLOURS: readonly [number, number, number][] = [
  [122, 167, 255],
  [242, 179, 90],
  [95, 211, 154],
  [242, 118, 118],
  [180, 140, 255],
  [124, 199, 242],
  [240, 140, 200],
  [200, 200, 110],
  [150, 150, 160],
  [110, 220, 210],
  [255, 150, 80],
  [160, 200, 255],
];

export function labelColour(label: number): [number, number, number] {
  if (label < 0) return [140, 146, 160];
  return LABEL_COLOURS[label % LABEL_COLOURS.length]!;
}

/** Viridis (matplotlib), sampled at 9 stops and interpolated linearly; t in [0, 1]. */
const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [253, 231, 37],
];

export function viridis(t: number): [number, number, number] {
  const u = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 1)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** The q-quantile of some values (linear between order statistics), NaN skipped. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const s = Array.from(values).filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = Math.max(0, Math.min(1, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * RGBA colour per point: by label (LABEL_COLOURS) or by per-sample -ELBO on viridis between the
 * 2nd and 98th percentiles (so a few outliers do not wash the map out). Returns the range used.
 */
export function pointColours(
  by: 'label' | 'elbo',
  label: Int32Array | null,
  negElbo: Float32Array,
  alpha = 200,
): { rgba: Uint8Array; range: [number, number] | null } {
  const n = negElbo.length;
  const rgba = new Uint8Array(n * 4);
  let range: [number, number] | null = null;
  if (by === 'elbo' || !label) {
    const lo = quantile(negElbo, 0.02);
    const hi = quantile(negElbo, 0.98);
    range = [lo, hi];
    const span = hi - lo || 1;
    for (let i = 0; i < n; i++) {
      const c = viridis((negElbo[i]! - lo) / span);
      rgba.set([c[0], c[1], c[2], alpha], i * 4);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const c = labelColour(label[i]!);
      rgba.set([c[0], c[1], c[2], alpha], i * 4);
    }
  }
  return { rgba, range };
}
