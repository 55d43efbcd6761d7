/**
 * The typed IPC contract: every command the renderer (or the CLI, or a web client) can send to main,
 * with its zod input schema and its output type, and every event main pushes. Handlers are typed
 * from this map, so a command without a handler fails the typecheck.
 */
import { z } from 'zod';
import { TrainConfigSchema } from './config.ts';
import type { COMMAND_NAMES as COMMAND_NAME_LIST, EVENT_NAMES as EVENT_NAME_LIST } from './names.ts';
import type {
  AppInfo,
  CheckpointInfo,
  DatasetInfo,
  DatasetPreview,
  EpochPoint,
  RunMetrics,
  RunStatus,
  RunSummary,
  StepPoint,
  BackendInfo,
} from './types.ts';

export interface CommandDef<I extends z.ZodType, O> {
  input: I;
  /** Phantom: carries the output type only. */
  readonly output?: O;
}

function command<I extends z.ZodType>(input: I) {
  return { returns: <O>(): CommandDef<I, O> => ({ input }) };
}

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
   * Imports files as a new dataset: a folder in the MNIST layout (train/t10k IDX files, gzipped or
   * not), IDX images (+ labels) files, or one .npy. Paths are absolute (main checks them).
   */
  'datasets.import': command(
    z
      .object({
        paths: z.array(z.string().min(1).max(4096)).min(1).max(1000),
        name: z.string().max(200).optional(),
      })
      .strict(),
  ).returns<DatasetInfo>(),

  'runs.list': command(Empty).returns<RunSummary[]>(),
  'runs.get': command(z.object({ id: Id }).strict()).returns<RunSummary>(),
  'runs.metrics': command(
    z.object({ id: Id, maxPoints: z.number().int().min(10).max(100000).default(2000) }).strict(),
  ).returns<RunMetrics>(),
  'runs.checkpoints': command(z.object({ id: Id }).strict()).returns<CheckpointInfo[]>(),
  'runs.delete': command(z.object({ id: Id }).strict()).returns<{ id: string }>(),

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
export interface Events {
  /** New training steps, batched by main at about 10 Hz. */
  'training.progress': { runId: string; points: StepPoint[] };
  'training.epoch': { runId: string; point: EpochPoint };
  'training.status': { runId: string; status: RunStatus; error: string | null; backend?: BackendInfo };
  'runs.changed': { runId: string | null };
}
export type EventName = keyof Events;

