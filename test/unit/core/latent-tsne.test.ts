/**
 * t-SNE of the latent explorer (core/latent/tsne.ts): affinities form a symmetric distribution,
 * and well-separated clusters stay separated in the embedding.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inputAffinities, tsne } from '../../../src-main/core/latent/tsne.ts';
import { Rng } from '../../../src-main/core/rng.ts';

function clusters(perCluster: number, k: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const pts = new Float32Array(perCluster * k * d);
  for (let i = 0; i < perCluster * k; i++) for (let j = 0; j < d; j++) pts[i * d + j] = (j === i % k ? 10 : 0) + rng.normal();
  return pts;
}

describe('t-SNE', () => {
  test('input affinities are symmetric and sum to 1', () => {
    const n = 60;
    const P = inputAffinities(clusters(20, 3, 4, 1), n, 4, 5);
    let sum = 0;
    const at = (i: number, j: number) => {
      for (let e = P.rowStart[i]!; e < P.rowStart[i + 1]!; e++) if (P.col[e] === j) return P.val[e]!;
      return 0;
    };
    for (let i = 0; i < n; i++) {
      for (let e = P.rowStart[i]!; e < P.rowStart[i + 1]!; e++) {
        sum += P.val[e]!;
        assert.ok(Math.abs(at(P.col[e]!, i) - P.val[e]!) < 1e-15, 'P is symmetric');
        assert.notEqual(P.col[e], i, 'no self-affinity');
      }
    }
    assert.ok(Math.abs(sum - 1) < 1e-12, `sum ${sum}`);
  });

  test('three separated clusters: every point\'s nearest embedded neighbour is in its cluster', async () => {
    const k = 3;
    const n = 90;
    const { x, y } = await tsne(clusters(30, k, 5, 4), n, 5, { perplexity: 10, iterations: 300, seed: 2 });
    for (let i = 0; i < n; i++) {
      let best = -1;
      let bd = Infinity;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const dd = Math.hypot(x[i]! - x[j]!, y[i]! - y[j]!);
        if (dd < bd) [bd, best] = [dd, j];
      }
      assert.equal(best % k, i % k, `point ${i}`);
    }
  });
});
