/**
 * Long imports as jobs: each has the client's id (or a generated one), an AbortSignal that
 * datasets.cancelImport trips, and a progress reporter throttled to about 10 Hz (phase changes and
 * the end always go out) so a 70,000-file import does not flood the IPC channel.
 */
import { randomBytes } from 'node:crypto';
import type { ImportProgress } from '../contract/index.ts';
import { StudioError } from '../contract/index.ts';

export const PROGRESS_INTERVAL_MS = 100;

export interface ImportJob {
  readonly id: string;
  readonly signal: AbortSignal;
  /** Reports progress (throttled). */
  progress(phase: ImportProgress['phase'], done: number, total: number, current?: string | null): void;
  /** Throws CANCELLED once the job was cancelled; otherwise yields to the event loop so main stays responsive. */
  checkpoint(): Promise<void>;
}

export function cancelledError(): StudioError {
  return new StudioError('CANCELLED', 'the import was cancelled; nothing was kept');
}

export function newJobId(): string {
  return `import-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export class ImportJobs {
  readonly #jobs = new Map<string, AbortController>();

  constructor(private readonly emit: (p: ImportProgress) => void) {}

  /** Runs `fn` as job `jobId`; a second job with an id in use is refused with CONFLICT. */
  async run<T>(jobId: string | undefined, fn: (job: ImportJob) => Promise<T>): Promise<T> {
    const id = jobId ?? newJobId();
    if (this.#jobs.has(id)) throw new StudioError('CONFLICT', `an import with job id "${id}" is already running`, 'jobId');
    const ctl = new AbortController();
    this.#jobs.set(id, ctl);
    let last = 0;
    let lastPhase: ImportProgress['phase'] | null = null;
    let latest: ImportProgress = { jobId: id, phase: 'scanning', done: 0, total: 0, current: null };
    const send = (p: ImportProgress) => {
      latest = p;
      last = performance.now();
      lastPhase = p.phase;
      this.emit(p);
    };
    const job: ImportJob = {
      id,
      signal: ctl.signal,
      progress: (phase, done, total, current = null) => {
        const p = { jobId: id, phase, done, total, current };
        if (phase !== lastPhase || performance.now() - last >= PROGRESS_INTERVAL_MS) send(p);
        else latest = p;
      },
      checkpoint: async () => {
        if (ctl.signal.aborted) throw cancelledError();
        await new Promise<void>((r) => setImmediate(r));
        if (ctl.signal.aborted) throw cancelledError();
      },
    };
    send(latest);
    try {
      const out = await fn(job);
      send({ ...latest, phase: 'done', done: latest.total, current: null });
      return out;
    } catch (e) {
      const cancelled = ctl.signal.aborted || (e instanceof StudioError && e.code === 'CANCELLED');
      send({ ...latest, phase: cancelled ? 'cancelled' : 'failed', current: null });
      throw cancelled ? cancelledError() : e;
    } finally {
      this.#jobs.delete(id);
    }
  }

  /** Cancels job `jobId`; false when no such job is running (already finished, or never started). */
  cancel(jobId: string): boolean {
    const ctl = this.#jobs.get(jobId);
    if (!ctl) return false;
    ctl.abort();
    return true;
  }

  cancelAll(): void {
    for (const ctl of this.#jobs.values()) ctl.abort();
  }

  active(): string[] {
    return [...this.#jobs.keys()];
  }
}
