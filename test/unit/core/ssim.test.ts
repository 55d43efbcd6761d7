/** SSIM, MSE and PSNR against closed forms and a direct (non-separable) evaluation of the definition. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { likelihoodMean } from '../../../src-main/contract/likelihood.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { gaussianWindow, mse, psnr, ssim } from '../../../src-main/core/ssim.ts';

const C1 = (0.01 * 1) ** 2;
const C2 = (0.03 * 1) ** 2;

function randomImage(w: number, h: number, c: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: w * h * c }, () => rng.uniform());
}

/** SSIM straight from Wang et al. 2004 eq. 13 with a 2-D Gaussian window, no separability tricks. */
function naiveSsim(a: ArrayLike<number>, b: ArrayLike<number>, w: number, h: number, c: number, size = 11, sigma = 1.5): number {
  const g = gaussianWindow(size, sigma);
  let total = 0;
  let count = 0;
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y + size <= h; y++)
      for (let x = 0; x + size <= w; x++) {
        let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        for (let i = 0; i < size; i++)
          for (let j = 0; j < size; j++) {
            const wt = g[i]! * g[j]!;
            const k = ((y + i) * w + x + j) * c + ch;
            mx += wt * a[k]!;
            my += wt * b[k]!;
          }
        for (let i = 0; i < size; i++)
          for (let j = 0; j < size; j++) {
            const wt = g[i]! * g[j]!;
            const k = ((y + i) * w + x + j) * c + ch;
            sxx += wt * (a[k]! - mx) ** 2;
            syy += wt * (b[k]! - my) ** 2;
            sxy += wt * (a[k]! - mx) * (b[k]! - my);
          }
        total += ((2 * mx * my + C1) * (2 * sxy + C2)) / ((mx * mx + my * my + C1) * (sxx + syy + C2));
        count++;
      }
  return total / count;
}

describe('ssim', () => {
  test('the Gaussian window is normalised, symmetric and peaks in the middle', () => {
    const g = gaussianWindow(11, 1.5);
    assert.ok(Math.abs(g.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    for (let i = 0; i < 11; i++) assert.ok(Math.abs(g[i]! - g[10 - i]!) < 1e-15);
    assert.equal(Math.max(...g), g[5]);
    assert.throws(() => gaussianWindow(4, 1), /odd/);
  });

  test('SSIM(x, x) = 1 for gray and RGB images, and for 8x8 images (7x7 window)', () => {
    for (const [w, h, c] of [[28, 28, 1], [32, 24, 3], [8, 8, 1]] as const) {
      const x = randomImage(w, h, c, w + c);
      assert.ok(Math.abs(ssim(x, x, w, h, c) - 1) < 1e-12, `${w}x${h}x${c}`);
    }
  });

  test('a constant image shifted by a constant: (2a(a+c) + C1) / (a^2 + (a+c)^2 + C1) exactly', () => {
    for (const [a, c] of [[0.3, 0.2], [0.5, -0.25], [0.1, 0.6]] as const) {
      const x = new Float64Array(28 * 28).fill(a);
      const y = new Float64Array(28 * 28).fill(a + c);
      const expected = (2 * a * (a + c) + C1) / (a * a + (a + c) ** 2 + C1);
      assert.ok(Math.abs(ssim(x, y, 28, 28) - expected) < 1e-12, `a=${a} c=${c}: ${ssim(x, y, 28, 28)} vs ${expected}`);
    }
  });

  test('a textured image shifted by a constant keeps the structure term: SSIM is the mean luminance term', () => {
    // sigma_xy = sigma_x^2 = sigma_y^2, so the contrast-structure factor is exactly 1 in every window.
    const w = 20;
    const x = randomImage(w, w, 1, 7).map((v) => 0.2 + 0.5 * v);
    const shift = 0.15;
    const y = x.map((v) => v + shift);
    const g = gaussianWindow(11, 1.5);
    let total = 0;
    let n = 0;
    for (let py = 0; py + 11 <= w; py++)
      for (let px = 0; px + 11 <= w; px++) {
        let m = 0;
        for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) m += g[i]! * g[j]! * x[(py + i) * w + px + j]!;
        total += (2 * m * (m + shift) + C1) / (m * m + (m + shift) ** 2 + C1);
        n++;
      }
    assert.ok(Math.abs(ssim(x, y, w, w) - total / n) < 1e-10);
  });

  test('matches the direct 2-D definition on random pairs; symmetric; below 1 for different images', () => {
    for (const [w, h, c, seed] of [[16, 14, 1, 1], [12, 12, 3, 2]] as const) {
      const a = randomImage(w, h, c, seed);
      const b = a.map((v, i) => Math.min(1, Math.max(0, v + 0.3 * (randomImage(w, h, c, seed + 100)[i]! - 0.5))));
      const s = ssim(a, b, w, h, c);
      assert.ok(Math.abs(s - naiveSsim(a, b, w, h, c)) < 1e-10, `${s} vs ${naiveSsim(a, b, w, h, c)}`);
      assert.ok(Math.abs(s - ssim(b, a, w, h, c)) < 1e-12);
      assert.ok(s < 0.99 && s > -1);
    }
    assert.throws(() => ssim([1, 2], [1, 2, 3], 2, 1), /must hold/);
  });
});

describe('mse and psnr', () => {
  test('closed forms: a constant error e gives MSE e^2 and PSNR -20 log10 e; identical images are floored at 100 dB', () => {
    const x = randomImage(10, 10, 1, 3);
    const y = x.map((v) => v + 0.1);
    assert.ok(Math.abs(mse(x, y) - 0.01) < 1e-12);
    assert.ok(Math.abs(psnr(0.01) - 20) < 1e-12);
    assert.ok(Math.abs(psnr(0.04, 2) - 20) < 1e-12, 'L = 2: 10 log10(4 / 0.04)');
    assert.equal(psnr(0), 100);
  });
});

describe('likelihoodMean', () => {
  test('Bernoulli sigmoid, Gaussian identity (clipped), continuous Bernoulli mean from its closed form and its series at 0', () => {
    const out = Float32Array.from([0, 2, -3, 1.5, -0.5]);
    const b = likelihoodMean('bernoulli', out);
    out.forEach((l, i) => assert.ok(Math.abs(b[i]! - 1 / (1 + Math.exp(-l))) < 1e-7));
    assert.deepEqual(Array.from(likelihoodMean('gaussian', Float32Array.from([-0.5, 0.25, 1.5]))), [0, 0.25, 1]);
    // Continuous Bernoulli (Loaiza-Ganem & Cunningham 2019, eq. 5): lambda/(2 lambda - 1) + 1/(2 artanh(1 - 2 lambda)).
    const cb = likelihoodMean('continuousBernoulli', out);
    out.forEach((l, i) => {
      const lam = 1 / (1 + Math.exp(-l));
      const expected = l === 0 ? 0.5 : lam / (2 * lam - 1) + 1 / (2 * Math.atanh(1 - 2 * lam));
      assert.ok(Math.abs(cb[i]! - expected) < 1e-6, `l=${l}: ${cb[i]} vs ${expected}`);
    });
    // The series and the exact form agree where they meet.
    const near = likelihoodMean('continuousBernoulli', Float32Array.from([0.00999, 0.01001]));
    assert.ok(Math.abs(near[0]! - near[1]!) < 1e-5);
    assert.ok(Math.abs(near[0]! - (0.5 + 0.00999 / 12)) < 1e-7);
  });
});
