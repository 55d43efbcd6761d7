/**
 * Per-sample VAE loss terms on tfjs tensors. Every function takes [batch, dim] tensors and returns
 * a [batch] tensor in nats, summed over the dimensions; the caller averages over the batch.
 * The training objective is -ELBO = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I)), estimated
 * with one reparameterised sample z = mu + exp(logvar / 2) * eps (Kingma & Welling 2014, eq. 10).
 */
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * KL(q || N(0, I)) per latent dimension, [batch, latent]: 0.5 * (exp(logvar) - 1 - logvar + mu^2).
 * Free bits clamp its batch mean per dimension; the diagnostics average it over a data set.
 */
export function klPerDimension(mu: Tensor2D, logvar: Tensor2D): Tensor2D {
  return logvar.exp().sub(1).sub(logvar).add(mu.square()).mul(0.5) as Tensor2D;
}

/**
 * KL(N(mu, diag(exp(logvar))) || N(0, I)) in closed form, per row:
 *   0.5 * sum_j (exp(logvar_j) - 1 - logvar_j + mu_j^2).
 * Kingma & Welling 2014, appendix B (the negative of their -D_KL term in eq. 10).
 * logvar is the log-variance, matching the sampler's exp(0.5 * logvar) (ENGINEERING.md section 2).
 */
export function klStandardNormal(mu: Tensor2D, logvar: Tensor2D): Tensor1D {
  return logvar.exp().sub(1).sub(logvar).add(mu.square()).sum(1).mul(0.5) as Tensor1D;
}

/**
 * -log p(x|z) for independent Bernoulli pixels parameterised by logits l, per row:
 *   sum_i softplus(l_i) - x_i * l_i
 * which equals -sum_i [x_i log sigmoid(l_i) + (1 - x_i) log(1 - sigmoid(l_i))] (the decoder term of
 * Kingma & Welling 2014, appendix C.1). It is computed from the logits because sigmoid saturates to
 * exactly 0 or 1 in float32 for |l| > ~17, where log(p) of clipped probabilities gives wrong (capped)
 * losses and zero gradients; softplus stays exact up to any magnitude. x may be any value in [0, 1]
 * (grey levels), as is usual for MNIST-like data.
 */
export function bernoulliNllFromLogits(x: Tensor2D, logits: Tensor2D): Tensor1D {
  return logits.softplus().sub(x.mul(logits)).sum(1) as Tensor1D;
}

/**
 * -log N(x; mean, sigma^2 I) with a fixed scalar sigma, per row:
 *   sum_i 0.5 * ((x_i - mean_i) / sigma)^2 + log sigma + 0.5 * log(2 pi)
 * (the Gaussian decoder of Kingma & Welling 2014, appendix C.2, with the variance held fixed).
 */
export function gaussianNll(x: Tensor2D, mean: Tensor2D, sigma: number): Tensor1D {
  if (!(sigma > 0)) throw new Error(`gaussian sigma must be positive, got ${sigma}`);
  const dim = x.shape[1];
  const constant = dim * (Math.log(sigma) + HALF_LOG_2PI);
  return x
    .sub(mean)
    .square()
    .sum(1)
    .mul(0.5 / (sigma * sigma))
    .add(constant) as Tensor1D;
}

/**
 * -log N(x; mean, sigma^2 I) with sigma = exp(logSigma) a trainable scalar, per row:
 *   0.5 * exp(-2 logSigma) * sum_i (x_i - mean_i)^2 + D * (logSigma + 0.5 * log(2 pi)).
 * Parameterising by log sigma keeps sigma positive without a constraint; its maximum-likelihood
 * value given the residuals is sigma^2 = mean squared residual, as in probabilistic PCA.
 */
export function gaussianNllLearned(x: Tensor2D, mean: Tensor2D, logSigma: Scalar): Tensor1D {
  const dim = x.shape[1];
  return x
    .sub(mean)
    .square()
    .sum(1)
    .mul(logSigma.mul(-2).exp().mul(0.5))
    .add(logSigma.add(HALF_LOG_2PI).mul(dim)) as Tensor1D;
}

/** Below this |logit| the continuous Bernoulli normaliser uses its Taylor series (see below). */
const CB_TAYLOR_BELOW = 0.25;

/**
 * log C(lambda) of the continuous Bernoulli (Loaiza-Ganem & Cunningham 2019, eq. 3), elementwise,
 * from the logit l of lambda = sigmoid(l):
 *   C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda)  (lambda != 1/2),  C(1/2) = 2.
 * With 1 - 2 sigmoid(l) = -tanh(l / 2), artanh of it is -l / 2, so C = l / tanh(l / 2): an even
 * function of l, and log C = log|l| - log tanh(|l| / 2). That form is 0 - 0 at l = 0 (lambda = 1/2)
 * and loses its gradient to cancellation nearby, so for |l| < 0.25 the series
 *   log C = log 2 + y^2 / 3 - 7 y^4 / 90 + 62 y^6 / 2835,  y = l / 2
 * (log(y coth y) integrated from d/dy = 1/y - 2/sinh(2y)) is used instead; its first omitted term
 * is below 1e-9 there. The exact branch is evaluated at max(|l|, 0.25) so that neither branch
 * produces an infinite value or gradient that `where` would turn into NaN.
 */
export function continuousBernoulliLogNormalizer(logits: Tensor): Tensor {
  const a = logits.abs();
  const big = a.maximum(CB_TAYLOR_BELOW);
  const exact = big.log().sub(big.mul(0.5).tanh().log());
  const y2 = a.mul(0.5).square();
  const series = y2
    .mul(62 / 2835)
    .sub(7 / 90)
    .mul(y2)
    .add(1 / 3)
    .mul(y2)
    .add(Math.LN2);
  return exact.where(a.greaterEqual(CB_TAYLOR_BELOW), series);
}

/**
 * -log p(x|l) of the continuous Bernoulli, per row: the Bernoulli cross-entropy from logits minus
 * the log normaliser, sum_i softplus(l_i) - x_i l_i - log C(sigmoid(l_i)) (Loaiza-Ganem &
 * Cunningham 2019, eq. 2). A density on [0, 1]: unlike the Bernoulli cross-entropy on grey levels,
 * it is a proper likelihood of continuous data, and it can be negative.
 */
export function continuousBernoulliNll(x: Tensor2D, logits: Tensor2D): Tensor1D {
  return logits.softplus().sub(x.mul(logits)).sub(continuousBernoulliLogNormalizer(logits)).sum(1) as Tensor1D;
}

/** What reconstructionNll needs besides the data: the likelihood and, for a Gaussian, its sigma. */
export interface LikelihoodSpec {
  likelihood: TrainConfig['likelihood'];
  /** Gaussian only: a fixed sigma, or the trainable log-sigma scalar of a learned one. */
  sigma?: number | Scalar;
}

/** -log p(x|decoder output) per row for the configured likelihood (nats, summed over dimensions). */
export function reconstructionNll(spec: LikelihoodSpec, x: Tensor2D, out: Tensor2D): Tensor1D {
  switch (spec.likelihood) {
    case 'bernoulli':
      return bernoulliNllFromLogits(x, out);
    case 'continuousBernoulli':
      return continuousBernoulliNll(x, out);
    case 'gaussian': {
      const s = spec.sigma;
      if (s === undefined) throw new Error('the Gaussian likelihood needs a sigma');
      return typeof s === 'number' ? gaussianNll(x, out, s) : gaussianNllLearned(x, out, s);
    }
  }
}
