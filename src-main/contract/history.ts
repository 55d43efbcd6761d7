/**
 * Commands of the training studio and run history (issue 5) beyond the foundation's: editing a
 * run's name, notes and tags; pausing and resuming a live trainer; a quick time-per-epoch
 * measurement for the hyperparameter summary; the per-epoch previews.
 */
import { z } from 'zod';
import { command } from './define.ts';
import type { RunSummary } from './types.ts';

const Id = z.string().min(1).max(200);

/** Row-major HWC uint8 pixels of one or more images, base64-encoded (compact over IPC and WebSocket). */
export type Base64Pixels = string;

/** What a quick measurement on the chosen backend predicts for a config on a dataset. */
export interface TrainEstimate {
  backend: string;
  /** Timed steps (after warm-up steps that compile kernels and are not counted). */
  measuredSteps: number;
  msPerStep: number;
  samplesPerSec: number;
  stepsPerEpoch: number;
  /** stepsPerEpoch * msPerStep plus the validation pass, in seconds. */
  secondsPerEpoch: number;
  /** For the whole run: epochs (or the step budget) times the above. */
  secondsTotal: number;
}

/**
 * The previews kept with one epoch's checkpoint: reconstructions of a fixed batch of validation
 * images (the same images every epoch) and decoder means for fixed prior draws z ~ N(0, I) (the same
 * z every epoch, from a fixed seed that depends only on the latent size, so runs with the same latent
 * size are compared on the same z).
 */
export interface RunPreviews {
  runId: string;
  /** The epochs that have previews, ascending (for a scrubber). */
  epochs: number[];
  /** The epoch shown (the requested one, else the latest). Null when the run has none yet. */
  epoch: number | null;
  width: number;
  height: number;
  channels: number;
  /** N originals and their N reconstructions, each N images concatenated. */
  originals: Base64Pixels;
  reconstructions: Base64Pixels;
  /** M prior samples, concatenated. */
  samples: Base64Pixels;
  count: { reconstructions: number; samples: number };
}

export const historyCommands = {
  /** Renames a run or edits its notes or tags (each field optional; tags trimmed, de-duplicated). */
  'runs.update': command(z
      .object({
        id: Id,
        name: z.string().trim().min(1).max(200).optional(),
        notes: z.string().max(20000).optional(),
        tags: z.array(z.string().trim().min(1).max(40)).max(32).optional(),
      })
      .strict()).returns<RunSummary>(),
  /** The per-epoch previews of a run (see RunPreviews). */
  'runs.previews': command(z.object({ id: Id, epoch: z.number().int().min(1).optional() }).strict()).returns<RunPreviews>(),
  /** Holds a running trainer between two steps (its process and memory stay); resume continues it. */
  'training.pause': command(z.object({ runId: Id }).strict()).returns<RunSummary>(),
  'training.resume': command(z.object({ runId: Id }).strict()).returns<RunSummary>(),
  /**
   * Times a few training steps of the config on the dataset in a short-lived trainer process on the
   * chosen backend and extrapolates to an epoch and to the run. Nothing is recorded.
   */
  'training.estimate': command(z
      .object({
        datasetId: Id,
        config: z.record(z.string(), z.unknown()).default({}),
        steps: z.number().int().min(2).max(200).default(12),
      })
      .strict()).returns<TrainEstimate>(),
} as const;

export interface HistoryEvents {
  /** A long run finished or failed: the renderer shows a notification (native in Electron). */
  'runs.finished': { runId: string; name: string; status: RunSummary['status']; error: string | null; durationMs: number | null };
}
