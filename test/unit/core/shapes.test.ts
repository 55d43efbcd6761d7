import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILTIN_DATASETS, loadBuiltin, sampleFactors } from '../../../src-main/core/sample-data.ts';
import {
  SHAPE_FACTOR_NAMES,
  SHAPE_NAMES,
  SHAPE_POSITIONS,
  SHAPE_ROTATIONS,
  SHAPE_SCALES,
  SHAPES_SIZE,
  generateShapes,
  positionToPixel,
  renderShape,
} from '../../../src-main/core/shapes.ts';

const S = SHAPES_SIZE;
const D = S * S;
const F = SHAPE_FACTOR_NAMES.length;
const SQUARE = 0;
const ELLIPSE = 1;
const HEART = 2;
/** Every shape reaches this far from its centroid at scale 1 (see shapes.ts). */
const RADIUS = 14;

function render(shape: number, scale: number, rotation: number, cx = S / 2, cy = S / 2): Uint8Array {
  const out = new Uint8Array(D);
  renderShape(shape, scale, rotation, cx, cy, out);
  return out;
}

/** Covered area in pixels: the rasteriser writes each pixel's covered fraction * 255. */
function area(img: Uint8Array): number {
  let s = 0;
  for (const v of img) s += v;
  return s / 255;
}

/** Intensity-weighted centroid in continuous pixel coordinates (pixel centres at i + 0.5). */
function centroid(img: Uint8Array): { x: number; y: number } {
  let m = 0;
  let x = 0;
  let y = 0;
  for (let r = 0; r < S; r++) {
    for (let c = 0; c < S; c++) {
      const v = img[r * S + c]!;
      m += v;
      x += v * (c + 0.5);
      y += v * (r + 0.5);
    }
  }
  return { x: x / m, y: y / m };
}

/** The image turned a quarter turn counterclockwise on screen about the frame centre (32, 32). */
function rot90(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(D);
  // Pixel centre (c + .5, r + .5) relative to (32, 32) is (u, v); a counterclockwise quarter turn with
  // y down sends it to (v, -u), i.e. to pixel (column r, row 63 - c).
  for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) out[(S - 1 - c) * S + r] = img[r * S + c]!;
  return out;
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Sum of |a - b| in pixel units (a whole pixel of difference counts 1). */
function l1(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / 255;
}

describe('renderShape (exact-coverage rasteriser)', () => {
  test('total intensity equals the closed-form area and grows as scale^2', () => {
    for (const scale of SHAPE_SCALES) {
      // Square: circumradius R*scale, so side sqrt(2) * R * scale and area 2 R^2 scale^2.
      const sq = 2 * (RADIUS * scale) ** 2;
      // Ellipse 2:1 with semi-axes R*scale and R*scale/2 (a 128-gon: area smaller by under 0.05 %).
      const el = (Math.PI * (RADIUS * scale) ** 2) / 2;
      for (const rot of [0, 0.3, 1.1, 2.5]) {
        const a = area(render(SQUARE, scale, rot, 31.3, 33.6));
        assert.ok(Math.abs(a - sq) < 0.002 * sq + 0.2, `square scale ${scale} rot ${rot}: ${a} vs ${sq}`);
        const b = area(render(ELLIPSE, scale, rot, 31.3, 33.6));
        assert.ok(Math.abs(b - el) < 0.002 * el + 0.2, `ellipse scale ${scale} rot ${rot}: ${b} vs ${el}`);
      }
    }
    const h1 = area(render(HEART, 1, 0.7));
    for (const scale of SHAPE_SCALES) {
      const h = area(render(HEART, scale, 0.7));
      assert.ok(Math.abs(h / h1 - scale * scale) < 0.01, `heart area ratio at scale ${scale}: ${h / h1}`);
    }
    // Area is preserved by rotation too (the shape is not distorted).
    for (const rot of SHAPE_ROTATIONS) assert.ok(Math.abs(area(render(HEART, 1, rot)) - h1) < 0.3);
  });

  test('clips at the frame: a square centred on an edge shows exactly half of itself', () => {
    const full = 2 * RADIUS * RADIUS * 0.25;
    for (const [cx, cy] of [[0, 32], [64, 32], [32, 0], [32, 64]] as const) {
      const a = area(render(SQUARE, 0.5, 0, cx, cy));
      assert.ok(Math.abs(a - full / 2) < 0.2, `at (${cx}, ${cy}): ${a} vs ${full / 2}`);
    }
  });

  test('edges are anti-aliased: interior pixels are 255, edge pixels in between', () => {
    const img = render(SQUARE, 1, 0.4, 32.25, 31.8);
    let full = 0;
    let partial = 0;
    for (const v of img) {
      if (v === 255) full++;
      else if (v > 0) partial++;
    }
    assert.ok(full > 300, `${full} full pixels`);
    // Roughly one partial pixel per pixel of perimeter (4 * 19.8 = 79).
    assert.ok(partial > 60 && partial < 140, `${partial} partial pixels`);
  });

  test('rotation is counterclockwise on screen about the centroid', () => {
    // Rendering at theta + pi/2 equals turning the image at theta a quarter turn, for every shape.
    for (const shape of [SQUARE, ELLIPSE, HEART]) {
      const a = rot90(render(shape, 1, 0.3));
      const b = render(shape, 1, 0.3 + Math.PI / 2);
      assert.ok(maxDiff(a, b) <= 1, `shape ${shape}: max diff ${maxDiff(a, b)}`);
    }
    // The heart's tip (a sharp point on its axis) points down at rotation 0 and, after a counterclockwise
    // quarter turn, right; a clockwise turn would put the two lobes on the right instead.
    const extreme = (img: Uint8Array, key: (r: number, c: number) => number) => {
      let best = { k: -Infinity, r: 0, c: 0 };
      for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) if (img[r * S + c]! >= 128 && key(r, c) > best.k) best = { k: key(r, c), r, c };
      return best;
    };
    const down = extreme(render(HEART, 1, 0), (r) => r);
    assert.ok(Math.abs(down.c + 0.5 - 32) <= 1.5 && down.r > 40, `lowest point at rotation 0: ${JSON.stringify(down)}`);
    const right = extreme(render(HEART, 1, Math.PI / 2), (_, c) => c);
    assert.ok(Math.abs(right.r + 0.5 - 32) <= 1.5 && right.c > 40, `rightmost point at rotation pi/2: ${JSON.stringify(right)}`);
    const left = extreme(render(HEART, 1, Math.PI / 2), (_, c) => -c);
    assert.ok(Math.abs(left.r + 0.5 - 32) > 3, `leftmost point at rotation pi/2 is a lobe: ${JSON.stringify(left)}`);
  });

  test('symmetries: square under 90 degrees, ellipse under 180 only, heart under neither', () => {
    const sq = render(SQUARE, 1, 0.3);
    assert.ok(maxDiff(rot90(sq), sq) <= 1, 'square is symmetric under a quarter turn');
    const el = render(ELLIPSE, 1, 0.3);
    assert.ok(maxDiff(rot90(rot90(el)), el) <= 1, 'ellipse is symmetric under a half turn');
    assert.ok(l1(rot90(el), el) > 50, 'ellipse is not symmetric under a quarter turn');
    const he = render(HEART, 1, 0.3);
    assert.ok(l1(rot90(rot90(he)), he) > 50, `heart under a half turn differs by ${l1(rot90(rot90(he)), he)} px`);
    assert.ok(l1(rot90(he), he) > 50, 'heart is not symmetric under a quarter turn');
    // Rotation factors a symmetry apart give byte-identical images (the angle is reduced first).
    for (const scale of SHAPE_SCALES) {
      for (let k = 0; k < 40; k++) {
        const base = render(SQUARE, scale, SHAPE_ROTATIONS[k % 10]!, 30.7, 33.2);
        assert.deepEqual(render(SQUARE, scale, SHAPE_ROTATIONS[k]!, 30.7, 33.2), base, `square rotation ${k}`);
        const half = render(ELLIPSE, scale, SHAPE_ROTATIONS[k % 20]!, 30.7, 33.2);
        assert.deepEqual(render(ELLIPSE, scale, SHAPE_ROTATIONS[k]!, 30.7, 33.2), half, `ellipse rotation ${k}`);
      }
    }
    assert.ok(l1(render(HEART, 0.7, SHAPE_ROTATIONS[3]!), render(HEART, 0.7, SHAPE_ROTATIONS[23]!)) > 30);
  });
});

describe('generateShapes', () => {
  const a = generateShapes({ count: 3000, seed: 1 });
  const f = a.factors!;
  const factor = (i: number, name: (typeof SHAPE_FACTOR_NAMES)[number]) => f.values[i * F + SHAPE_FACTOR_NAMES.indexOf(name)]!;

  test('is deterministic for a seed and differs across seeds', () => {
    const b = generateShapes({ count: 3000, seed: 1 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
    assert.deepEqual(a.factors, b.factors);
    const c = generateShapes({ count: 3000, seed: 2 });
    assert.notDeepEqual(a.images, c.images);
    assert.notDeepEqual(a.factors!.values, c.factors!.values);
    const e = generateShapes({ count: 0 });
    assert.equal(e.images.length, 0);
    assert.throws(() => generateShapes({ count: -1 }), /non-negative/);
  });

  test('has the dSprites layout, balanced labels equal to the shape factor', () => {
    assert.equal(a.count, 3000);
    assert.equal(a.width, 64);
    assert.equal(a.height, 64);
    assert.equal(a.channels, 1);
    assert.equal(a.images.length, 3000 * D);
    assert.deepEqual(a.labelNames, ['square', 'ellipse', 'heart']);
    assert.deepEqual(f.names, ['shape', 'scale', 'rotation', 'x', 'y']);
    assert.equal(f.values.length, 3000 * F);
    const counts = [0, 0, 0];
    for (let i = 0; i < a.count; i++) {
      assert.equal(a.labels[i], factor(i, 'shape'));
      counts[a.labels[i]!]!++;
    }
    assert.deepEqual(counts, [1000, 1000, 1000]);
  });

  test('every shape and every grid value of every factor occurs, and nothing else', () => {
    const grids: Record<string, readonly number[]> = {
      shape: [0, 1, 2],
      scale: SHAPE_SCALES,
      rotation: SHAPE_ROTATIONS,
      x: SHAPE_POSITIONS,
      y: SHAPE_POSITIONS,
    };
    assert.equal(SHAPE_SCALES.length, 6);
    assert.equal(SHAPE_ROTATIONS.length, 40);
    assert.equal(SHAPE_POSITIONS.length, 32);
    assert.ok(Math.abs(SHAPE_SCALES[0]! - 0.5) < 1e-12 && Math.abs(SHAPE_SCALES[5]! - 1) < 1e-12);
    assert.ok(SHAPE_ROTATIONS[0] === 0 && Math.abs(SHAPE_ROTATIONS[39]! - (39 / 40) * 2 * Math.PI) < 1e-12);
    assert.ok(SHAPE_POSITIONS[0] === 0 && SHAPE_POSITIONS[31] === 1);
    for (const [j, name] of SHAPE_FACTOR_NAMES.entries()) {
      const grid = grids[name]!.map((v) => Math.fround(v));
      const seen = new Set<number>();
      for (let i = 0; i < a.count; i++) {
        const v = f.values[i * F + j]!;
        assert.ok(grid.includes(v), `${name} value ${v} is off the grid`);
        seen.add(v);
      }
      assert.equal(seen.size, grid.length, `${name}: ${seen.size} of ${grid.length} values seen`);
    }
    // Each shape meets every rotation (40 x 3 combinations in 3000 draws).
    for (let s = 0; s < 3; s++) {
      const rots = new Set<number>();
      for (let i = 0; i < a.count; i++) if (a.labels[i] === s) rots.add(factor(i, 'rotation'));
      assert.equal(rots.size, 40);
    }
  });

  test('the factors match the pixels: centroid at (x, y), area by shape and scale', () => {
    const areaBy = new Map<string, number[]>();
    for (let i = 0; i < a.count; i++) {
      const img = a.images.subarray(i * D, (i + 1) * D);
      const c = centroid(img);
      const ex = positionToPixel(factor(i, 'x'));
      const ey = positionToPixel(factor(i, 'y'));
      assert.ok(Math.hypot(c.x - ex, c.y - ey) < 0.3, `sample ${i}: centroid (${c.x}, ${c.y}) vs (${ex}, ${ey})`);
      const key = `${factor(i, 'shape')}/${factor(i, 'scale')}`;
      const list = areaBy.get(key) ?? [];
      list.push(area(img));
      areaBy.set(key, list);
    }
    for (let s = 0; s < 3; s++) {
      const at = (scale: number) => areaBy.get(`${s}/${Math.fround(scale)}`)!;
      const unit = at(1)[0]!;
      for (const scale of SHAPE_SCALES) {
        // Every sample of one shape and scale has the same area, which grows as scale^2.
        for (const v of at(scale)) assert.ok(Math.abs(v / unit - scale * scale) < 0.01, `shape ${s} scale ${scale}: ${v}`);
      }
    }
    // The position range spans the frame: x = 0 puts the centroid left of x = 1 by 34 px, y likewise.
    assert.ok(positionToPixel(1) - positionToPixel(0) > 33);
  });

  test('each sample is exactly the shape its factors describe (shape, scale, rotation, position)', () => {
    for (let i = 0; i < 300; i++) {
      const img = a.images.subarray(i * D, (i + 1) * D);
      const want = render(
        factor(i, 'shape'),
        factor(i, 'scale'),
        factor(i, 'rotation'),
        positionToPixel(factor(i, 'x')),
        positionToPixel(factor(i, 'y')),
      );
      // The factors are stored as float32, so a pixel may differ by one level.
      assert.ok(maxDiff(img, want) <= 1, `sample ${i}: max diff ${maxDiff(img, want)}`);
    }
  });

  test('every shape stays inside the frame, and the largest reach its edges', () => {
    let reachLeft = false;
    for (let i = 0; i < a.count; i++) {
      const img = a.images.subarray(i * D, (i + 1) * D);
      for (let k = 0; k < S; k++) {
        const border = img[k]! + img[(S - 1) * S + k]! + img[k * S]! + img[k * S + S - 1]!;
        assert.equal(border, 0, `sample ${i} touches the border`);
      }
      if (factor(i, 'x') === 0 && factor(i, 'scale') === 1) {
        let left = S;
        for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) if (img[r * S + c]! > 0) left = Math.min(left, c);
        if (left <= 3) reachLeft = true;
      }
    }
    assert.ok(reachLeft, 'a large shape at x = 0 comes within 3 px of the left edge');
  });

  test('looks like dSprites: black background, a white anti-aliased shape in each image', () => {
    for (let i = 0; i < a.count; i++) {
      const img = a.images.subarray(i * D, (i + 1) * D);
      let max = 0;
      let zeros = 0;
      let grey = 0;
      for (const v of img) {
        if (v > max) max = v;
        if (v === 0) zeros++;
        else if (v < 255) grey++;
      }
      assert.equal(max, 255, `image ${i} has no full pixel`);
      assert.ok(zeros > D * 0.8, `image ${i} is not mostly background`);
      assert.ok(grey >= 10, `image ${i} has no anti-aliased edge`);
    }
  });
});

describe('built-in shapes dataset', () => {
  test('is registered, loads (cached) with metadata matching the data, and exposes factors per sample', (t) => {
    const meta = BUILTIN_DATASETS.find((d) => d.id === 'builtin-shapes');
    assert.ok(meta);
    assert.equal(meta.name, 'Shapes (dSprites-like)');
    assert.equal(meta.source, 'builtin:shapes');
    assert.equal(meta.kind, 'builtin');
    const t0 = performance.now();
    const data = loadBuiltin('shapes');
    t.diagnostic(`generated ${data.count} shapes in ${(performance.now() - t0).toFixed(0)} ms`);
    assert.equal(meta.count, data.count);
    assert.equal(data.count, 20000);
    assert.equal(meta.width, data.width);
    assert.equal(meta.height, data.height);
    assert.equal(meta.channels, data.channels);
    assert.deepEqual(meta.labels, data.labelNames);
    assert.equal(loadBuiltin('builtin:shapes'), data);
    assert.equal(loadBuiltin('builtin-shapes'), data);
    const fac = sampleFactors(data, 7)!;
    assert.deepEqual(Object.keys(fac), ['shape', 'scale', 'rotation', 'x', 'y']);
    assert.equal(fac.shape, data.labels[7]);
    assert.ok(SHAPE_NAMES[fac.shape!] !== undefined);
    assert.equal(sampleFactors(data, data.count), undefined);
    assert.equal(sampleFactors(loadBuiltin('digits'), 0), undefined);
  });
});
