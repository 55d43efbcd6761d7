/** Resume support in the store: dropping what a run recorded after the checkpoint it resumes from. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG } from '../../../src-main/contract/index.ts';
import { BUILTIN_DATASETS } from '../../../src-main/core/sample-data.ts';
import { openStore } from '../../../src-main/store/index.ts';
import { epochPoint, step } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

test('truncateAfter drops the steps and epochs past a checkpoint, removeAfter its later checkpoint rows; other runs are untouched', () => {
  const store = openStore({ dataDir: tmpDir() });
  try {
    store.datasets.upsert(BUILTIN_DATASETS[0]!);
    const datasetId = BUILTIN_DATASETS[0]!.id;
    for (const id of ['r1', 'r2']) {
      store.runs.create({ id, name: id, datasetId, config: DEFAULT_CONFIG, appVersion: '0', ownerPid: 1 });
      store.metrics.appendSteps(id, Array.from({ length: 25 }, (_, i) => step(i + 1, Math.floor(i / 10) + 1)));
      for (const e of [1, 2]) store.metrics.appendEpoch(id, epochPoint(e, e * 10));
      for (const e of [1, 2]) store.checkpoints.add({ runId: id, epoch: e, step: e * 10, path: `/c/${id}/epoch-${e}`, bytes: 1, createdAt: 0 });
    }
    assert.deepEqual(store.metrics.truncateAfter('r1', 10, 1), { steps: 15, epochs: 1 });
    assert.equal(store.checkpoints.removeAfter('r1', 1), 1);
    assert.equal(store.metrics.steps('r1', 1000).total, 10);
    assert.equal(store.metrics.steps('r1', 1000).points.at(-1)!.step, 10);
    assert.deepEqual(store.metrics.epochs('r1').map((e) => e.epoch), [1]);
    assert.deepEqual(store.checkpoints.list('r1').map((c) => c.epoch), [1]);
    assert.equal(store.runs.get('r1')!.epochsDone, 1);
    assert.equal(store.metrics.steps('r2', 1000).total, 25);
    assert.equal(store.checkpoints.list('r2').length, 2);
    // From scratch (no checkpoint): everything goes.
    assert.deepEqual(store.metrics.truncateAfter('r2', 0, 0), { steps: 25, epochs: 2 });
    assert.equal(store.checkpoints.removeAfter('r2', 0), 2);
  } finally {
    store.close();
  }
});
