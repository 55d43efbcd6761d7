/**
 * Background jobs in a real trainer process (TrainingSupervisor.runJob): a value comes back, an
 * unknown job fails with its name, and cancelling kills the process and says CANCELLED.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StudioError } from '../../src-main/contract/index.ts';
import { openStore } from '../../src-main/store/index.ts';
import { TrainingSupervisor } from '../../src-main/services/training.ts';
import { forkTrainer } from '../../src-main/trainer/fork.ts';
import { tmpDir } from '../helpers/tmp.ts';

function supervisor(): { sup: TrainingSupervisor; close: () => void } {
  const dataDir = tmpDir('jobs');
  const store = openStore({ dataDir });
  const sup = new TrainingSupervisor({ store, launcher: () => forkTrainer(), emit: () => {}, checkpointRoot: dataDir });
  return { sup, close: () => store.close() };
}

test('a job runs in a worker process and returns its value with progress', async () => {
  const { sup, close } = supervisor();
  const phases: string[] = [];
  const v = await sup.runJob<{ a: number }>('echo', { a: 42 }, { onProgress: (p) => phases.push(p) });
  assert.deepEqual(v, { a: 42 });
  assert.deepEqual(phases, ['echo']);
  close();
});

test('an unknown job fails with its name', async () => {
  const { sup, close } = supervisor();
  await assert.rejects(sup.runJob('no-such-job', {}), (e: unknown) => e instanceof StudioError && /no-such-job/.test(e.message));
  close();
});

test('aborting a job kills its process and rejects with CANCELLED', async () => {
  const { sup, close } = supervisor();
  const ac = new AbortController();
  const p = sup.runJob('echo', {}, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof StudioError && e.code === 'CANCELLED');
  close();
});
