import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { DatasetInfo, DatasetPreview, DatasetReport } from '../../src-main/contract/index.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import { fakeLauncher } from '../helpers/fake-trainer.ts';
import { idxBytes, writeMnistFolder } from '../helpers/dataset-files.ts';
import { tmpDir } from '../helpers/tmp.ts';
import { runCli as cli } from '../helpers/cli.ts';



describe('importing an MNIST-format folder through the CLI', () => {
  const dataDir = tmpDir();
  const folder = path.join(tmpDir(), 'tiny-mnist');
  const drawn = writeMnistFolder(folder, 60, 20, 'mixed');
  let id = '';

  test('datasets import --json: one labelled dataset, train then test, with the official split', async () => {
    const r = await cli(['--data-dir', dataDir, 'datasets', 'import', folder, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { dataset: DatasetInfo; report: DatasetReport; splits: { train: number; test: number }; bytes: number; files: string[]; seconds: number };
    const out = { ...json.dataset, ...json };
    id = out.id;
    assert.equal(json.report.imported, 80);
    assert.deepEqual(json.report.split, { train: 60, test: 20 });
    assert.deepEqual(json.report.classBalance.map((b) => b.count), [8, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
    assert.equal(out.kind, 'imported');
    assert.equal(out.name, 'tiny-mnist');
    assert.deepEqual([out.count, out.width, out.height, out.channels], [80, 28, 28, 1]);
    assert.deepEqual(out.labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.deepEqual(out.splits, { train: 60, test: 20 });
    assert.equal(out.bytes, 80 * 784 + 80);
    assert.equal(out.files.length, 4);
    assert.ok(out.seconds > 0);
  });

  test('the files hold the pixels and labels in order, and the row points at them with their sha256', () => {
    const dir = path.join(dataDir, 'datasets', id);
    assert.deepEqual(readdirSync(dir).sort(), ['data.u8', 'dataset.json', 'labels.u8'], 'no temporary file is left');
    const data = readFileSync(path.join(dir, 'data.u8'));
    assert.ok(data.equals(Buffer.concat([drawn.train.pixels, drawn.test.pixels])));
    assert.deepEqual(Array.from(readFileSync(path.join(dir, 'labels.u8'))), [...drawn.train.labels, ...drawn.test.labels]);
    const meta = JSON.parse(readFileSync(path.join(dir, 'dataset.json'), 'utf8')) as { sha256: string };
    assert.equal(meta.sha256, createHash('sha256').update(data).digest('hex'));
  });

  test('datasets show and the preview read the imported samples back', async () => {
    const show = await cli(['--data-dir', dataDir, 'datasets', 'show', id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /samples:\s+80 of 28x28x1/);
    assert.match(show.stdout, /split:\s+60 train \+ 20 test/);

    const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
    try {
      const r = await studio.dispatch('datasets.preview', { id, count: 8 });
      assert.ok(r.ok, JSON.stringify(r));
      const p = r.value as DatasetPreview;
      assert.deepEqual(p.samples.map((s) => s.index), [0, 10, 20, 30, 40, 50, 60, 70]);
      for (const s of p.samples) {
        const fromTest = s.index >= 60;
        const src = fromTest ? drawn.test : drawn.train;
        const i = fromTest ? s.index - 60 : s.index;
        assert.equal(s.label, src.labels[i]);
        assert.deepEqual(s.pixels, Array.from(src.pixels.subarray(i * 784, (i + 1) * 784)));
      }
    } finally {
      await studio.close();
    }
  });

  test('trains one epoch on the imported dataset', async () => {
    const r = await cli(['--data-dir', dataDir, 'train', '--dataset', id, '--epochs', '1', '--set', 'batchSize=20', '--set', 'model.hidden=[32]', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { status: string; final: { negElbo: number } };
    assert.equal(result.status, 'completed');
    assert.ok(Number.isFinite(result.final.negElbo));
  });

  test('a truncated gzip file fails with a clear message and leaves no row and no file', async () => {
    const bad = path.join(tmpDir(), 'broken');
    writeMnistFolder(bad, 30, 10, 'all');
    const gz = readFileSync(path.join(bad, 't10k-images-idx3-ubyte.gz'));
    writeFileSync(path.join(bad, 't10k-images-idx3-ubyte.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
    const before = readdirSync(path.join(dataDir, 'datasets'));
    const r = await cli(['--data-dir', dataDir, 'datasets', 'import', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /t10k-images-idx3-ubyte\.gz: the gzip stream ends early: the file is truncated/);
    assert.deepEqual(readdirSync(path.join(dataDir, 'datasets')), before);
    const ls = await cli(['--data-dir', dataDir, 'datasets', 'ls', '--json']);
    assert.deepEqual((JSON.parse(ls.stdout) as DatasetInfo[]).filter((d) => d.kind === 'imported').map((d) => d.id), [id]);
  });

  test('labels whose count differs from the images fail before anything is written', async () => {
    const bad = path.join(tmpDir(), 'mismatch');
    writeMnistFolder(bad, 30, 10, 'none');
    writeFileSync(path.join(bad, 'train-labels-idx1-ubyte'), idxBytes([29], new Uint8Array(29)));
    const r = await cli(['--data-dir', dataDir, 'datasets', 'import', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /train-labels-idx1-ubyte: holds 29 labels for 30 images/);
    assert.equal(readdirSync(path.join(dataDir, 'datasets')).length, 1);
  });

  test('a gzipped images file given alone imports without labels or split', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'faces.idx.gz');
    writeFileSync(file, gzipSync(idxBytes([4, 3, 2], new Uint8Array(24).fill(9))));
    const r = await cli(['--data-dir', dataDir, 'datasets', 'import', file, '--name', 'faces', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { dataset: DatasetInfo; splits: unknown };
    const out = { ...json.dataset, splits: json.splits };
    assert.deepEqual([out.name, out.count, out.height, out.width, out.labels, out.splits], ['faces', 4, 3, 2, null, null]);
    assert.ok(!existsSync(path.join(dataDir, 'datasets', out.id, 'labels.u8')));
  });
});
