import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { DatasetInfo, DatasetPreview, Result } from '../../../src-main/contract/index.ts';
import { classNames } from '../../../src-main/services/datasets.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import { fakeLauncher } from '../../helpers/fake-trainer.ts';
import { idxBytes, npyBytes } from '../../helpers/dataset-files.ts';
import { tmpDir } from '../../helpers/tmp.ts';

async function withStudio(fn: (dispatch: (c: string, i: unknown) => Promise<Result<unknown>>, dataDir: string) => Promise<void>) {
  const dataDir = tmpDir();
  const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
  try {
    await fn((c, i) => studio.dispatch(c, i), dataDir);
  } finally {
    await studio.close();
  }
}

test('datasets.import refuses relative and missing paths, and empty lists, naming the field', async () => {
  await withStudio(async (dispatch) => {
    const rel = await dispatch('datasets.import', { paths: ['some/file.npy'] });
    assert.ok(!rel.ok && rel.error.code === 'INVALID_INPUT' && rel.error.field === 'paths.0', JSON.stringify(rel));
    const missing = await dispatch('datasets.import', { paths: [path.join(tmpDir(), 'nope.npy')] });
    assert.ok(!missing.ok && missing.error.code === 'NOT_FOUND' && /does not exist/.test(missing.error.message));
    const none = await dispatch('datasets.import', { paths: [] });
    assert.ok(!none.ok && none.error.code === 'INVALID_INPUT');
  });
});

test('a float .npy imports as uint8 and previews through the studio', async () => {
  await withStudio(async (dispatch, dataDir) => {
    const dir = tmpDir();
    const file = path.join(dir, 'blobs.npy');
    const data = Buffer.alloc(3 * 2 * 2 * 4);
    for (let i = 0; i < 12; i++) data.writeFloatLE(i / 11, i * 4);
    writeFileSync(file, npyBytes('<f4', [3, 2, 2], data));
    const r = await dispatch('datasets.import', { paths: [file] });
    assert.ok(r.ok, JSON.stringify(r));
    const d = (r.value as { dataset: DatasetInfo }).dataset;
    assert.deepEqual([d.name, d.kind, d.count, d.labels], ['blobs', 'imported', 3, null]);
    const p = await dispatch('datasets.preview', { id: d.id, count: 5 });
    assert.ok(p.ok);
    const samples = (p.value as DatasetPreview).samples;
    assert.equal(samples.length, 3, 'no more samples than the dataset has');
    assert.deepEqual(samples[2]!.pixels, [8, 9, 10, 11].map((i) => Math.round((i / 11) * 255)));
    assert.equal(samples[2]!.label, null);
    assert.equal(readdirSync(path.join(dataDir, 'datasets')).length, 1);
  });
});

test('two loosely named IDX files are told apart by their dimensions, in either order', async () => {
  await withStudio(async (dispatch) => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'a.idx'), idxBytes([2], Uint8Array.of(12, 3)));
    writeFileSync(path.join(dir, 'b.idx'), idxBytes([2, 1, 1], Uint8Array.of(5, 6)));
    const r = await dispatch('datasets.import', { paths: [path.join(dir, 'a.idx'), path.join(dir, 'b.idx')], name: 'x' });
    assert.ok(r.ok, JSON.stringify(r));
    const d = (r.value as { dataset: DatasetInfo }).dataset;
    assert.equal(d.count, 2);
    assert.equal(d.labels?.length, 13, 'label ids above 9: one class name per id up to the largest');
    const p = await dispatch('datasets.preview', { id: d.id, count: 2 });
    assert.ok(p.ok);
    assert.deepEqual((p.value as DatasetPreview).samples.map((s) => [s.label, s.pixels[0]]), [[12, 5], [3, 6]]);
  });
});

test('a folder without a readable dataset says what it expected, and writes nothing', async () => {
  await withStudio(async (dispatch, dataDir) => {
    const dir = tmpDir();
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    const r = await dispatch('datasets.import', { paths: [dir] });
    assert.ok(!r.ok && r.error.code === 'INVALID_INPUT' && /no image files found/.test(r.error.message) && /notes\.txt: \.txt is not an image format/.test(r.error.message), JSON.stringify(r));
    const list = await dispatch('datasets.list', {});
    assert.ok(list.ok && (list.value as DatasetInfo[]).every((d) => d.kind === 'builtin'));
    assert.deepEqual(readdirSync(dataDir).filter((f) => f === 'datasets'), []);
  });
});

test('classNames: the ten digits for labels up to 9, otherwise one per id', () => {
  assert.deepEqual(classNames(Uint8Array.of(0, 3)), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.equal(classNames(Uint8Array.of(25)).length, 26);
});

test('a CSV with a label column imports labelled; arrays resize and convert when asked', async () => {
  await withStudio(async (dispatch) => {
    const dir = tmpDir();
    const file = path.join(dir, 'tiny.csv');
    const rows = Array.from({ length: 5 }, (_, i) => [String(i % 2), ...Array.from({ length: 64 }, (_, k) => String((k * 4 + i) % 256))].join(','));
    writeFileSync(file, ['label', ...Array.from({ length: 64 }, (_, k) => `px${k}`)].join(',') + '\n' + rows.join('\n') + '\n');
    const r = await dispatch('datasets.import', { paths: [file] });
    assert.ok(r.ok, JSON.stringify(r));
    const { dataset, report } = r.value as { dataset: DatasetInfo; report: { classBalance: { label: string; count: number }[]; found: number } };
    assert.deepEqual([dataset.name, dataset.count, dataset.width, dataset.height, dataset.channels], ['tiny', 5, 8, 8, 1]);
    assert.deepEqual(report.classBalance.slice(0, 2), [{ label: '0', count: 3 }, { label: '1', count: 2 }]);
    const p = await dispatch('datasets.preview', { id: dataset.id, count: 1 });
    assert.ok(p.ok);
    assert.deepEqual((p.value as DatasetPreview).samples[0]!.pixels.slice(0, 3), [0, 4, 8]);

    const big = await dispatch('datasets.import', { paths: [file], preprocess: { size: 16, channels: 'rgb' } });
    assert.ok(big.ok, JSON.stringify(big));
    const d2 = (big.value as { dataset: DatasetInfo }).dataset;
    assert.deepEqual([d2.width, d2.height, d2.channels], [16, 16, 3]);

    writeFileSync(file, '1,2,3,4,5,6\n');
    const bad = await dispatch('datasets.import', { paths: [file] });
    assert.ok(!bad.ok && bad.error.code === 'INVALID_INPUT' && /rows have 6 values/.test(bad.error.message), JSON.stringify(bad));
  });
});
