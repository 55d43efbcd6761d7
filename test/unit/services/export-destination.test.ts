/**
 * Where export.run may write: never into the studio's data folder (its runs, datasets and history,
 * which the studio deletes and rewrites), even through a symlink; under its exports/ folder and
 * anywhere outside it, yes. A scripted trainer ends the run; the 'metrics' format needs no worker.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Result } from '../../../src-main/contract/index.ts';
import type { ExportResult } from '../../../src-main/contract/export.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import { tmpDir } from '../../helpers/tmp.ts';
import { until } from '../../helpers/fake-trainer.ts';
import { finishedRun, scriptedJobs } from '../../helpers/finished-run.ts';

test('export.run refuses a folder inside the data folder (also through a symlink) and leaves nothing there; exports/ and outside are fine', async () => {
  const dataDir = tmpDir();
  const launcher = scriptedJobs(() => assert.fail('no worker job is expected'));
  const studio = createStudio({ dataDir, mode: 'cli', launcher });
  try {
    const run = await finishedRun(studio, dataDir, launcher.trainers);
    const before = fs.readdirSync(path.join(dataDir, 'checkpoints', run.id)).sort();
    const outside = tmpDir();
    const link = path.join(outside, 'link-to-data');
    fs.symlinkSync(dataDir, link);
    const refused = [
      path.join(dataDir, 'checkpoints', run.id, 'epoch-2'),
      path.join(dataDir, 'datasets', 'mine'),
      path.join(dataDir, 'exports'),
      path.join(link, 'checkpoints', run.id, 'new'),
    ];
    for (const out of refused) {
      const r = (await studio.dispatch('export.run', { runId: run.id, formats: ['metrics'], out })) as Result<ExportResult>;
      assert.ok(!r.ok, `${out} should be refused: ${JSON.stringify(r)}`);
      assert.equal(r.error.code, 'INVALID_INPUT');
      assert.equal(r.error.field, 'out');
      assert.match(r.error.message, /data folder/);
      assert.equal(fs.existsSync(out), false, `${out} was not created`);
    }
    assert.deepEqual(fs.readdirSync(path.join(dataDir, 'checkpoints', run.id)).sort(), before, "nothing was added to the run's folder");
    assert.equal(fs.existsSync(path.join(dataDir, 'datasets', 'mine')), false);

    for (const out of [path.join(dataDir, 'exports', 'chosen'), path.join(outside, 'export')]) {
      const r = (await studio.dispatch('export.run', { runId: run.id, formats: ['metrics'], out })) as Result<ExportResult>;
      assert.ok(r.ok, JSON.stringify(r));
      assert.ok(fs.existsSync(path.join(out, 'metrics', 'metrics-epochs.csv')));
    }
  } finally {
    await studio.close();
  }
});

test('closing the studio during an export cancels it and removes its temporary folder before close() resolves', async () => {
  const dataDir = tmpDir();
  // The model job never answers: the export is mid-way when the studio closes.
  const launcher = scriptedJobs(() => {});
  const studio = createStudio({ dataDir, mode: 'cli', launcher });
  const run = await finishedRun(studio, dataDir, launcher.trainers);
  const parent = tmpDir();
  const out = path.join(parent, 'export');
  const pending = studio.dispatch('export.run', { runId: run.id, formats: ['tfjs', 'metrics'], out });
  await until(() => launcher.trainers.length === 2, 5000, 'the export job to start');
  assert.equal(fs.readdirSync(parent).length, 1, 'the temporary folder exists while the job runs');
  await studio.close();
  assert.deepEqual(fs.readdirSync(parent), [], 'nothing is left in the chosen folder');
  assert.ok(launcher.trainers[1]!.killed, "the job's worker was killed");
  const r = (await pending) as Result<ExportResult>;
  assert.ok(!r.ok);
  assert.equal(r.error.code, 'CANCELLED');
});

test('two exports started at once with the same jobId: one runs, the other is a CONFLICT on jobId', async () => {
  const dataDir = tmpDir();
  const launcher = scriptedJobs(() => assert.fail('no worker job is expected'));
  const studio = createStudio({ dataDir, mode: 'cli', launcher });
  try {
    const run = await finishedRun(studio, dataDir, launcher.trainers);
    const parent = tmpDir();
    const [a, b] = (await Promise.all(
      ['a', 'b'].map((n) => studio.dispatch('export.run', { runId: run.id, formats: ['metrics'], out: path.join(parent, n), jobId: 'same-id' })),
    )) as Result<ExportResult>[];
    const failed = [a!, b!].filter((r) => !r.ok);
    assert.equal(failed.length, 1, JSON.stringify([a, b]));
    assert.ok(!failed[0]!.ok);
    assert.equal(failed[0]!.error.code, 'CONFLICT');
    assert.equal(failed[0]!.error.field, 'jobId');
    assert.equal(fs.readdirSync(parent).length, 1, 'only the export that ran left a folder');
  } finally {
    await studio.close();
  }
});
