import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { DatasetInfo, DatasetReport, ImportPreview, ImportProgress, Result, RunSummary, SamplePage } from '../../../src-main/contract/index.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import { fakeLauncher } from '../../helpers/fake-trainer.ts';
import { encodeImage } from '../../helpers/dataset-files.ts';
import { tmpDir } from '../../helpers/tmp.ts';

type Studio = ReturnType<typeof createStudio>;
async function value<T>(r: Promise<Result<unknown>>): Promise<T> {
  const x = await r;
  if (!x.ok) throw new Error(JSON.stringify(x.error));
  return x.value as T;
}

async function withStudio(fn: (s: Studio, dataDir: string) => Promise<void>, launcher = fakeLauncher()) {
  const dataDir = tmpDir();
  const studio = createStudio({ dataDir, mode: 'cli', launcher });
  try {
    await fn(studio, dataDir);
  } finally {
    await studio.close();
  }
}

/** `n` distinct small PNGs in `classes` label folders. */
async function pngFolder(n: number, classes = 2): Promise<string> {
  const root = path.join(tmpDir(), 'pngs');
  for (let i = 0; i < n; i++) {
    const dir = path.join(root, `class-${i % classes}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.png`), await encodeImage('png', 8, 8, i, 1));
  }
  return root;
}

test('cancelling an import mid-way fails it with CANCELLED and leaves no row, folder or temporary file', async () => {
  const root = await pngFolder(500);
  await withStudio(async (studio, dataDir) => {
    const progress: ImportProgress[] = [];
    studio.subscribe((event, payload) => {
      if (event !== 'datasets.importProgress') return;
      const p = payload as ImportProgress;
      progress.push(p);
      if (p.phase === 'decoding' && p.done >= 64) void studio.dispatch('datasets.cancelImport', { jobId: 'big' });
    });
    const r = await studio.dispatch('datasets.import', { paths: [root], jobId: 'big' });
    assert.ok(!r.ok && r.error.code === 'CANCELLED', JSON.stringify(r));
    assert.equal(progress.at(-1)!.phase, 'cancelled');
    assert.ok(progress.some((p) => p.phase === 'decoding' && p.done < p.total), 'it was cancelled part-way');
    assert.deepEqual(readdirSync(path.join(dataDir, 'datasets')), []);
    const list = await value<DatasetInfo[]>(studio.dispatch('datasets.list', {}));
    assert.ok(list.every((d) => d.kind === 'builtin'));
    // Cancelling a job that is not running says so.
    assert.deepEqual(await value(studio.dispatch('datasets.cancelImport', { jobId: 'big' })), { jobId: 'big', cancelled: false });

    // The same folder imports completely when not cancelled: 500 files, 250 per class, grey 64x64.
    const ok = await value<{ dataset: DatasetInfo; report: DatasetReport }>(studio.dispatch('datasets.import', { paths: [root] }));
    assert.deepEqual([ok.dataset.count, ok.dataset.channels, ok.dataset.width], [500, 1, 64]);
    assert.deepEqual(ok.report.classBalance, [{ label: 'class-0', count: 250 }, { label: 'class-1', count: 250 }]);
  });
});

test('previewImport: the first samples preprocessed, the labels and skipped files found by a quick scan', async () => {
  const root = await pngFolder(6, 3);
  writeFileSync(path.join(root, 'class-0', 'zzz-broken.png'), Buffer.from('not a png'));
  await withStudio(async (studio, dataDir) => {
    const p = await value<ImportPreview>(studio.dispatch('datasets.previewImport', { paths: [root], preprocess: { size: 16 }, count: 4 }));
    assert.deepEqual([p.width, p.height, p.channels, p.format, p.found, p.complete], [16, 16, 1, 'png', 7, true]);
    assert.deepEqual(p.labels, ['class-0', 'class-1', 'class-2']);
    assert.deepEqual(p.samples.map((s) => [s.source, s.label]), [['class-0/0000.png', 0], ['class-0/0003.png', 0], ['class-1/0001.png', 1], ['class-1/0004.png', 1]]);
    assert.equal(Buffer.from(p.samples[0]!.data, 'base64').length, 16 * 16);
    assert.ok(!existsSync(path.join(dataDir, 'datasets')), 'a preview writes nothing');

    const csvFile = path.join(tmpDir(), 'rows.csv');
    writeFileSync(csvFile, 'label,a,b,c,d\n1,0,0,0,0\n2,255,255,255,255\n0,1,2,3,4\n');
    const c = await value<ImportPreview>(studio.dispatch('datasets.previewImport', { paths: [csvFile], count: 2 }));
    assert.deepEqual([c.format, c.width, c.channels, c.samples.length, c.complete], ['csv', 2, 1, 2, false]);
    assert.deepEqual(c.samples.map((s) => [s.label, [...Buffer.from(s.data, 'base64')]]), [[1, [0, 0, 0, 0]], [2, [255, 255, 255, 255]]]);
  });
});

test('datasets.samples pages a builtin with a label filter (no factors when the generator has none)', async () => {
  await withStudio(async (studio) => {
    const all = await value<SamplePage>(studio.dispatch('datasets.samples', { id: 'builtin-digits', offset: 10, limit: 3 }));
    assert.deepEqual([all.total, all.samples.map((s) => s.index)], [6000, [10, 11, 12]]);
    const sevens = await value<SamplePage>(studio.dispatch('datasets.samples', { id: 'builtin-digits', label: 7, limit: 5 }));
    assert.equal(sevens.total, 600);
    assert.ok(sevens.samples.every((s) => s.label === 7 && s.factors === undefined && Buffer.from(s.data, 'base64').length === 784));
    const report = await value<DatasetReport>(studio.dispatch('datasets.report', { id: 'builtin-digits' }));
    assert.equal(report.classBalance.length, 10);
    assert.ok(report.classBalance.every((b) => b.count === 600));
  });
});

test('datasets.delete: builtins refused, runs named as CONFLICT, deleteRuns removes them, never a training run', async () => {
  let exitOnStart = false;
  const launcher = fakeLauncher((msg, t) => {
    if (exitOnStart) t.exit(1);
  });
  await withStudio(async (studio, dataDir) => {
    const root = await pngFolder(4);
    const { dataset } = await value<{ dataset: DatasetInfo }>(studio.dispatch('datasets.import', { paths: [root], preprocess: { size: 8 } }));
    const builtin = await studio.dispatch('datasets.delete', { id: 'builtin-digits' });
    assert.ok(!builtin.ok && builtin.error.code === 'CONFLICT' && /built in/.test(builtin.error.message));

    const live = await value<RunSummary>(studio.dispatch('training.start', { datasetId: dataset.id, config: {} }));
    const refused = await studio.dispatch('datasets.delete', { id: dataset.id, deleteRuns: true });
    assert.ok(!refused.ok && refused.error.code === 'CONFLICT' && refused.error.message.includes(live.id), JSON.stringify(refused));
    await value(studio.dispatch('training.stop', { runId: live.id }));
    launcher.trainers.forEach((t) => t.exit(0));
    exitOnStart = true;
    const second = await value<RunSummary>(studio.dispatch('training.start', { datasetId: dataset.id, config: {} }));
    const runs = async () => (await value<RunSummary[]>(studio.dispatch('runs.list', {}))).filter((r) => r.datasetId === dataset.id);
    for (let i = 0; i < 200 && (await runs()).some((r) => ['queued', 'running'].includes(r.status)); i++) await new Promise((r) => setTimeout(r, 10));

    const conflict = await studio.dispatch('datasets.delete', { id: dataset.id });
    assert.ok(!conflict.ok && conflict.error.code === 'CONFLICT' && /used by 2 runs/.test(conflict.error.message), JSON.stringify(conflict));
    mkdirSync(path.join(dataDir, 'checkpoints', second.id), { recursive: true });
    const done = await value<{ id: string; deletedRuns: string[] }>(studio.dispatch('datasets.delete', { id: dataset.id, deleteRuns: true }));
    assert.deepEqual(done.deletedRuns.sort(), [live.id, second.id].sort());
    assert.deepEqual(await runs(), []);
    assert.ok(!existsSync(path.join(dataDir, 'checkpoints', second.id)));
    assert.ok(!existsSync(path.join(dataDir, 'datasets', dataset.id)));
    const gone = await studio.dispatch('datasets.get', { id: dataset.id });
    assert.ok(!gone.ok && gone.error.code === 'NOT_FOUND');
  }, launcher);
});

test('at start, dataset folders without a row are swept unless a live process is still importing them', async () => {
  const dataDir = tmpDir();
  const orphan = path.join(dataDir, 'datasets', 'ds-crashed');
  const busy = path.join(dataDir, 'datasets', 'ds-busy');
  mkdirSync(orphan, { recursive: true });
  writeFileSync(path.join(orphan, 'data.u8.tmp-1234'), 'x');
  writeFileSync(path.join(orphan, '.importing'), '999999999');
  mkdirSync(busy, { recursive: true });
  writeFileSync(path.join(busy, '.importing'), String(process.ppid));
  const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
  await studio.close();
  assert.deepEqual(readdirSync(path.join(dataDir, 'datasets')), ['ds-busy']);
});

test('paths from a client: relative, missing and unreadable ones are refused by name', async () => {
  await withStudio(async (studio) => {
    const rel = await studio.dispatch('datasets.previewImport', { paths: ['x.png'] });
    assert.ok(!rel.ok && rel.error.field === 'paths.0' && /not an absolute path/.test(rel.error.message));
    const dir = tmpDir();
    const missing = await studio.dispatch('datasets.import', { paths: [dir, path.join(dir, 'nope.png')] });
    assert.ok(!missing.ok && missing.error.code === 'NOT_FOUND' && missing.error.field === 'paths.1');
    const bad = await studio.dispatch('datasets.import', { paths: [dir], preprocess: { background: 'red' } });
    assert.ok(!bad.ok && bad.error.code === 'INVALID_INPUT' && /preprocess/.test(bad.error.field ?? ''), JSON.stringify(bad));
  });
});
