/**
 * The UMAP / t-SNE views (core/latent/project.ts): deterministic for a seed, and above the fit
 * limit the points outside the fitted subsample are placed by their latent neighbours (a copy of
 * a fitted point lands exactly on it).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { embed2d } from '../../../src-main/core/latent/project.ts';
import { Rng } from '../../../src-main/core/rng.ts';

function clusters(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const pts = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) pts[i * d + j] = (j === i % 3 ? 8 : 0) + rng.normal();
  return pts;
}

describe('embed2d', () => {
  for (const kind of ['umap', 'tsne'] as const) {
    test(`${kind}: same seed, same map; a subsample is fitted and the rest placed near their latent neighbours`, async () => {
      const n = 120;
      const d = 4;
      const mu = clusters(n, d, 1);
      // Point 119 is a copy of point 0: whichever of them is fitted, the other lands on it when placed.
      mu.set(mu.subarray(0, d), 119 * d);
      const fractions: number[] = [];
      const a = await embed2d(kind, mu, n, d, { seed: 3, fitMax: 60, onProgress: (f) => void fractions.push(f) });
      const b = await embed2d(kind, mu, n, d, { seed: 3, fitMax: 60 });
      assert.equal(a.fitted, 60);
      assert.deepEqual(a.x, b.x);
      assert.deepEqual(a.y, b.y);
      assert.ok(a.x.every(Number.isFinite) && a.y.every(Number.isFinite));
      assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]!)), 'progress only grows');
      assert.equal(fractions.at(-1), 1);
      // Copies coincide unless both were fitted (then they are two independent points of the fit).
      const d0 = Math.hypot(a.x[0]! - a.x[119]!, a.y[0]! - a.y[119]!);
      const spread = Math.max(...a.x) - Math.min(...a.x);
      assert.ok(d0 < 0.2 * spread, `copies ${d0} apart on a map ${spread} wide`);
      // Most points' nearest map neighbour is in their own cluster.
      let agree = 0;
      for (let i = 0; i < n; i++) {
        let best = -1;
        let bd = Infinity;
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          const dd = Math.hypot(a.x[i]! - a.x[j]!, a.y[i]! - a.y[j]!);
          if (dd < bd) [bd, best] = [dd, j];
        }
        if (best % 3 === i % 3 || (i === 119 && best === 0) || (i === 0 && best === 119)) agree++;
      }
      assert.ok(agree >= 0.9 * n, `${agree} of ${n}`);
    });
  }
});
