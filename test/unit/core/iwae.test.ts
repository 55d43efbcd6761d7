import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { ModelConfigSchema } from '../../../src-main/contract/config.ts';
import { iwaeNll, natsToBitsPerDim, type IwaeModel } from '../../../src-main/core/iwae.ts';
import { bernoulliNllFromLogits, klStandardNormal } from '../../../src-main/core/losses.ts';
import { createNativeLogWeights, decoderWeights } from '../../../src-main/core/ort/iwae.ts';
import { Rng } from '../../../src-main/core/rng.ts';
import { buildVae } from '../../../src-main/core/vae.ts';

before(async () => {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
});

// ---------------------------------------------------------------------------------------------
// A linear-Gaussian latent model (probabilistic PCA): p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I).
// Its marginal is N(b, C) with C = W W^T + s^2 I (Tipping & Bishop 1999, eq. 6) and its posterior is
// N(M^-1 W^T (x - b), s^2 M^-1) with M = W^T W + s^2 I (their eq. 7). W's columns are orthogonal, so
// M is diagonal and the exact posterior is a diagonal Gaussian: the encoder family can express it.
// ---------------------------------------------------------------------------------------------
const D = 4;
const d = 2;
const W = [
  [1, 0],
  [0, 2],
  [1, 0],
  [0, -1],
]; // columns (1,0,1,0) and (0,2,0,-1): orthogonal, W^T W = diag(2, 5)
const b = [0.3, -0.2, 0.1, 0.5];
const s = 0.5;
const Mdiag = [0, 1].map((j) => W.reduce((acc, row) => acc + row[j]! * row[j]!, 0) + s * s); // [2.25, 5.25]
const postStd = Mdiag.map((m) => Math.sqrt((s * s) / m));

/** log N(x; b, W W^T + s^2 I), by a Cholesky factorisation written here. */
function logMarginal(x: ArrayLike<number>): number {
  const C = Array.from({ length: D }, (_, i) =>
    Array.from({ length: D }, (_, j) => W[i]!.reduce((acc, wij, k) => acc + wij * W[j]![k]!, 0) + (i === j ? s * s : 0)),
  );
  const L = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = C[i]![j]!;
      for (let k = 0; k < j; k++) sum -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(sum) : sum / L[j]![j]!;
    }
  }
  // Solve L y = x - b; then (x-b)^T C^-1 (x-b) = |y|^2 and log det C = 2 sum log L_ii.
  const y = new Array<number>(D).fill(0);
  for (let i = 0; i < D; i++) {
    let sum = x[i]! - b[i]!;
    for (let k = 0; k < i; k++) sum -= L[i]![k]! * y[k]!;
    y[i] = sum / L[i]![i]!;
  }
  const maha = y.reduce((acc, v) => acc + v * v, 0);
  const logDet = 2 * L.reduce((acc, row, i) => acc + Math.log(row[i]!), 0);
  return -0.5 * (D * Math.log(2 * Math.PI) + logDet + maha);
}

/** Sets a Dense layer's kernel ([in][out]) and bias. */
function setDense(layer: tf.layers.Layer, kernel: number[][], bias: number[]): void {
  const k = tf.tensor2d(kernel);
  const bb = tf.tensor1d(bias);
  layer.setWeights([k, bb]);
  tf.dispose([k, bb]);
}

/**
 * Encoder x -> [mu, logvar] and decoder z -> mean in buildVae's shapes, with weights set to the exact
 * posterior (mu shifted by `shift` posterior standard deviations per latent dimension).
 */
function linearGaussianModel(shift = 0): IwaeModel {
  const x = tf.input({ shape: [D] });
  const muLayer = tf.layers.dense({ units: d, name: 'enc_mu' });
  const lvLayer = tf.layers.dense({ units: d, name: 'enc_logvar' });
  const encoder = tf.model({ inputs: x, outputs: [muLayer.apply(x) as tf.SymbolicTensor, lvLayer.apply(x) as tf.SymbolicTensor] });
  // mu = M^-1 W^T (x - b) = x K + c with K = W M^-1 ([D, d]) and c = -b^T W M^-1.
  const K = W.map((row) => row.map((w, j) => w / Mdiag[j]!));
  const c = [0, 1].map((j) => -b.reduce((acc, bi, i) => acc + bi * K[i]![j]!, 0) + shift * postStd[j]!);
  setDense(muLayer, K, c);
  setDense(
    lvLayer,
    W.map(() => [0, 0]),
    postStd.map((sd) => Math.log(sd * sd)),
  );

  const z = tf.input({ shape: [d] });
  const outLayer = tf.layers.dense({ units: D, name: 'dec_out' });
  const decoder = tf.model({ inputs: z, outputs: outLayer.apply(z) as tf.SymbolicTensor });
  setDense(
    outLayer,
    [0, 1].map((j) => W.map((row) => row[j]!)),
    b,
  ); // mean = z W^T + b
  return { encoder, decoder, likelihood: 'gaussian', gaussianSigma: s };
}

/** n rows drawn from the model itself. */
function sampleData(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * D);
  for (let r = 0; r < n; r++) {
    const z = [rng.normal(), rng.normal()];
    for (let i = 0; i < D; i++) out[r * D + i] = W[i]![0]! * z[0]! + W[i]![1]! * z[1]! + b[i]! + s * rng.normal();
  }
  return out;
}

const logMarginals = (x: Float32Array): number[] => Array.from({ length: x.length / D }, (_, r) => logMarginal(x.subarray(r * D, (r + 1) * D)));

/** Mean and standard error of (L_k - log p(x)) over rows. */
function gapStats(nll: Float64Array, logp: number[]): { mean: number; se: number } {
  const diffs = logp.map((lp, r) => -nll[r]! - lp);
  const mean = diffs.reduce((a, v) => a + v, 0) / diffs.length;
  const varc = diffs.reduce((a, v) => a + (v - mean) ** 2, 0) / (diffs.length - 1);
  return { mean, se: Math.sqrt(varc / diffs.length) };
}

const dispose = (m: IwaeModel) => {
  m.encoder.dispose();
  m.decoder.dispose();
};

describe('iwaeNll on a linear-Gaussian model with the exact posterior', () => {
  const model = linearGaussianModel(0);
  const x = sampleData(50, 11);
  const logp = logMarginals(x);
  after(() => dispose(model));

  test('the closed-form marginal sanity check: log p(b) = -0.5 (D log 2pi + log det C)', () => {
    // det C = det(W W^T + s^2 I) = s^(2(D-d)) * prod_j M_jj (the nonzero eigenvalues of W W^T are those of W^T W).
    const logDet = 2 * (D - d) * Math.log(s) + Mdiag.reduce((a, m) => a + Math.log(m), 0);
    assert.ok(Math.abs(logMarginal(b) - -0.5 * (D * Math.log(2 * Math.PI) + logDet)) < 1e-12);
  });

  for (const k of [1, 10, 257]) {
    test(`L_${k} equals log p(x) for every row`, async () => {
      const before = tf.memory().numTensors;
      const res = await iwaeNll(tf, model, x, D, k, 3, { chunkRows: 100 });
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
      assert.equal(res.nllPerSample.length, 50);
      for (let r = 0; r < 50; r++) {
        assert.ok(Math.abs(-res.nllPerSample[r]! - logp[r]!) < 2e-4, `row ${r}: L_${k} = ${-res.nllPerSample[r]!}, log p(x) = ${logp[r]}`);
      }
      const meanLogp = logp.reduce((a, v) => a + v, 0) / logp.length;
      assert.ok(Math.abs(-res.mean - meanLogp) < 1e-4);
    });
  }
});

describe('iwaeNll with a mismatched posterior (mean shifted by one posterior std per dimension)', () => {
  const model = linearGaussianModel(1);
  after(() => dispose(model));
  const x = sampleData(1000, 12);
  const logp = logMarginals(x);

  test('L_1 is log p(x) - KL(q || posterior) = log p(x) - 1 in expectation; L_1 < L_10 < L_100 <= log p(x)', async () => {
    const seed = 5;
    const g1 = gapStats((await iwaeNll(tf, model, x, D, 1, seed)).nllPerSample, logp);
    const g10 = gapStats((await iwaeNll(tf, model, x, D, 10, seed)).nllPerSample, logp);
    const g100 = gapStats((await iwaeNll(tf, model, x, D, 100, seed)).nllPerSample, logp);
    // KL between two Gaussians of equal covariance: 0.5 * sum_j (shift_j / std_j)^2 = 0.5 * 2 = 1 nat.
    assert.ok(Math.abs(g1.mean - -1) < 4 * g1.se, `L_1 - log p(x) = ${g1.mean} +- ${g1.se}, expected -1`);
    assert.ok(g1.mean < g10.mean && g10.mean < g100.mean, `gaps ${g1.mean} < ${g10.mean} < ${g100.mean}`);
    assert.ok(g100.mean <= 3 * g100.se, `L_100 - log p(x) = ${g100.mean} +- ${g100.se} must not exceed 0`);
    assert.ok(g10.mean < -0.05, `L_10 is still a strict bound: ${g10.mean}`);
  });

  test('L_5000 is within 0.05 nats of log p(x), computed in bounded chunks', async () => {
    const rows = x.subarray(0, 40 * D);
    const before = tf.memory().numTensors;
    const res = await iwaeNll(tf, model, rows, D, 5000, 9, { chunkRows: 2048 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    const g = gapStats(res.nllPerSample, logp.slice(0, 40));
    assert.ok(Math.abs(g.mean) < 0.05, `L_5000 - log p(x) = ${g.mean}`);
    for (let r = 0; r < 40; r++) assert.ok(Math.abs(-res.nllPerSample[r]! - logp[r]!) < 0.25, `row ${r}`);
  });

  test('a row\'s estimate depends on neither the chunk size nor the other rows; the seed changes it', async () => {
    const rows = x.subarray(0, 6 * D);
    const a = await iwaeNll(tf, model, rows, D, 50, 21, { chunkRows: 4096 });
    const b2 = await iwaeNll(tf, model, rows, D, 50, 21, { chunkRows: 7 });
    const c = await iwaeNll(tf, model, rows.subarray(0, 2 * D), D, 50, 21, { chunkRows: 3 });
    const other = await iwaeNll(tf, model, rows, D, 50, 22);
    for (let r = 0; r < 6; r++) assert.ok(Math.abs(a.nllPerSample[r]! - b2.nllPerSample[r]!) < 1e-6, `row ${r}`);
    for (let r = 0; r < 2; r++) assert.ok(Math.abs(a.nllPerSample[r]! - c.nllPerSample[r]!) < 1e-6, `row ${r}`);
    assert.notDeepEqual(Array.from(a.nllPerSample), Array.from(other.nllPerSample));
  });

  test('refuses malformed input', async () => {
    await assert.rejects(iwaeNll(tf, model, x.subarray(0, 5), D, 1, 1), /whole number of rows/);
    await assert.rejects(iwaeNll(tf, model, x, D, 0, 1), /k must be/);
    await assert.rejects(iwaeNll(tf, model, x, D, 1, 1, { chunkRows: 0 }), /chunkRows/);
  });
});

describe('iwaeNll with the Bernoulli likelihood', () => {
  test('E[L_1] equals the ELBO computed by the training loss code (losses.ts) within Monte-Carlo error', async () => {
    const dim = 12;
    const vae = buildVae(tf, ModelConfigSchema.parse({ hidden: [16], latentDim: 3, activation: 'tanh' }), dim, 4);
    // Push q away from the prior so both the KL and the reconstruction terms matter.
    const lv = vae.encoder.getLayer('enc_logvar');
    // getWeights hands out the layer's own variables' values: set, never dispose them.
    const [lvKernel] = lv.getWeights();
    const newBias = tf.fill([3], -1.2);
    lv.setWeights([lvKernel!, newBias]);
    newBias.dispose();
    const model: IwaeModel = { encoder: vae.encoder, decoder: vae.decoder, likelihood: 'bernoulli', gaussianSigma: 1 };

    const rng = new Rng(2);
    const rowsX = [0, 1, 2].map(() => Float32Array.from({ length: dim }, () => (rng.uniform() < 0.4 ? 1 : 0)));
    const copies = 3000;
    for (const xr of rowsX) {
      // The ELBO as training computes it: the closed-form KL and the Bernoulli NLL from logits,
      // averaged over many reparameterised samples.
      const nEps = 20_000;
      const [elbo, elboSe] = tf.tidy(() => {
        const xt = tf.tensor2d(xr, [1, dim]);
        const [mu, logvar] = vae.encoder.apply(xt) as tf.Tensor2D[];
        const eps = tf.tensor2d(new Rng(99).fillNormal(new Float32Array(nEps * 3)), [nEps, 3]);
        const z = mu!.add(logvar!.mul(0.5).exp().mul(eps)) as tf.Tensor2D;
        const recon = bernoulliNllFromLogits(tf.tile(xt, [nEps, 1]) as tf.Tensor2D, vae.decoder.apply(z) as tf.Tensor2D);
        const kl = klStandardNormal(mu!, logvar!).dataSync()[0]!;
        const r = Array.from(recon.dataSync());
        const m = r.reduce((a, v) => a + v, 0) / nEps;
        const v = r.reduce((a, x) => a + (x - m) ** 2, 0) / (nEps - 1);
        return [-(m + kl), Math.sqrt(v / nEps)];
      });
      const tiled = new Float32Array(copies * dim);
      for (let c = 0; c < copies; c++) tiled.set(xr, c * dim);
      const res = await iwaeNll(tf, model, tiled, dim, 1, 17);
      const l1 = -res.mean;
      const se = Math.hypot(res.stdErr, elboSe!);
      assert.ok(Math.abs(l1 - elbo!) < 4 * se, `E[L_1] = ${l1} +- ${res.stdErr}, ELBO = ${elbo} +- ${elboSe}`);
      // And more samples tighten the bound above the ELBO.
      const res50 = await iwaeNll(tf, model, tiled.subarray(0, 200 * dim), dim, 50, 17);
      assert.ok(-res50.mean > elbo!, `L_50 ${-res50.mean} > ELBO ${elbo}`);
    }
    vae.encoder.dispose();
    vae.decoder.dispose();
  });

  test('natsToBitsPerDim', () => {
    assert.ok(Math.abs(natsToBitsPerDim(784 * Math.LN2, 784) - 1) < 1e-12);
  });
});

describe('iwaeNll with the samples scored natively (ONNX Runtime, core/ort/iwae.ts)', () => {
  const shape = { width: D, height: 1, channels: 1 };
  const linear = ModelConfigSchema.parse({ kind: 'mlp', hidden: [], latentDim: d });

  test('exact posterior: L_k equals log p(x) for every row, as in tfjs', async () => {
    const model = linearGaussianModel(0);
    const native = await createNativeLogWeights(ort, { model: linear, shape, likelihood: 'gaussian', gaussianSigma: s, weights: decoderWeights(model.decoder) }, 1);
    try {
      const x = sampleData(30, 5);
      const logp = logMarginals(x);
      for (const k of [1, 257]) {
        const res = await iwaeNll(tf, { ...model, native }, x, D, k, 3, { chunkRows: 100 });
        for (let r = 0; r < 30; r++) assert.ok(Math.abs(-res.nllPerSample[r]! - logp[r]!) < 2e-4, `row ${r}: L_${k} = ${-res.nllPerSample[r]!}, log p(x) = ${logp[r]}`);
      }
    } finally {
      await native.close();
      dispose(model);
    }
  });

  for (const c of [
    { name: 'MLP, Bernoulli', model: { kind: 'mlp', hidden: [16], latentDim: 3 }, likelihood: 'bernoulli', shape: { width: 5, height: 5, channels: 1 } },
    { name: 'conv RGB 10x10, continuous Bernoulli', model: { kind: 'conv', channels: [4, 6], kernelSize: 3, latentDim: 2, activation: 'elu' }, likelihood: 'continuousBernoulli', shape: { width: 10, height: 10, channels: 3 } },
    { name: 'MLP, Gaussian', model: { kind: 'mlp', hidden: [8], latentDim: 2, activation: 'tanh' }, likelihood: 'gaussian', shape: { width: 6, height: 1, channels: 1 } },
  ] as const) {
    test(`the same draws give tfjs's estimate per row: ${c.name}`, async () => {
      const config = ModelConfigSchema.parse(c.model);
      const { encoder, decoder } = buildVae(tf, config, c.shape, 4);
      const base: IwaeModel = { encoder, decoder, likelihood: c.likelihood, gaussianSigma: 0.3 };
      const native = await createNativeLogWeights(ort, { model: config, shape: c.shape, likelihood: c.likelihood, gaussianSigma: 0.3, weights: decoderWeights(decoder) }, 2);
      try {
        const dim = c.shape.width * c.shape.height * c.shape.channels;
        const rng = new Rng(8);
        const x = Float32Array.from({ length: 6 * dim }, () => rng.uniform());
        const a = await iwaeNll(tf, base, x, dim, 40, 9, { chunkRows: 64 });
        const b = await iwaeNll(tf, { ...base, native }, x, dim, 40, 9, { chunkRows: 64 });
        for (let r = 0; r < 6; r++) assert.ok(Math.abs(a.nllPerSample[r]! - b.nllPerSample[r]!) < 1e-3 * (1 + Math.abs(a.nllPerSample[r]!)), `row ${r}: tfjs ${a.nllPerSample[r]}, native ${b.nllPerSample[r]}`);
      } finally {
        await native.close();
        encoder.dispose();
        decoder.dispose();
      }
    });
  }
});
