/**
 * The built-in sample dataset "digits": MNIST-like 28x28 white-on-black handwritten-ish digits,
 * generated in code so that the studio can train something useful before a person imports data,
 * and so that tests have realistic images without files. Each digit is a set of pen strokes
 * (polylines and elliptic arcs) in a unit box; every sample gets its own stroke width, size,
 * aspect, rotation, shear, shift and wobble, and is rasterised with anti-aliasing (pixel coverage
 * from the distance to the nearest stroke segment). Deterministic: the same seed gives the same bytes.
 * The other built-in, "shapes" (dSprites-like, with known generating factors), lives in shapes.ts;
 * this module registers both and loads them.
 */
import type { DatasetInfo } from '../contract/types.ts';
import { Rng } from './rng.ts';
import { SHAPE_NAMES, SHAPES_DEFAULT_COUNT, SHAPES_SIZE, generateShapes } from './shapes.ts';

export interface GeneratedImages {
  /** count * height * width * channels bytes, row-major HWC per sample. */
  images: Uint8Array;
  labels: Uint8Array;
  labelNames: string[];
  count: number;
  width: number;
  height: number;
  channels: number;
  /**
   * The known generating factors of a procedural dataset (e.g. shapes: shape, scale, rotation, x, y):
   * `values` holds count * names.length numbers, sample-major, each in its natural unit.
   */
  factors?: { names: string[]; values: Float32Array };
}

export const DIGITS_DEFAULT_COUNT = 6000;
export const DIGITS_DEFAULT_SEED = 20140101;
const SIZE = 28;
const LABEL_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export type BuiltinDatasetMeta = Omit<DatasetInfo, 'createdAt'> & { kind: 'builtin' };

export const BUILTIN_DATASETS: readonly BuiltinDatasetMeta[] = [
  {
    id: 'builtin-digits',
    name: 'Sample digits',
    kind: 'builtin',
    source: 'builtin:digits',
    count: DIGITS_DEFAULT_COUNT,
    width: SIZE,
    height: SIZE,
    channels: 1,
    labels: LABEL_NAMES,
  },
  {
    id: 'builtin-shapes',
    name: 'Shapes (dSprites-like)',
    kind: 'builtin',
    source: 'builtin:shapes',
    count: SHAPES_DEFAULT_COUNT,
    width: SHAPES_SIZE,
    height: SHAPES_SIZE,
    channels: 1,
    labels: [...SHAPE_NAMES],
  },
];

/** The generating factors of sample `index` as name -> value (for SamplePage), or undefined when the data has none. */
export function sampleFactors(data: GeneratedImages, index: number): Record<string, number> | undefined {
  const f = data.factors;
  if (!f || !Number.isInteger(index) || index < 0 || index >= data.count) return undefined;
  const out: Record<string, number> = {};
  const n = f.names.length;
  f.names.forEach((name, j) => (out[name] = f.values[index * n + j]!));
  return out;
}

type Pt = readonly [number, number];
/** One pen stroke: a polyline in the unit box (x right, y down). */
type Stroke = Pt[];

/**
 * Points along an elliptic arc. Angles in degrees with y pointing down: 0 = right, 90 = bottom,
 * 180 = left, 270 = top; the arc runs from a0 to a1 (a1 may exceed 360 to pass through 0).
 */
function arc(cx: number, cy: number, rx: number, ry: number, a0: number, a1: number): Stroke {
  const n = Math.max(4, Math.ceil(Math.abs(a1 - a0) / 20));
  const pts: Pt[] = [];
  for (let i = 0; i <= n; i++) {
    const a = ((a0 + ((a1 - a0) * i) / n) * Math.PI) / 180;
    pts.push([cx + rx * Math.cos(a), cy + ry * Math.sin(a)]);
  }
  return pts;
}

/**
 * Stroke templates per digit, a few variants each (the way people write 1, 4 and 7 differs).
 * The unit box is about as wide as it is tall; the per-sample aspect makes digits narrower.
 */
const TEMPLATES: Stroke[][][] = [
  // 0
  [[arc(0.5, 0.5, 0.3, 0.45, 0, 360)], [arc(0.5, 0.5, 0.26, 0.45, -80, 290)]],
  // 1
  [
    [[[0.52, 0.05], [0.48, 0.95]]],
    [[[0.32, 0.22], [0.52, 0.05], [0.5, 0.95]]],
    [
      [[0.32, 0.22], [0.52, 0.05], [0.5, 0.95]],
      [[0.32, 0.95], [0.7, 0.95]],
    ],
  ],
  // 2
  [
    [[...arc(0.5, 0.3, 0.28, 0.25, 200, 380), [0.2, 0.95], [0.82, 0.95]]],
    [[...arc(0.5, 0.3, 0.28, 0.25, 190, 400), [0.22, 0.92]], arc(0.52, 1.05, 0.3, 0.13, 200, 340)],
  ],
  // 3
  [
    [[...arc(0.48, 0.28, 0.27, 0.23, 200, 450), ...arc(0.48, 0.72, 0.3, 0.23, 270, 520)]],
    [[[0.2, 0.05], [0.78, 0.05], [0.45, 0.42], ...arc(0.48, 0.7, 0.3, 0.25, 280, 520)]],
  ],
  // 4
  [
    [
      [[0.65, 0.05], [0.15, 0.65], [0.85, 0.65]],
      [[0.65, 0.05], [0.65, 0.95]],
    ],
    [
      [[0.25, 0.05], [0.2, 0.55], [0.82, 0.55]],
      [[0.68, 0.2], [0.66, 0.95]],
    ],
  ],
  // 5
  [
    [[[0.78, 0.05], [0.3, 0.05], [0.26, 0.46], ...arc(0.5, 0.67, 0.3, 0.28, 220, 510)]],
    [[[0.3, 0.06], [0.25, 0.46], ...arc(0.5, 0.67, 0.3, 0.28, 220, 510)], [[0.3, 0.05], [0.8, 0.04]]],
  ],
  // 6
  [[[[0.7, 0.05], [0.46, 0.2], [0.28, 0.45], ...arc(0.5, 0.68, 0.28, 0.27, 180, 540)]]],
  // 7
  [
    [[[0.15, 0.05], [0.85, 0.05], [0.4, 0.95]]],
    [
      [[0.15, 0.05], [0.85, 0.05], [0.45, 0.95]],
      [[0.4, 0.5], [0.8, 0.5]],
    ],
  ],
  // 8
  [
    [arc(0.5, 0.28, 0.23, 0.22, 90, 450), arc(0.5, 0.72, 0.28, 0.24, 270, 630)],
    [[...arc(0.5, 0.28, 0.23, 0.22, 135, 405), ...arc(0.5, 0.72, 0.28, 0.24, 225, -45)]],
  ],
  // 9
  [
    [[...arc(0.5, 0.32, 0.27, 0.25, 0, 360), [0.74, 0.6], [0.6, 0.95]]],
    [[...arc(0.5, 0.3, 0.27, 0.24, 10, 370), [0.77, 0.95]]],
  ],
];

/** Rasterises one digit of class `label` into `out` (28x28, zeroed), drawing the variation from `rng`. */
function drawDigit(label: number, rng: Rng, out: Uint8Array, offset: number): void {
  const variants = TEMPLATES[label]!;
  const strokes = variants[rng.int(variants.length)]!;

  // Per-sample handwriting: MNIST digits fill a ~20 px box centred in 28x28.
  const height = rng.range(15.5, 20.5);
  const width = height * rng.range(0.55, 0.85);
  const rot = (rng.range(-12, 12) * Math.PI) / 180;
  const shear = rng.range(-0.3, 0.3);
  const cx = SIZE / 2 + rng.range(-1, 1);
  const cy = SIZE / 2 + rng.range(-1, 1);
  const halfWidth = rng.range(0.9, 1.8);
  const ink = rng.range(0.85, 1);
  const wobble = rng.range(0.01, 0.035);
  const cosR = Math.cos(rot);
  const sinR = Math.sin(rot);

  // Transform the strokes into pixel space (centred on the origin for now).
  const paths: number[][] = [];
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const stroke of strokes) {
    // Smooth wobble: a random offset per stroke plus a small one per point.
    const sx = rng.range(-wobble, wobble);
    const sy = rng.range(-wobble, wobble);
    const pts: number[] = [];
    for (const [ux, uy] of stroke) {
      const jx = ux - 0.5 + sx + rng.range(-wobble, wobble) * 0.5;
      const jy = uy - 0.5 + sy + rng.range(-wobble, wobble) * 0.5;
      // Unit box -> pixels: scale, shear (x += shear * y, slanted handwriting), rotate.
      const ax = jx * width - shear * jy * height;
      const ay = jy * height;
      const x = ax * cosR - ay * sinR;
      const y = ax * sinR + ay * cosR;
      pts.push(x, y);
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
    paths.push(pts);
  }
  // As MNIST does: fit the ink into the central 20x20 box and centre it (with a little jitter).
  const extent = Math.max(maxX - minX, maxY - minY) + 2 * halfWidth + 1;
  const k = Math.min(1, 20 / extent);
  const ox = cx - (k * (minX + maxX)) / 2;
  const oy = cy - (k * (minY + maxY)) / 2;

  const cov = new Float32Array(SIZE * SIZE);
  for (const pts of paths) {
    for (let i = 2; i < pts.length; i += 2) {
      segment(cov, ox + k * pts[i - 2]!, oy + k * pts[i - 1]!, ox + k * pts[i]!, oy + k * pts[i + 1]!, halfWidth * Math.max(k, 0.85));
    }
  }
  for (let i = 0; i < cov.length; i++) out[offset + i] = Math.round(255 * ink * cov[i]!);
}

/**
 * Max-composites the coverage of a round-capped line segment of half-width `hw` into `cov`.
 * Coverage is 1 inside the stroke and falls linearly to 0 over one pixel at its edge: a cheap,
 * smooth anti-aliasing that only visits the pixels near the segment.
 */
function segment(cov: Float32Array, x0: number, y0: number, x1: number, y1: number, hw: number): void {
  const r = hw + 0.5;
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - r));
  const maxX = Math.min(SIZE - 1, Math.ceil(Math.max(x0, x1) + r));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - r));
  const maxY = Math.min(SIZE - 1, Math.ceil(Math.max(y0, y1) + r));
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  for (let y = minY; y <= maxY; y++) {
    const pyc = y + 0.5;
    for (let x = minX; x <= maxX; x++) {
      const pxc = x + 0.5;
      let t = len2 > 0 ? ((pxc - x0) * dx + (pyc - y0) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = pxc - (x0 + t * dx);
      const ey = pyc - (y0 + t * dy);
      const c = r - Math.sqrt(ex * ex + ey * ey);
      if (c <= 0) continue;
      const v = c > 1 ? 1 : c;
      const k = y * SIZE + x;
      if (v > cov[k]!) cov[k] = v;
    }
  }
}

/** Generates `count` digits (default 6000) with exactly balanced classes in a seeded random order. */
export function generateDigits(opts: { count?: number; seed?: number } = {}): GeneratedImages {
  const count = opts.count ?? DIGITS_DEFAULT_COUNT;
  const seed = opts.seed ?? DIGITS_DEFAULT_SEED;
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  const rng = new Rng(seed);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % 10;
  rng.shuffle(labels);
  const images = new Uint8Array(count * SIZE * SIZE);
  for (let i = 0; i < count; i++) drawDigit(labels[i]!, rng, images, i * SIZE * SIZE);
  return { images, labels, labelNames: [...LABEL_NAMES], count, width: SIZE, height: SIZE, channels: 1 };
}

const GENERATORS: Record<string, () => GeneratedImages> = {
  digits: () => generateDigits(),
  shapes: () => generateShapes(),
};

const cache = new Map<string, GeneratedImages>();

/**
 * The data of a built-in dataset, generated once per process. Accepts the bare name ('digits'),
 * the dataset id ('builtin-digits') or its source ('builtin:digits'); likewise 'shapes'.
 */
export function loadBuiltin(name: string): GeneratedImages {
  const key = name.replace(/^builtin[:-]/, '');
  let data = cache.get(key);
  if (!data) {
    const generate = Object.hasOwn(GENERATORS, key) ? GENERATORS[key] : undefined;
    if (!generate) throw new Error(`unknown built-in dataset "${name}" (known: ${Object.keys(GENERATORS).join(', ')})`);
    data = generate();
    cache.set(key, data);
  }
  return data;
}
