/**
 * Export (issue 7): models other runtimes load, verified on export, and offline results. An export
 * is written into a temporary sibling folder and renamed into place when every file is written and
 * every check passed, so a failed or cancelled export leaves nothing behind.
 */
import { z } from 'zod';
import { command } from './define.ts';
import type { RunSummary } from './types.ts';

const Id = z.string().min(1).max(200);

export const EXPORT_FORMATS = ['tfjs', 'onnx', 'report', 'embeddings', 'grids', 'metrics', 'sampler'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One runtime check: the written model loaded by a real runtime against the studio's outputs. */
export interface ExportVerification {
  format: 'tfjs' | 'onnx';
  runtime: string;
  model: 'encoder' | 'decoder';
  /** Max |runtime - studio| over every output of the fixed inputs. */
  maxAbsDiff: number;
  tolerance: number;
  passed: boolean;
}

export interface ExportResult {
  runId: string;
  epoch: number;
  /** The folder written (absolute). */
  out: string;
  formats: ExportFormat[];
  files: { path: string; bytes: number }[];
  verifications: ExportVerification[];
  durationMs: number;
}

export const exportCommands = {
  /**
   * Writes the chosen formats of a checkpoint (default the latest) into `out` (absolute; default a
   * new folder under the data dir's exports/). `out` must not exist or be an empty folder.
   * A failed verification is an error (EXPORT_VERIFY_FAILED) and nothing is left behind.
   */
  'export.run': command(z
      .object({
        runId: Id,
        formats: z.array(z.enum(EXPORT_FORMATS)).min(1),
        out: z.string().min(1).max(4096).optional(),
        checkpointEpoch: z.number().int().min(1).optional(),
        jobId: z.string().min(1).max(100).optional(),
      })
      .strict()).returns<ExportResult>(),
  'export.cancel': command(z.object({ jobId: z.string().min(1).max(100) }).strict()).returns<{ jobId: string; cancelled: boolean }>(),
  /**
   * Opens an exported model folder (manifest.json + tfjs encoder and decoder) as a new run of the
   * history (status 'completed', one checkpoint), to explore a model trained elsewhere.
   */
  'export.importModel': command(z.object({ path: z.string().min(1).max(4096), name: z.string().max(200).optional() }).strict()).returns<RunSummary>(),
} as const;

export interface ExportEvents {
  'export.progress': { jobId: string | null; runId: string; phase: string; done: number; total: number };
}
