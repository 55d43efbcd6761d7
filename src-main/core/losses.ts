/**
 * Per-sample VAE loss terms on tfjs tensors. Every function takes [batch, dim] tensors and returns
 * a [batch] tensor in nats, summed over the dimensions; the caller averages over the batch.
 * The training objective is -ELBO = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I)), estimated
 * with one reparameterised sample z = mu + exp(logvar / 2) * eps (Kingma & Welling 2014, eq. 10).
 */
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

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
