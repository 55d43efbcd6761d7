/** Deleting a dataset: count the runs that use it, and turn main's CONFLICT into an offer. */
import type { Client } from '../../lib/api/client.ts';
import { errorMessage, isClientError } from '../../lib/api/client.ts';

type Api = Pick<Client, 'call'>;

export type DeleteOutcome =
  | { status: 'deleted'; deletedRuns: string[] }
  /** Runs use the dataset: ask again with deleteRuns. */
  | { status: 'in-use'; runs: number; message: string }
  | { status: 'error'; message: string };

/** Runs recorded on this dataset (null when the history cannot be read). */
export async function runsUsing(api: Api, datasetId: string): Promise<number | null> {
  try {
    const runs = await api.call('runs.list', {});
    return runs.filter((r) => r.datasetId === datasetId).length;
  } catch {
    return null;
  }
}

export async function deleteDataset(api: Api, id: string, deleteRuns: boolean): Promise<DeleteOutcome> {
  try {
    const r = await api.call('datasets.delete', { id, deleteRuns });
    return { status: 'deleted', deletedRuns: r.deletedRuns };
  } catch (e) {
    if (isClientError(e) && e.code === 'CONFLICT' && !deleteRuns) {
      const n = await runsUsing(api, id);
      // The message is main's; the count is ours when the history answered.
      const fromMessage = /(\d+)\s+runs?/.exec(e.message);
      return { status: 'in-use', runs: n ?? (fromMessage ? Number(fromMessage[1]) : 0), message: e.message };
    }
    return { status: 'error', message: errorMessage(e) };
  }
}

export function deleteRunsLabel(runs: number): string {
  return runs === 1 ? 'Delete the dataset and its run' : `Delete the dataset and its ${runs} runs`;
}
