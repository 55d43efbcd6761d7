/**
 * Neighbour searches of the latent explorer (core/latent/knn.ts): the 2-D grid answers exactly
 * like a brute-force scan, the inverse of a map position at a data point is that point's latent
 * vector, and subsampled embeddings place the other points near their latent neighbours.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GridIndex, idwMean, nearestInLatent, placeByNeighbours } from '../../../src-main/core/latent/knn.ts';
import { Rng } from '../../../src-main/core/rng.ts';

describe('GridIndex', () => {
  test('k nearest equal a brute-force scan, for queries inside and outside the points', () => {
    const rng = new Rng(5);
    const n = 2000;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // Clustered and uneven, as embeddings are.
      const c = i % 4;
      x[i] = c * 10 + rng.normal() * (c + 1);
      y[i] = (c % 2) * 5 + rng.normal();
    }
    const grid = new GridIndex(x, y);
    for (let q = 0; q < 200; q++) {
      const qx = rng.range(-20, 60);
      const qy = rng.range(-10, 15);
      const got = grid.nearest(qx, qy, 8);
      const all = Array.from({ length: n }, (_, i) => Math.hypot(x[i]! - qx, y[i]! - qy)).sort((a, b) => a - b);
      assert.equal(got.ids.length, 8);
      for (let k = 0; k < 8; k++) assert.ok(Math.abs(got.dist[k]! - all[k]!) < 1e-9, `query ${q} neighbour ${k}: ${got.dist[k]} vs ${all[k]}`);
    }
  });

  test('fewer points than k: all of them, nearest first', () => {
    const g = new GridIndex(Float32Array.from([0, 1, 5]), Float32Array.from([0, 0, 0]));
    const r = g.nearest(0.9, 0, 8);
    assert.deepEqual(Array.from(r.ids), [1, 0, 2]);
  });
});

describe('idwMean (the UMAP / t-SNE inverse)', () => {
  test('at a data point it returns exactly that point\'s latent vector', () => {
    const rng = new Rng(9);
    const n = 500;
    const d = 6;
    const x = new Float32Array(n);
    const y = new Float32Array(n);
    const mu = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      x[i] = rng.normal();
      y[i] = rng.normal();
    }
    for (let i = 0; i < n * d; i++) mu[i] = rng.normal();
    const grid = new GridIndex(x, y);
    const out = new Float32Array(d);
    for (const i of [0, 17, 499]) {
      const nb = grid.nearest(x[i]!, y[i]!, 8);
      idwMean(mu, d, nb.ids, nb.dist, out);
      assert.deepEqual(Array.from(out), Array.from(mu.subarray(i * d, (i + 1) * d)));
    }
  });

  test('between two points it weights them by inverse distance', () => {
    const mu = Float32Array.from([0, 0, 3, 6]);
    const out = new Float32Array(2);
    // Distances 1 and 2: weights 1 and 1/2 -> (0 * 1 + 3 * 0.5) / 1.5 = 1, (0 + 6 * 0.5) / 1.5 = 2.
    idwMean(mu, 2, [0, 1], [1, 2], out);
    assert.deepEqual(Array.from(out), [1, 2]);
  });
});

describe('nearestInLatent / placeByNeighbours', () => {
  test('latent neighbours match a brute-force scan; a query equal to a reference lands on its position', () => {
    const rng = new Rng(2);
    const d = 5;
    const nRefs = 300;
    const refs = new Float32Array(nRefs * d);
    for (let i = 0; i < refs.length; i++) refs[i] = rng.normal();
    const queries = refs.slice(10 * d, 12 * d);
    const { ids, dist } = nearestInLatent(refs, nRefs, queries, 2, d, 3);
    assert.equal(ids[0], 10);
    assert.equal(dist[0], 0);
    assert.equal(ids[3], 11);
    const sx = Float32Array.from({ length: nRefs }, (_, i) => i);
    const sy = Float32Array.from({ length: nRefs }, (_, i) => -i);
    const placed = placeByNeighbours(refs, sx, sy, queries, 2, d, 5);
    assert.deepEqual([placed.x[0], placed.y[0], placed.x[1], placed.y[1]], [10, -10, 11, -11]);
  });
});
