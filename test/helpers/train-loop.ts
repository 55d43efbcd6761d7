/** What the engine tests share: one train() call that collects its steps and epochs. */
import path from 'node:path';
import type { TrainConfig } from '../../src-main/contract/config.ts';
import type { EpochPoint, StepPoint } from '../../src-main/contract/types.ts';
import type { InMemoryImages } from '../../src-main/core/data-source.ts';
import { loadResumeState } from '../../src-main/core/resume.ts';
import type { Tf } from '../../src-main/core/tf.ts';
import { train, type TrainOptions } from '../../src-main/core/train.ts';

/** Trains `config` on `data`, reporting every step at once, and returns the status with every step and epoch. */
export async function runLoop(tf: Tf, config: TrainConfig, data: InMemoryImages, extra: Partial<TrainOptions> = {}) {
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  const status = await train({ tf, config, data, reportEveryMs: 0, onSteps: (p) => steps.push(...p), onEpoch: (e) => epochs.push(e), ...extra });
  return { status, steps, epochs };
}

/** A step or epoch point without its wall-clock fields (the ones that differ between identical runs). */
export const metrics = (p: object) => Object.fromEntries(Object.entries(p).filter(([k]) => !['samplesPerSec', 'timeMs', 'durationMs'].includes(k)));

/**
 * The interrupted twin of a run: trains `config` into a fresh checkpoint folder, stops once epoch
 * `epoch` has been reported (its checkpoint is written), then resumes from that checkpoint in a new
 * loop to the end. Returns both halves and the folder.
 */
export async function stopAndResume(tf: Tf, config: TrainConfig, data: InMemoryImages, dir: string, epoch = 2, extra: Partial<TrainOptions> = {}) {
  let stop = false;
  const first = await runLoop(tf, config, data, { ...extra, checkpointDir: dir, shouldStop: () => stop, onEpoch: (e) => (stop ||= e.epoch === epoch) });
  const resume = await loadResumeState(tf, path.join(dir, `epoch-${epoch}`));
  try {
    const second = await runLoop(tf, config, data, { ...extra, checkpointDir: dir, resume });
    return { first, second };
  } finally {
    resume.dispose();
  }
}
