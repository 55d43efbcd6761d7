/**
 * Image quality measures of reconstructions: mean squared error, PSNR and SSIM.
 *
 * SSIM follows Wang, Bovik, Sheikh & Simoncelli 2004 ("Image quality assessment: from error
 * visibility to structural similarity", eq. 13 with the Gaussian weighting of section III.C):
 *   SSIM(x, y) = ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
 * computed in every position of an 11x11 circular-symmetric Gaussian window (sigma 1.5) lying fully
 * inside the image ("valid" positions, no padding), with C1 = (K1 L)^2, C2 = (K2 L)^2, K1 = 0.01,
 * K2 = 0.03 and L the dynamic range of the pixel values; the image's SSIM is the mean of that map
 * over positions and channels (each channel separately). Images narrower than the window use the
 * largest odd window that fits (a 7x7 window for 8x8 images), with the same sigma.
 *
 * The local moments are biased (weights sum to 1), as in the paper; pure JS in float64.
 */

export interface SsimOptions {
  /** Side of the Gaussian window (odd). Default 11. */
  windowSize?: number;
  /** Standard deviation of the window, in pixels. Default 1.5. */
  sigma?: number;
  /** Dynamic range L of the pixel values. Default 1 (values in [0, 1]). */
  dataRange?: number;
  k1?: number;
  k2?: number;
}

/** Normalised 1-D Gaussian weights of `size` taps (the 2-D window is their outer product). */
export function gaussianWindow(size: number, sigma: number): Float64Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw new Error(`window size must be a positive odd integer, got ${size}`);
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    sum += w[i]!;
  }
  for (let i = 0; i < size; i++) w[i]! /= sum;
  return w;
}

/**
 * Mean SSIM of two images of `width` x `height` x `channels` values stored row-major HWC (the
 * layout of the datasets). Symmetric; 1 exactly when the images are equal.
 */
export function ssim(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  width: number,
  height: number,
  channels = 1,
  opts: SsimOptions = {},
): number {
  const n = width * height * channels;
  if (a.length !== n || b.length !== n) throw new Error(`images must hold ${width}x${height}x${channels} = ${n} values, got ${a.length} and ${b.length}`);
  const L = opts.dataRange ?? 1;
  const C1 = ((opts.k1 ?? 0.01) * L) ** 2;
  const C2 = ((opts.k2 ?? 0.03) * L) ** 2;
  let size = Math.min(opts.windowSize ?? 11, width, height);
  if (size % 2 === 0) size -= 1;
  const w = gaussianWindow(size, opts.sigma ?? 1.5);
  const ow = width - size + 1;
  const oh = height - size + 1;

  // Separable filtering of the five moment images: rows first (valid in x), then columns (valid in y).
  const rowPass = new Float64Array(5 * height * ow);
  const plane = height * ow;
  let total = 0;
  for (let ch = 0; ch < channels; ch++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < ow; x++) {
        let sx = 0;
        let sy = 0;
        let sxx = 0;
        let syy = 0;
        let sxy = 0;
        for (let t = 0; t < size; t++) {
          const idx = (y * width + x + t) * channels + ch;
          const va = a[idx]!;
          const vb = b[idx]!;
          const wt = w[t]!;
          sx += wt * va;
          sy += wt * vb;
          sxx += wt * va * va;
          syy += wt * vb * vb;
          sxy += wt * va * vb;
        }
        const o = y * ow + x;
        rowPass[o] = sx;
        rowPass[plane + o] = sy;
        rowPass[2 * plane + o] = sxx;
        rowPass[3 * plane + o] = syy;
        rowPass[4 * plane + o] = sxy;
      }
    }
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let mx = 0;
        let my = 0;
        let exx = 0;
        let eyy = 0;
        let exy = 0;
        for (let t = 0; t < size; t++) {
          const o = (y + t) * ow + x;
          const wt = w[t]!;
          mx += wt * rowPass[o]!;
          my += wt * rowPass[plane + o]!;
          exx += wt * rowPass[2 * plane + o]!;
          eyy += wt * rowPass[3 * plane + o]!;
          exy += wt * rowPass[4 * plane + o]!;
        }
        const vx = exx - mx * mx;
        const vy = eyy - my * my;
        const cxy = exy - mx * my;
        total += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      }
    }
  }
  return total / (ow * oh * channels);
}

/** Mean squared error of two equally long arrays. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / a.length;
}

/** Lowest MSE that PSNR distinguishes: identical images read as 100 dB for L = 1 instead of Infinity. */
export const PSNR_MSE_FLOOR = 1e-10;

/** Peak signal-to-noise ratio in dB: 10 log10(L^2 / MSE), with the MSE floored at PSNR_MSE_FLOOR * L^2. */
export function psnr(mseValue: number, dataRange = 1): number {
  const peak = dataRange * dataRange;
  return 10 * Math.log10(peak / Math.max(mseValue, PSNR_MSE_FLOOR * peak));
}
