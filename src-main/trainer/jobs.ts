/**
 * The background jobs a trainer process can run instead of a training (protocol.ts 'job'): each is
 * a function of its JSON payload that reports progress and resolves with a small JSON value. Main
 * starts one process per job (TrainingSupervisor.runJob), so a job owns tfjs and its memory and
 * can be cancelled by killing it. Each area registers its jobs here.
 */
import type { BackendInfo } from '../contract/types.ts';

export interface JobContext {
  progress(phase: string, done: number, total: number): void;
  /** Reports the compute backend the job selected (shown with its result). */
  backend(info: BackendInfo): void;
}

export type Job = (payload: unknown, ctx: JobContext) => Promise<unknown>;

const JOBS: Record<string, () => Promise<Job>> = {
  // Loaded on demand, so a job's dependencies never slow down a training's start.
  echo: async () => async (payload, ctx) => {
    ctx.progress('echo', 1, 1);
    return payload;
  },
  // ── jobs registered by each area (one line each: 'name': () => import('./x.ts').then((m) => m.job)) ──
  'latent.encode': () => import('./latent-job.ts').then((m) => m.encodeJob),
  'latent.project': () => import('./latent-job.ts').then((m) => m.projectJob),
  'latent.decode': () => import('./latent-job.ts').then((m) => m.decodeJob),
  'training.estimate': () => import('./estimate-job.ts').then((m) => m.job),
  'export.embeddings': () => import('./results-job.ts').then((m) => m.embeddingsJob),
  'export.grids': () => import('./results-job.ts').then((m) => m.gridsJob),
  'export.models': () => import('./export-job.ts').then((m) => m.job),
};

export async function runJob(kind: string, payload: unknown, ctx: JobContext): Promise<unknown> {
  const load = Object.prototype.hasOwnProperty.call(JOBS, kind) ? JOBS[kind] : undefined;
  if (!load) throw new Error(`unknown job "${kind}"`);
  const job = await load();
  return job(payload, ctx);
}
