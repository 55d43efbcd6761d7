/**
 * Per-step schedules of the training loop, as pure functions of the 0-based step index t (the
 * number of updates done before this one), so that a step's KL weight and learning rate depend on
 * nothing but the config and t: a resumed run recomputes them exactly.
 */
import type { KlWarmupConfig, LrScheduleConfig } from '../contract/config.ts';

const logistic = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * The KL warm-up factor w(t) in [0, 1]; the step's KL weight is beta * w(t).
 * - 'none': 1.
 * - 'linear': min(1, t / steps) (Bowman et al. 2016, section 3.1; Sonderby et al. 2016).
 * - 'sigmoid': the logistic s(t) = 1 / (1 + exp(-k (t / steps - 1/2))) rescaled to run exactly
 *   from 0 at t = 0 to 1 at t = steps: (s(t) - s(0)) / (s(steps) - s(0)); 1 afterwards.
 * - 'cyclical' (Fu et al. 2019, eq. 7): with tau = (t mod steps) / steps, w = min(1, tau / R),
 *   R = rampFraction: a linear ramp over the first R of every period, then 1.
 */
export function klWarmupFactor(cfg: KlWarmupConfig, t: number): number {
  const T = cfg.steps;
  switch (cfg.schedule) {
    case 'none':
      return 1;
    case 'linear':
      return Math.min(1, t / T);
    case 'sigmoid': {
      if (t >= T) return 1;
      const k = cfg.steepness;
      const s = (u: number) => logistic(k * (u / T - 0.5));
      const s0 = s(0);
      return (s(t) - s0) / (s(T) - s0);
    }
    case 'cyclical': {
      const tau = (t % T) / T;
      return Math.min(1, tau / cfg.rampFraction);
    }
  }
}

/**
 * The learning rate of step t in a run of `totalSteps` steps, for base rate `lr`:
 * a linear warm-up lr * (t + 1) / W over the first W = warmupSteps steps (so the first update is
 * not a no-op), then with u = t - W and U = totalSteps - W:
 * - 'constant': lr;
 * - 'step': lr * gamma^floor(u / stepSize);
 * - 'cosine' (Loshchilov & Hutter 2017, eq. 5, one period, no restart):
 *   lrMin + (lr - lrMin) * (1 + cos(pi * u / (U - 1))) / 2, lrMin = lr * minFactor, so the last
 *   step runs at exactly lrMin.
 */
export function learningRateAt(lr: number, cfg: LrScheduleConfig, t: number, totalSteps: number): number {
  const W = cfg.warmupSteps;
  if (t < W) return (lr * (t + 1)) / W;
  const u = t - W;
  switch (cfg.kind) {
    case 'constant':
      return lr;
    case 'step':
      return lr * cfg.gamma ** Math.floor(u / cfg.stepSize);
    case 'cosine': {
      const span = totalSteps - W - 1;
      // A single step after the warm-up runs at the base rate (a step at lrMin = 0 would do nothing).
      const progress = span > 0 ? Math.min(1, u / span) : 0;
      const lrMin = lr * cfg.minFactor;
      return lrMin + ((lr - lrMin) * (1 + Math.cos(Math.PI * progress))) / 2;
    }
  }
}
