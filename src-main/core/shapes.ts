/**
 * The built-in "shapes" dataset: a dSprites-like set (Matthey et al. 2017, "dSprites: disentanglement
 * testing sprites dataset") of 64x64 grayscale images, one white shape on black each, generated from
 * five known factors so that a trained VAE's latent space can be compared with the truth:
 *
 *   shape     0 square, 1 ellipse, 2 heart (also the label)
 *   scale     6 values 0.5, 0.6, ..., 1.0 (linear size; area grows as scale^2)
 *   rotation  40 values k * 2pi / 40, k = 0..39, radians, counterclockwise as seen on screen
 *   x, y      32 values each, k / 31 in [0, 1]; 0 = left / top, 1 = right / bottom of the range the
 *             shape's centroid may take while the largest shape at any rotation stays inside the frame
 *
 * Symmetries: a square looks the same after a quarter turn and an ellipse after a half turn, so their
 * rotation is only identifiable modulo pi/2 and pi (as in dSprites, whose rotation factor has the same
 * ambiguity). The stored factor keeps the drawn value; the pixels of rotations that differ by a symmetry
 * are byte-identical, because the drawing reduces the angle to the shape's period first.
 *
 * Every shape is a polygon (the ellipse and the heart finely sampled) rasterised with exact area coverage:
 * each pixel's value is the fraction of its square that the shape covers, which gives smooth
 * anti-aliased edges and makes the image's total intensity equal the shape's area.
 * Deterministic: the same seed gives the same bytes.
 */
import { Rng } from './rng.ts';
import type { GeneratedImages } from './sample-data.ts';

export const SHAPES_SIZE = 64;
export const SHAPES_DEFAULT_COUNT = 20000;
export const SHAPES_DEFAULT_SEED = 19700101;
export const SHAPE_NAMES = ['square', 'ellipse', 'heart'] as const;
export type ShapeName = (typeof SHAPE_NAMES)[number];
export const SHAPE_FACTOR_NAMES = ['shape', 'scale', 'rotation', 'x', 'y'] as const;
export const SHAPE_SCALES: readonly number[] = Array.from({ length: 6 }, (_, k) => 0.5 + k * 0.1);
export const SHAPE_ROTATIONS: readonly number[] = Array.from({ length: 40 }, (_, k) => (k * 2 * Math.PI) / 40);
export const SHAPE_POSITIONS: readonly number[] = Array.from({ length: 32 }, (_, k) => k / 31);
/** How many rotation steps make one symmetry period: a quarter turn (square), half (ellipse), full (heart). */
const ROTATION_PERIOD_STEPS = [10, 20, 40] as const;

/**
 * Every shape at scale 1 fits in a circle of this radius (pixels) around its centroid, so the centroid
 * can range over [MARGIN, SIZE - MARGIN] at any scale and rotation with the shape inside the frame;
 * one pixel more keeps the outermost pixel ring black even for the largest shape.
 */
const RADIUS = 14;
const MARGIN = RADIUS + 1;

/** The pixel coordinate (0..64, continuous) of the centroid for a position factor in [0, 1]. */
export function positionToPixel(v: number): number {
  return MARGIN + v * (SHAPES_SIZE - 2 * MARGIN);
}

/** Polygon area and centroid (shoelace formula) of interleaved x, y vertices. */
export function polygonAreaCentroid(p: ArrayLike<number>): { area: number; cx: number; cy: number } {
  let a = 0;
  let cx = 0;
  let cy = 0;
  const n = p.length / 2;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    const x0 = p[2 * i]!;
    const y0 = p[2 * i + 1]!;
    const x1 = p[2 * j]!;
    const y1 = p[2 * j + 1]!;
    const c = x0 * y1 - x1 * y0;
    a += c;
    cx += (x0 + x1) * c;
    cy += (y0 + y1) * c;
  }
  return { area: Math.abs(a / 2), cx: cx / (3 * a), cy: cy / (3 * a) };
}

/**
 * The shape outlines at scale 1, in pixels, y pointing down, centroid at the origin, largest distance
 * from the centroid exactly RADIUS. The ellipse is 2:1 and lies along x at rotation 0; the heart has its
 * lobes up and its tip down at rotation 0.
 */
function templates(): Float64Array[] {
  const h = RADIUS / Math.SQRT2;
  const square = Float64Array.from([-h, -h, h, -h, h, h, -h, h]);
  // 128 vertices: the polygon departs from the true ellipse by under 0.01 px at this size.
  const n = 128;
  const ellipse = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    ellipse[2 * i] = RADIUS * Math.cos(t);
    ellipse[2 * i + 1] = (RADIUS / 2) * Math.sin(t);
  }
  // The classic heart curve x = 16 sin^3 t, y = 13 cos t - 5 cos 2t - 2 cos 3t - cos 4t (y up; flipped
  // here), moved so its area centroid is the origin and scaled so it reaches exactly RADIUS.
  const m = 256;
  const heart = new Float64Array(2 * m);
  for (let i = 0; i < m; i++) {
    const t = (2 * Math.PI * i) / m;
    heart[2 * i] = 16 * Math.sin(t) ** 3;
    heart[2 * i + 1] = -(13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) - Math.cos(4 * t));
  }
  const { cx, cy } = polygonAreaCentroid(heart);
  let r = 0;
  for (let i = 0; i < m; i++) r = Math.max(r, Math.hypot(heart[2 * i]! - cx, heart[2 * i + 1]! - cy));
  for (let i = 0; i < m; i++) {
    heart[2 * i] = ((heart[2 * i]! - cx) * RADIUS) / r;
    heart[2 * i + 1] = ((heart[2 * i + 1]! - cy) * RADIUS) / r;
  }
  return [square, ellipse, heart];
}

const TEMPLATES = templates();

/**
 * Draws one shape into `out` (SHAPES_SIZE x SHAPES_SIZE, must be zero where the shape lands) at
 * `offset`: shape index, linear scale, rotation in radians (counterclockwise on screen) and the
 * centroid in continuous pixel coordinates (0..64; pixel (i, j) covers [i, i+1] x [j, j+1]).
 * `scratch` is reused between calls to avoid garbage; pass the same object each time.
 */
export function renderShape(
  shape: number,
  scale: number,
  rotation: number,
  cx: number,
  cy: number,
  out: Uint8Array,
  offset = 0,
  scratch: RasterScratch = newScratch(),
): void {
  const template = TEMPLATES[shape];
  if (!template) throw new Error(`unknown shape index ${shape}`);
  // Reduce to the shape's symmetry period so that symmetric rotations give identical bytes.
  const period = (2 * Math.PI * ROTATION_PERIOD_STEPS[shape as 0 | 1 | 2]!) / 40;
  const theta = rotation - period * Math.floor(rotation / period);
  drawPolygon(template, scale, theta, cx, cy, out, offset, scratch);
}

export interface RasterScratch {
  /** Per-row signed area increments; the running sum along a row is the coverage. Stride SIZE + 2. */
  acc: Float64Array;
  pts: Float64Array;
}

export function newScratch(): RasterScratch {
  return { acc: new Float64Array(SHAPES_SIZE * (SHAPES_SIZE + 2)), pts: new Float64Array(2 * 256) };
}

const STRIDE = SHAPES_SIZE + 2;

function drawPolygon(
  template: Float64Array,
  scale: number,
  theta: number,
  cx: number,
  cy: number,
  out: Uint8Array,
  offset: number,
  s: RasterScratch,
): void {
  const n = template.length / 2;
  const pts = s.pts;
  const cos = Math.cos(theta) * scale;
  const sin = Math.sin(theta) * scale;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = template[2 * i]!;
    const y = template[2 * i + 1]!;
    // Counterclockwise on screen with y down: (1, 0) turns towards (0, -1).
    const px = cx + x * cos + y * sin;
    const py = cy - x * sin + y * cos;
    pts[2 * i] = px;
    pts[2 * i + 1] = py;
    if (py < minY) minY = py;
    if (py > maxY) maxY = py;
  }
  for (let i = 0; i < n; i++) {
    const j = i + 1 === n ? 0 : i + 1;
    edge(s.acc, pts[2 * i]!, pts[2 * i + 1]!, pts[2 * j]!, pts[2 * j + 1]!);
  }
  const r0 = Math.max(0, Math.floor(minY));
  const r1 = Math.min(SHAPES_SIZE - 1, Math.ceil(maxY));
  const acc = s.acc;
  for (let r = r0; r <= r1; r++) {
    let sum = 0;
    const a = r * STRIDE;
    const o = offset + r * SHAPES_SIZE;
    for (let c = 0; c < SHAPES_SIZE; c++) {
      sum += acc[a + c]!;
      const v = sum < 0 ? -sum : sum;
      out[o + c] = v >= 1 ? 255 : Math.round(v * 255);
    }
    acc.fill(0, a, a + STRIDE);
  }
}

/**
 * Adds one polygon edge to the accumulation buffer. For each pixel row the edge crosses, the piece of
 * the edge inside each pixel column, with signed height dy (its direction gives the sign), covers
 * dy * (right side of the pixel - the piece's mean x) of that pixel and dy of every pixel further
 * right; the buffer holds those increments, so a running sum along the row yields the covered area of
 * every pixel (exact for polygons; the absolute value makes the winding direction irrelevant).
 */
function edge(acc: Float64Array, x0: number, y0: number, x1: number, y1: number): void {
  if (y0 === y1) return;
  let dir = 1;
  if (y0 > y1) {
    dir = -1;
    let t = x0;
    x0 = x1;
    x1 = t;
    t = y0;
    y0 = y1;
    y1 = t;
  }
  const top = Math.max(y0, 0);
  const bottom = Math.min(y1, SHAPES_SIZE);
  if (top >= bottom) return;
  const dxdy = (x1 - x0) / (y1 - y0);
  for (let r = Math.floor(top); r < bottom; r++) {
    const ya = Math.max(top, r);
    const yb = Math.min(bottom, r + 1);
    if (yb <= ya) continue;
    const xa = x0 + (ya - y0) * dxdy;
    const xb = x0 + (yb - y0) * dxdy;
    rowSpan(acc, r * STRIDE, xa, xb, dir * (yb - ya));
  }
}

/** Deposits the part of an edge inside one pixel row: from x = xa to xb with signed height h. */
function rowSpan(acc: Float64Array, base: number, xa: number, xb: number, h: number): void {
  // Area left of the frame counts as if on its left border; area right of it lands in the spare columns.
  let xl = Math.min(Math.max(Math.min(xa, xb), 0), SHAPES_SIZE);
  const xr = Math.min(Math.max(Math.max(xa, xb), 0), SHAPES_SIZE);
  const c0 = Math.floor(xl);
  if (xr - xl < 1e-12 || Math.floor(xr) === c0 || xr === c0 + 1) {
    const m = (xl + xr) / 2 - c0;
    acc[base + c0] = acc[base + c0]! + h * (1 - m);
    acc[base + c0 + 1] = acc[base + c0 + 1]! + h * m;
    return;
  }
  // Spread the height along x in proportion to the length in each column (the edge is straight).
  const k = h / (xr - xl);
  while (xl < xr) {
    const c = Math.floor(xl);
    const next = Math.min(c + 1, xr);
    const ph = k * (next - xl);
    const m = (xl + next) / 2 - c;
    acc[base + c] = acc[base + c]! + ph * (1 - m);
    acc[base + c + 1] = acc[base + c + 1]! + ph * m;
    xl = next;
  }
}

/**
 * Generates `count` samples (default 20,000) with factors drawn from a seeded generator: the shape
 * exactly balanced in a shuffled order, every other factor uniform over its grid. `factors` holds, per
 * sample, [shape index, scale, rotation (radians), x, y (in [0, 1])]; labels are the shape index.
 */
export function generateShapes(opts: { count?: number; seed?: number } = {}): GeneratedImages {
  const count = opts.count ?? SHAPES_DEFAULT_COUNT;
  const seed = opts.seed ?? SHAPES_DEFAULT_SEED;
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  const rng = new Rng(seed);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % SHAPE_NAMES.length;
  rng.shuffle(labels);
  const D = SHAPES_SIZE * SHAPES_SIZE;
  const images = new Uint8Array(count * D);
  const F = SHAPE_FACTOR_NAMES.length;
  const values = new Float32Array(count * F);
  const scratch = newScratch();
  for (let i = 0; i < count; i++) {
    const shape = labels[i]!;
    const si = rng.int(SHAPE_SCALES.length);
    const ri = rng.int(SHAPE_ROTATIONS.length);
    const xi = rng.int(SHAPE_POSITIONS.length);
    const yi = rng.int(SHAPE_POSITIONS.length);
    const scale = SHAPE_SCALES[si]!;
    const x = SHAPE_POSITIONS[xi]!;
    const y = SHAPE_POSITIONS[yi]!;
    // Drawn from the index reduced to the symmetry period, so symmetric rotations give identical bytes.
    const drawn = SHAPE_ROTATIONS[ri % ROTATION_PERIOD_STEPS[shape as 0 | 1 | 2]!]!;
    const template = TEMPLATES[shape]!;
    drawPolygon(template, scale, drawn, positionToPixel(x), positionToPixel(y), images, i * D, scratch);
    values[i * F] = shape;
    values[i * F + 1] = scale;
    values[i * F + 2] = SHAPE_ROTATIONS[ri]!;
    values[i * F + 3] = x;
    values[i * F + 4] = y;
  }
  return {
    images,
    labels,
    labelNames: [...SHAPE_NAMES],
    count,
    width: SHAPES_SIZE,
    height: SHAPES_SIZE,
    channels: 1,
    factors: { names: [...SHAPE_FACTOR_NAMES], values },
  };
}
