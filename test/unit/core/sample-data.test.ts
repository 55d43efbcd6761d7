import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILTIN_DATASETS, generateDigits, loadBuiltin } from '../../../src-main/core/sample-data.ts';

const D = 28 * 28;

describe('generateDigits', () => {
  const a = generateDigits({ count: 1000, seed: 1 });

  test('is deterministic for a seed and differs across seeds', () => {
    const b = generateDigits({ count: 1000, seed: 1 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
    const c = generateDigits({ count: 1000, seed: 2 });
    assert.notDeepEqual(a.images, c.images);
  });

  test('has the MNIST shape and exactly balanced labels 0..9', () => {
    assert.equal(a.count, 1000);
    assert.equal(a.width, 28);
    assert.equal(a.height, 28);
    assert.equal(a.channels, 1);
    assert.equal(a.images.length, 1000 * D);
    assert.deepEqual(a.labelNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const counts = new Array(10).fill(0);
    for (const l of a.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(100));
    // Labels are shuffled, not in blocks.
    assert.notDeepEqual(Array.from(a.labels.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('looks like white digits on black: dark background, inked centre, anti-aliased edges', () => {
    let mean = 0;
    for (let i = 0; i < a.count; i++) {
      const img = a.images.subarray(i * D, (i + 1) * D);
      let max = 0;
      let zeros = 0;
      let grey = 0;
      for (const v of img) {
        if (v > max) max = v;
        if (v === 0) zeros++;
        else if (v < 200) grey++;
        mean += v;
      }
      assert.ok(max >= 200, `image ${i} has no full-intensity stroke`);
      assert.ok(zeros > D * 0.5, `image ${i} is not mostly background`);
      assert.ok(grey > 5, `image ${i} has no anti-aliased edge`);
      // The outer 2-pixel frame stays (almost) empty, as in MNIST.
      let frame = 0;
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) if ((x < 2 || x > 25 || y < 2 || y > 25) && img[y * 28 + x]! > 0) frame++;
      assert.ok(frame <= 6, `image ${i} touches the border (${frame} pixels)`);
    }
    mean /= a.images.length;
    assert.ok(mean > 15 && mean < 60, `mean pixel ${mean}`);
  });

  test('classes are distinguishable and samples vary within a class', () => {
    // Nearest class centroid, fitted on the first half, tested on the second.
    const half = a.count / 2;
    const centroids = Array.from({ length: 10 }, () => new Float64Array(D));
    const n = new Array(10).fill(0);
    for (let i = 0; i < half; i++) {
      const l = a.labels[i]!;
      n[l]++;
      for (let j = 0; j < D; j++) centroids[l]![j]! += a.images[i * D + j]!;
    }
    centroids.forEach((c, l) => c.forEach((v, j) => (c[j] = v / n[l])));
    let correct = 0;
    for (let i = half; i < a.count; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let l = 0; l < 10; l++) {
        let d = 0;
        for (let j = 0; j < D; j++) d += (a.images[i * D + j]! - centroids[l]![j]!) ** 2;
        if (d < bestD) {
          bestD = d;
          best = l;
        }
      }
      if (best === a.labels[i]) correct++;
    }
    const acc = correct / half;
    assert.ok(acc > 0.6, `nearest-centroid accuracy ${acc}`);
    assert.ok(acc < 0.995, `digits are too regular (accuracy ${acc})`);
    // Two samples of the same class are never pixel-identical.
    const firstOnes = [...a.labels.keys()].filter((i) => a.labels[i] === 1).slice(0, 2);
    const [p, q] = firstOnes.map((i) => a.images.subarray(i * D, (i + 1) * D));
    assert.notDeepEqual(p, q);
  });

  test('generates the default 6000 images quickly', () => {
    const t0 = performance.now();
    const d = generateDigits();
    const ms = performance.now() - t0;
    assert.equal(d.count, 6000);
    // Generous bound: the brief asks for well under a second on a 2-core machine.
    assert.ok(ms < 3000, `took ${ms} ms`);
  });
});

describe('built-in datasets', () => {
  test('metadata matches the generated data, and loading is cached per process', () => {
    const meta = BUILTIN_DATASETS.find((d) => d.id === 'builtin-digits');
    assert.ok(meta);
    assert.equal(meta.source, 'builtin:digits');
    const data = loadBuiltin('digits');
    assert.equal(meta.count, data.count);
    assert.equal(meta.width, data.width);
    assert.equal(meta.height, data.height);
    assert.equal(meta.channels, data.channels);
    assert.deepEqual(meta.labels, data.labelNames);
    assert.equal(loadBuiltin('builtin:digits'), data);
    assert.throws(() => loadBuiltin('nope'), /unknown built-in dataset/);
  });
});
