/** Pure helpers over run summaries. */
import { ACTIVE_STATUSES } from '../../../src-main/contract/index.ts';
import type { RunSummary } from '../../../src-main/contract/index.ts';

/** Newest first: by creation time, then id (ids carry a timestamp) for runs created the same ms. */
export function sortRuns(runs: readonly RunSummary[]): RunSummary[] {
  return [...runs].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** Wall time a run took (or has taken so far). */
export function runDuration(run: RunSummary, now: number): number | null {
  if (run.startedAt === null) return null;
  const end = run.finishedAt ?? (ACTIVE_STATUSES.includes(run.status) ? now : null);
  return end === null ? null : end - run.startedAt;
}
