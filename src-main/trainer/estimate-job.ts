/**
 * Job 'training.estimate' (protocol.ts 'job'; services/history.ts starts it): how long a config
 * would train on a dataset, measured on the backend it would use. The real training loop
 * (core/train.ts) runs WARMUP_STEPS steps that compile kernels and fill caches, then `steps` timed
 * steps on real batches, and stops; nothing is written and nothing is recorded.
 *
 * The time of a step is the gap between the loop's reports of two consecutive steps (StepPoint
 * timeMs, which covers reading the batch, the update and reading the loss back). A gap that spans
 * an epoch end also holds that epoch's validation pass: it is measured from such a gap when the
 * measurement crosses one, otherwise modelled as a forward pass over the validation set at a third
 * of a training step's cost per batch (a step is about one forward and two backward passes).
 */
import type { TrainConfig } from '../contract/config.ts';
import { TrainConfigSchema } from '../contract/config.ts';
import type { TrainEstimate } from '../contract/history.ts';
import type { StepPoint } from '../contract/types.ts';
import { headSource, toDataSource } from '../core/data-source.ts';
import { train } from '../core/train.ts';
import { selectBackend } from './backend.ts';
import type { Job } from './jobs.ts';
import type { DatasetSource } from './protocol.ts';

export interface EstimatePayload {
  /** A config that main has already validated (TrainConfigSchema). */
  config: TrainConfig;
  dataset: DatasetSource;
  steps: number;
}

/** Untimed steps first: the first steps of a backend compile kernels and are much slower. */
export const WARMUP_STEPS = 3;
/** Without a validation hold-out the loop's diagnostics read at most this many training samples (core/train.ts). */
const DIAGNOSTIC_SAMPLES = 2048;

/** The sizes that the loop's split gives (core/train.ts splitIndices): training and validation counts. */
export function splitSizes(count: number, config: Pick<TrainConfig, 'maxSamples' | 'validationFraction'>): { train: number; val: number } {
  const used = config.maxSamples > 0 ? Math.min(count, config.maxSamples) : count;
  const val = Math.floor(used * config.validationFraction);
  return { train: used - val, val };
}

/**
 * Extrapolates timed step gaps to an epoch and to the run. `gaps` are the measured gaps; those
 * flagged `crossesEpoch` also hold a validation pass.
 */
export function extrapolate(
  config: Pick<TrainConfig, 'batchSize' | 'epochs' | 'maxSteps'>,
  sizes: { train: number; val: number },
  gaps: { ms: number; crossesEpoch: boolean }[],
): Omit<TrainEstimate, 'backend'> {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const inside = gaps.filter((g) => !g.crossesEpoch).map((g) => g.ms);
  const across = gaps.filter((g) => g.crossesEpoch).map((g) => g.ms);
  const stepsPerEpoch = Math.ceil(sizes.train / config.batchSize);
  let msPerStep: number;
  let valMs: number;
  if (inside.length > 0) {
    msPerStep = mean(inside);
    const diagCount = sizes.val > 0 ? sizes.val : Math.min(sizes.train, DIAGNOSTIC_SAMPLES);
    valMs = across.length > 0 ? Math.max(0, mean(across) - msPerStep) : ((diagCount / config.batchSize) * msPerStep) / 3;
  } else {
    // One step per epoch: every gap holds a validation pass, which cannot be told apart.
    msPerStep = mean(across);
    valMs = 0;
  }
  const secondsPerEpoch = (stepsPerEpoch * msPerStep + valMs) / 1000;
  const secondsTotal =
    config.maxSteps > 0 ? (config.maxSteps * msPerStep + Math.ceil(config.maxSteps / stepsPerEpoch) * valMs) / 1000 : config.epochs * secondsPerEpoch;
  return {
    measuredSteps: gaps.length,
    msPerStep,
    samplesPerSec: (Math.min(config.batchSize, sizes.train) * 1000) / msPerStep,
    stepsPerEpoch,
    secondsPerEpoch,
    secondsTotal,
  };
}

export const job: Job = async (payload, ctx) => {
  const p = payload as EstimatePayload;
  const config = TrainConfigSchema.parse(p.config);
  const steps = Math.max(2, Math.floor(p.steps));
  ctx.progress('loading', 0, steps);
  const { tf, info, ort, threads } = await selectBackend(config.backend, config);
  ctx.backend(info);
  // Imported here, not at the top: main.ts is the trainer's entry (already loaded in the process
  // that runs this job), and a static import would start a trainer in whatever imports this file.
  const { loadDataset } = await import('./main.ts');
  const loaded = await loadDataset(p.dataset);
  const data = p.dataset.kind === 'file' && p.dataset.trainCount ? headSource(toDataSource(loaded), p.dataset.trainCount) : loaded;
  try {
    const sizes = splitSizes(toDataSource(data).count, config);
    if (sizes.train === 0) throw new Error('the config leaves no training samples');
    const wanted = WARMUP_STEPS + steps;
    const stepsPerEpoch = Math.ceil(sizes.train / config.batchSize);
    const points: StepPoint[] = [];
    await train({
      tf,
      ...(ort && threads ? { native: { ort, threads } } : {}),
      // Enough epochs for the measured steps, whatever the run's own budget; no early stop.
      config: { ...config, maxSteps: 0, epochs: Math.ceil(wanted / stepsPerEpoch) + 1, earlyStopping: { ...config.earlyStopping, patience: 0 } },
      data,
      checkpointDir: null,
      reportEveryMs: 0,
      onSteps: (pts) => {
        points.push(...pts);
        const timed = points.length - WARMUP_STEPS;
        if (timed > 0) ctx.progress('measuring', Math.min(timed, steps), steps);
      },
      shouldStop: () => points.length >= wanted,
    });
    if (points.length < wanted) throw new Error(`the measurement ended after ${points.length} of ${wanted} steps`);
    const gaps = [];
    for (let i = WARMUP_STEPS; i < wanted; i++) {
      gaps.push({ ms: points[i]!.timeMs - points[i - 1]!.timeMs, crossesEpoch: points[i]!.epoch !== points[i - 1]!.epoch });
    }
    const estimate: TrainEstimate = { backend: info.backend, ...extrapolate(config, sizes, gaps) };
    return estimate;
  } finally {
    data.close?.();
  }
};
