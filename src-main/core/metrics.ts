/**
 * Latent-space diagnostics computed per epoch: KL per latent dimension, active units and the
 * posterior-collapse warning. Pure JS over per-batch statistics read from tfjs, so they can be
 * tested on numbers whose answer is known.
 */

/** Burda, Grosse & Salakhutdinov 2016 (section 5.2): unit u is active when Cov_x(E_q[z_u]) > 0.01. */
export const ACTIVE_UNIT_THRESHOLD = 0.01;

/**
 * Per-column mean and variance over rows that arrive in batches, each batch summarised by its row
 * count, column means and column sums of squared deviations (M2). Batches are merged with Chan et
 * al.'s parallel update (1979), which stays accurate where sum(x^2) - n mean^2 would cancel.
 */
export class ColumnMoments {
  readonly mean: Float64Array;
  private readonly m2: Float64Array;
  count = 0;

  constructor(readonly columns: number) {
    this.mean = new Float64Array(columns);
    this.m2 = new Float64Array(columns);
  }

  addBatch(n: number, batchMean: ArrayLike<number>, batchM2: ArrayLike<number>): void {
    if (n <= 0) return;
    const total = this.count + n;
    for (let j = 0; j < this.columns; j++) {
      const delta = batchMean[j]! - this.mean[j]!;
      this.mean[j] = this.mean[j]! + (delta * n) / total;
      this.m2[j] = this.m2[j]! + batchM2[j]! + (delta * delta * this.count * n) / total;
    }
    this.count = total;
  }

  /** Population variance per column (divided by n); zeros before any row arrived. */
  variance(): Float64Array {
    const out = new Float64Array(this.columns);
    if (this.count > 0) for (let j = 0; j < this.columns; j++) out[j] = this.m2[j]! / this.count;
    return out;
  }
}

/** Number of dimensions whose variance across data points of the posterior mean exceeds the threshold. */
export function countActiveUnits(varianceOfMeans: ArrayLike<number>, threshold = ACTIVE_UNIT_THRESHOLD): number {
  let n = 0;
  for (let j = 0; j < varianceOfMeans.length; j++) if (varianceOfMeans[j]! > threshold) n++;
  return n;
}

/**
 * The posterior-collapse warning: no active unit at all, or fewer than 10 % of the latent
 * dimensions active (the encoder ignores the data in most of the latent space).
 */
export function collapseWarning(activeUnits: number, latentDim: number): boolean {
  return activeUnits === 0 || activeUnits < 0.1 * latentDim;
}
