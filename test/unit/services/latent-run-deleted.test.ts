/**
 * The latent service when the run is deleted while one of its jobs runs (a scripted trainer
 * stands in for the worker): the job's output under the run's folder must not outlive the run,
 * and the request says that the run is gone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createStudio } from '../../../src-main/services/studio.ts';
import type { Studio } from '../../../src-main/services/studio-api.ts';
import { finishedRun, scriptedJobs } from '../../helpers/finished-run.ts';
import { tmpDir } from '../../helpers/tmp.ts';

test('latent.encode: a run deleted while its encoding job runs leaves no folder behind and the request fails NOT_FOUND', async () => {
  const dataDir = tmpDir();
  let studio: Studio | null = null;
  const launcher = scriptedJobs((msg, t) => {
    void (async () => {
      // The run is deleted while the job works; the job then writes its encoding as usual.
      const del = await studio!.dispatch('runs.delete', { id: (msg.payload as { runId: string }).runId });
      assert.ok(del.ok, JSON.stringify(del));
      const out = (msg.payload as { outDir: string }).outDir;
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, 'meta.json'), '{}');
      t.emit({ type: 'jobResult', value: { durationMs: 1 } });
      t.exit(0);
    })();
  });
  studio = createStudio({ dataDir, mode: 'cli', launcher });
  try {
    const run = await finishedRun(studio, dataDir, launcher.trainers);
    const r = await studio.dispatch('latent.encode', { runId: run.id, split: 'all', maxSamples: 100 });
    assert.ok(!r.ok, JSON.stringify(r));
    assert.equal(r.error.code, 'NOT_FOUND');
    assert.equal(r.error.field, 'runId');
    assert.match(r.error.message, /deleted/);
    assert.equal(fs.existsSync(path.join(dataDir, 'checkpoints', run.id)), false, "the run's folder is gone");
  } finally {
    await studio.close();
  }
});
