/**
 * The typed IPC contract: every command the renderer (or the CLI, or a web client) can send to main,
 * with its zod input schema and its output type, and every event main pushes. Handlers are typed
 * from this map, so a command without a handler fails the typecheck.
 */
import { z } from 'zod';
import { TrainConfigSchema } from './config.ts';
import { command } from './define.ts';
import { PreprocessSchema } from './datasets.ts';
import { historyCommands, type HistoryEvents } from './history.ts';
import { latentCommands, type LatentEvents } from './latent.ts';
import { exportCommands, type ExportEvents } from './export.ts';
import type { DatasetReport, ImportPreview, ImportProgress, SamplePage } from './datasets.ts';
import type { DoctorReport } from './system.ts';
import type { COMMAND_NAMES as COMMAND_NAME_LIST, EVENT_NAMES as EVENT_NAME_LIST } from './names.ts';
import type {
  AppInfo,
  CheckpointInfo,
  DatasetInfo,
  DatasetPreview,
  EpochPoint,
  EvalProgress,
  EvalResult,
  RunMetrics,
  RunStatus,
  RunSummary,
  StepPoint,
  BackendInfo,
} from './types.ts';

export type { CommandDef } from './define.ts';

const Empty = z.object({}).strict();
const Id = z.string().min(1).max(200);

export const RunConfigInputSchema = TrainConfigSchema.partial().passthrough();

export const commands = {
  'app.info': command(Empty).returns<AppInfo>(),

  'datasets.list': command(Empty).returns<DatasetInfo[]>(),
  'datasets.get': command(z.object({ id: Id }).strict()).returns<DatasetInfo>(),
  'datasets.preview': command(
    z.object({ id: Id, count: z.number().int().min(1).max(256).default(32) }).strict(),
  ).returns<DatasetPreview>(),

  /**
   * Imports files as a new dataset: folders (recursive; subfolder names become labels), zips, image
   * files, MNIST-format IDX files (gzipped or not), NPY arrays, CSV. Paths are absolute and checked by
   * main. `jobId` (chosen by the client) names the import in progress events and in cancelImport.
   */
  'datasets.import': command(
    z
      .object({
        paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
        name: z.string().max(200).optional(),
        preprocess: PreprocessSchema.prefault({}),
        jobId: z.string().min(1).max(100).optional(),
      })
      .strict(),
  ).returns<{ dataset: DatasetInfo; report: DatasetReport }>(),
  /** A quick look before importing: the first samples after preprocessing, and what a short scan found. */
  'datasets.previewImport': command(
    z
      .object({
        paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
        preprocess: PreprocessSchema.prefault({}),
        count: z.number().int().min(1).max(64).default(16),
      })
      .strict(),
  ).returns<ImportPreview>(),
  /** Cancels an import in progress; it ends with CANCELLED and leaves nothing behind. */
  'datasets.cancelImport': command(z.object({ jobId: z.string().min(1).max(100) }).strict()).returns<{ jobId: string; cancelled: boolean }>(),
  'datasets.report': command(z.object({ id: Id }).strict()).returns<DatasetReport>(),
  /** One page of samples (optionally of one label) for the dataset browser. */
  'datasets.samples': command(
    z
      .object({
        id: Id,
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(1000).default(200),
        label: z.number().int().min(0).max(65535).optional(),
      })
      .strict(),
  ).returns<SamplePage>(),
  /** Deletes an imported dataset and its files. Runs that used it: CONFLICT unless deleteRuns. */
  'datasets.delete': command(z.object({ id: Id, deleteRuns: z.boolean().default(false) }).strict()).returns<{
    id: string;
    deletedRuns: string[];
  }>(),

  /** Probes every compute backend (each in its own process) and says which loads here and why not. */
  'system.doctor': command(Empty).returns<DoctorReport>(),

  'runs.list': command(Empty).returns<RunSummary[]>(),
  'runs.get': command(z.object({ id: Id }).strict()).returns<RunSummary>(),
  /**
   * A run's step metrics downsampled to about `maxPoints`, and its epochs. With `fromStep` and/or
   * `toStep` (inclusive, 1-based) only that range is read and downsampled, keeping its first and
   * last stored steps, and the answer's `range` says which steps it covers; its `epochs` are then
   * those ending in the range (a zoomed chart asks for its range at one point per pixel column,
   * whatever the run's length, and already holds the run's epochs).
   */
  'runs.metrics': command(
    z
      .object({
        id: Id,
        maxPoints: z.number().int().min(10).max(100000).default(2000),
        fromStep: z.number().int().min(1).optional(),
        toStep: z.number().int().min(1).optional(),
      })
      .strict(),
  ).returns<RunMetrics>(),
  'runs.checkpoints': command(z.object({ id: Id }).strict()).returns<CheckpointInfo[]>(),
  'runs.delete': command(z.object({ id: Id }).strict()).returns<{ id: string }>(),
  /**
   * Continues a stopped, interrupted or failed run from its latest checkpoint in a new trainer
   * process: same run id, step numbering continued, metrics recorded after that checkpoint replaced.
   */
  'runs.resume': command(z.object({ id: Id }).strict()).returns<RunSummary>(),
  /**
   * Evaluates a checkpoint (default: the latest) on a split (default: the dataset's official test
   * split where it has one, else the run's validation hold-out): -ELBO, bits/dim, IWAE NLL, MSE,
   * PSNR, SSIM. Progress arrives as runs.evalProgress; the result is also kept in the run's folder.
   */
  'runs.eval': command(
    z
      .object({
        id: Id,
        split: z.enum(['validation', 'test']).optional(),
        /** Importance samples per image (0 skips the IWAE bound). */
        iwaeK: z.number().int().min(0).max(5000).default(100),
        /** The IWAE bound uses the first this-many images of the split (it costs k decoder passes each). */
        iwaeSamples: z.number().int().min(1).max(1_000_000).default(500),
        /** Evaluate at most this many images of the split (0 = all). */
        maxSamples: z.number().int().min(0).default(0),
        checkpointEpoch: z.number().int().min(1).optional(),
        seed: z.number().int().min(0).max(2147483647).default(0),
      })
      .strict(),
  ).returns<EvalResult>(),
  /** The evaluations kept for a run, oldest first. */
  'runs.evals': command(z.object({ id: Id }).strict()).returns<EvalResult[]>(),

  /** Validates the config (the unknown keys are refused with their path) and starts a trainer. */
  'training.start': command(
    z
      .object({
        datasetId: Id,
        name: z.string().max(200).optional(),
        config: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
  ).returns<RunSummary>(),
  'training.stop': command(z.object({ runId: Id }).strict()).returns<RunSummary>(),
  'training.active': command(Empty).returns<string[]>(),

  // Each area's commands live in its own file (history.ts: issue 5, latent.ts: 6, export.ts: 7).
  ...historyCommands,
  ...latentCommands,
  ...exportCommands,
} as const;

export type Commands = typeof commands;
export type CommandName = keyof Commands;
export type CommandInput<K extends CommandName> = z.input<Commands[K]['input']>;
export type CommandParsed<K extends CommandName> = z.output<Commands[K]['input']>;
export type CommandOutput<K extends CommandName> = NonNullable<Commands[K]['output']>;

export { COMMAND_NAMES, EVENT_NAMES } from './names.ts';

// The name lists in names.ts must equal the keys here, both ways (a compile error otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const commandNamesMatch: Same<(typeof COMMAND_NAME_LIST)[number], CommandName> = true;
const eventNamesMatch: Same<(typeof EVENT_NAME_LIST)[number], EventName> = true;
void commandNamesMatch;
void eventNamesMatch;

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(commands, name);
}

/** Events main pushes to every connected client. */
export interface Events extends HistoryEvents, LatentEvents, ExportEvents {
  /** New training steps, batched by main at about 10 Hz. */
  'training.progress': { runId: string; points: StepPoint[] };
  'training.epoch': { runId: string; point: EpochPoint };
  /**
   * `paused` is set when a running run is paused or resumed (training.pause / training.resume);
   * `held` once more when its trainer confirms that it holds between two steps.
   */
  'training.status': { runId: string; status: RunStatus; error: string | null; backend?: BackendInfo; paused?: boolean; held?: boolean };
  'runs.changed': { runId: string | null };
  'runs.evalProgress': EvalProgress;
  'datasets.importProgress': ImportProgress;
  'datasets.changed': { datasetId: string | null };
  /**
   * Asks the window to open a page on an item: electron main sends it when a native notification of
   * a finished run is clicked (electron/notify.ts). The studio itself never emits it.
   */
  'app.open': { page: 'runs'; id: string };
}
export type EventName = keyof Events;

