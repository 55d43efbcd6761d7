/**
 * The mean of p(x|z) from the decoder output, per likelihood, clipped to [0, 1]: pure maths shared
 * by main (evaluation, previews, exports, the latent job) and the renderer (its in-page decoder).
 *   Bernoulli: sigmoid(l). Gaussian: the output.
 *   Continuous Bernoulli (Loaiza-Ganem & Cunningham 2019, eq. 5): lambda / (2 lambda - 1) +
 *   1 / (2 artanh(1 - 2 lambda)) with lambda = sigmoid(l), which in the logit is
 *   0.5 + 0.5 coth(l / 2) - 1 / l; near l = 0 (cancellation) its series 0.5 + l / 12 - l^3 / 720.
 * `likelihood` is a config's likelihood name ('bernoulli' | 'continuousBernoulli' | 'gaussian').
 */
export function likelihoodMean(likelihood: string, out: ArrayLike<number>): Float32Array {
  const m = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const l = out[i]!;
    let v: number;
    if (likelihood === 'gaussian') v = l;
    else if (likelihood === 'bernoulli') v = 1 / (1 + Math.exp(-l));
    else v = Math.abs(l) < 1e-2 ? 0.5 + l / 12 - (l * l * l) / 720 : 0.5 + 0.5 / Math.tanh(l / 2) - 1 / l;
    m[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return m;
}
