import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { DatasetInfo, DatasetReport, Result, SamplePage } from '../../src-main/contract/index.ts';
import { createStudio } from '../../src-main/services/studio.ts';
import { fakeLauncher } from '../helpers/fake-trainer.ts';
import { bmpBytes, encodeImage, pattern, zipBytes } from '../helpers/dataset-files.ts';
import { tmpDir } from '../helpers/tmp.ts';
import { runCli as cli } from '../helpers/cli.ts';

const LONG = `${'long-name-'.repeat(21)}end.png`; // 213 characters
const UNICODE = 'ünïcødé-猫.png';

/** A messy folder: labelled subfolders, nested folders, every format, and every kind of bad file. */
async function writeMessyFolder(root: string): Promise<void> {
  const put = (rel: string, bytes: Buffer) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), bytes);
  };
  const a = await encodeImage('png', 20, 16, 1);
  put('cats/a.png', a);
  put('cats/b.jpg', await encodeImage('jpeg', 24, 24, 2));
  put('cats/sub/deep.webp', await encodeImage('webp', 16, 16, 3));
  put(`cats/${UNICODE}`, await encodeImage('png', 8, 8, 4, 1));
  put('dogs/c.gif', await encodeImage('gif', 12, 12, 5));
  put('dogs/d.tiff', await encodeImage('tiff', 10, 30, 6));
  put('dogs/e.bmp', bmpBytes(6, 5, pattern(6, 5, 7, 4), 24));
  const few = pattern(5, 3, 0, 4).map((v, i) => (i % 4 === 3 ? 255 : v > 127 ? 255 : 0));
  put('dogs/f-8bit.bmp', bmpBytes(5, 3, few, 8));
  put('dogs/g-4bit.bmp', bmpBytes(5, 3, few.map((v, i) => (i % 4 === 1 ? 0 : v)), 4));
  put('dogs/h-1bit.bmp', bmpBytes(5, 3, few.map((v, i) => (i % 4 === 3 ? 255 : (few[i - (i % 4)]!))), 1));
  put('dogs/i-32bit.bmp', bmpBytes(4, 4, pattern(4, 4, 9, 4), 32));
  put(`dogs/${LONG}`, await encodeImage('png', 9, 9, 10));
  put('dogs/copy-of-a.png', a);
  put('dogs/rle.bmp', bmpBytes(4, 4, pattern(4, 4, 11, 4), 8, { compression: 1 }));
  put('root.png', await encodeImage('png', 7, 7, 12));
  const good = await encodeImage('png', 16, 16, 13);
  put('bad/truncated.png', good.subarray(0, Math.floor(good.length / 2)));
  put('bad/random.jpg', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 255)));
  put('bad/empty.png', Buffer.alloc(0));
  mkdirSync(path.join(root, 'bad/dir.png'));
  symlinkSync('loop.png', path.join(root, 'bad/loop.png'));
  put('notes.txt', Buffer.from('hello'));
  put('.DS_Store', Buffer.from('junk'));
}

type Dispatch = (c: string, i: unknown) => Promise<Result<unknown>>;
async function value<T>(r: Promise<Result<unknown>>): Promise<T> {
  const x = await r;
  if (!x.ok) throw new Error(JSON.stringify(x.error));
  return x.value as T;
}

describe('importing a messy image folder', () => {
  const dataDir = tmpDir();
  const root = path.join(tmpDir(), 'messy');
  let studio: ReturnType<typeof createStudio>;
  let dispatch: Dispatch;
  let result: { dataset: DatasetInfo; report: DatasetReport };
  const events: { event: string; payload: unknown }[] = [];

  before(async () => {
    await writeMessyFolder(root);
    studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
    studio.subscribe((event, payload) => events.push({ event, payload }));
    dispatch = (c, i) => studio.dispatch(c, i);
    result = await value(dispatch('datasets.import', { paths: [root], preprocess: { size: 16 }, jobId: 'job-1' }));
  });

  test('imports exactly the good images, labelled by their first folder', () => {
    const d = result.dataset;
    assert.deepEqual([d.name, d.kind, d.count, d.width, d.height, d.channels], ['messy', 'imported', 13, 16, 16, 3]);
    assert.deepEqual(d.labels, ['(unlabelled)', 'cats', 'dogs']);
    assert.deepEqual(result.report.classBalance, [
      { label: '(unlabelled)', count: 1 },
      { label: 'cats', count: 4 },
      { label: 'dogs', count: 8 },
    ]);
  });

  test('reports every skipped file with its reason', () => {
    const r = result.report;
    const skipped = Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]));
    assert.deepEqual(skipped, {
      'bad/dir.png': 'unreadable',
      'bad/empty.png': 'empty',
      'bad/loop.png': 'unreadable',
      'bad/random.jpg': 'corrupt',
      'bad/truncated.png': 'corrupt',
      'dogs/copy-of-a.png': 'duplicate',
      'dogs/rle.bmp': 'unsupported',
      'notes.txt': 'unsupported',
    });
    const detail = (p: string) => r.skipped.find((s) => s.path === p)!.detail;
    assert.match(detail('bad/loop.png'), /ELOOP/);
    assert.match(detail('bad/dir.png'), /EISDIR/);
    assert.match(detail('bad/truncated.png'), /truncated PNG/);
    assert.match(detail('dogs/rle.bmp'), /RLE8/);
    assert.match(detail('dogs/copy-of-a.png'), /same bytes as cats\/a\.png/);
    assert.deepEqual(r.duplicates, [['cats/a.png', 'dogs/copy-of-a.png']]);
    assert.equal(r.found, 21);
    assert.equal(r.imported, 13);
    assert.equal(r.sizeHistogram.reduce((s, b) => s + b.count, 0), 13);
    assert.deepEqual(r.sizeHistogram.find((b) => b.label === '20x16'), { label: '20x16', count: 1 });
    assert.deepEqual(r.aspectHistogram.find((b) => b.label.startsWith('< 1:2')), { label: '< 1:2', count: 1 }, 'the 10x30 TIFF');
    assert.equal(Buffer.from(r.meanImage.data, 'base64').length, 16 * 16 * 3);
    assert.deepEqual(r.preprocess, { size: 16, resize: 'pad', channels: 'auto', background: '#000000', valueRange: '0..1' });
  });

  test('stores the files, the report, and nothing else', async () => {
    const dir = path.join(dataDir, 'datasets', result.dataset.id);
    assert.deepEqual(readdirSync(dir).sort(), ['data.u8', 'dataset.json', 'labels.u8']);
    assert.equal(readFileSync(path.join(dir, 'data.u8')).length, 13 * 16 * 16 * 3);
    assert.deepEqual(await value(dispatch('datasets.report', { id: result.dataset.id })), result.report);
  });

  // Samples are stored in scan order: cats/a.png, cats/b.jpg, cats/sub/deep.webp, cats/ü..., dogs/..., root.png.
  test('the samples of a label, paged', async () => {
    const page = await value<SamplePage>(dispatch('datasets.samples', { id: result.dataset.id, label: 1, offset: 1, limit: 2 }));
    assert.equal(page.total, 4);
    assert.deepEqual(page.samples.map((s) => [s.index, s.label]), [[1, 1], [2, 1]]);
    assert.equal(Buffer.from(page.samples[0]!.data, 'base64').length, 16 * 16 * 3);
  });

  test('progress events carry the job id and end with done; datasets.changed follows', () => {
    const progress = events.filter((e) => e.event === 'datasets.importProgress').map((e) => e.payload as { jobId: string; phase: string });
    assert.ok(progress.every((p) => p.jobId === 'job-1'));
    assert.equal(progress.at(-1)!.phase, 'done');
    assert.ok(events.some((e) => e.event === 'datasets.changed' && (e.payload as { datasetId: string }).datasetId === result.dataset.id));
  });

  test('the original files are unchanged', () => {
    assert.ok(existsSync(path.join(root, 'bad/truncated.png')));
  });
});

describe('zips, several paths at once, and exact pixels', () => {
  test('a zip: one top folder stripped, labels from the next level, unsafe and symlink entries skipped', async () => {
    const dataDir = tmpDir();
    const zip = path.join(tmpDir(), 'pets.zip');
    const a = await encodeImage('png', 8, 8, 1);
    writeFileSync(
      zip,
      zipBytes([
        { name: 'pets/' },
        { name: 'pets/cats/a.png', data: a },
        { name: 'pets/cats/b.png', data: await encodeImage('png', 8, 8, 2) },
        { name: 'pets/dogs/c.jpg', data: await encodeImage('jpeg', 8, 8, 3) },
        { name: 'pets/dogs/same-as-a.png', data: a },
        { name: 'pets/dogs/readme.md', data: Buffer.from('hi') },
        { name: '../evil.png', data: a },
        { name: '/abs.png', data: a },
        { name: 'pets/cats/link.png', data: Buffer.from('/etc/passwd'), symlink: true },
        { name: '__MACOSX/pets/._a.png', data: Buffer.from('junk') },
      ]),
    );
    const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
    try {
      const r = await value<{ dataset: DatasetInfo; report: DatasetReport }>(studio.dispatch('datasets.import', { paths: [zip], preprocess: { size: 8 } }));
      assert.deepEqual([r.dataset.name, r.dataset.count, r.dataset.labels], ['pets', 3, ['cats', 'dogs']]);
      assert.deepEqual(
        r.report.skipped.map((x) => [x.path, x.reason]).sort(),
        [
          ['../evil.png', 'unreadable'],
          ['/abs.png', 'unreadable'],
          ['pets/cats/link.png', 'unsupported'],
          ['pets/dogs/readme.md', 'unsupported'],
          ['pets/dogs/same-as-a.png', 'duplicate'],
        ],
      );
      assert.match(r.report.skipped.find((x) => x.path === '../evil.png')!.detail, /outside the archive/);
      assert.match(r.report.skipped.find((x) => x.path === 'pets/cats/link.png')!.detail, /symbolic link/);
      assert.ok(!existsSync(path.join(path.dirname(zip), '..', 'evil.png')), 'nothing is ever extracted');
    } finally {
      await studio.close();
    }
  });

  test('a zip expanding beyond the bound is refused as a whole', async () => {
    const { importDataset } = await import('../../src-main/services/datasets.ts');
    const { openStore } = await import('../../src-main/store/index.ts');
    const dataDir = tmpDir();
    const store = openStore({ dataDir });
    const zip = path.join(tmpDir(), 'big.zip');
    writeFileSync(zip, zipBytes([{ name: 'a.png', data: await encodeImage('png', 64, 64, 1) }, { name: 'b.png', data: await encodeImage('png', 64, 64, 2) }]));
    try {
      await assert.rejects(importDataset(store, dataDir, [zip], { maxZipBytes: 200 }), /expands to more than/);
      assert.deepEqual(store.datasets.list().filter((d) => d.kind === 'imported'), []);
      assert.ok(!existsSync(path.join(dataDir, 'datasets')) || readdirSync(path.join(dataDir, 'datasets')).length === 0);
    } finally {
      store.close();
    }
  });

  test('several paths: loose files are unlabelled, folders keep their labels; grayscale is exact', async () => {
    const dataDir = tmpDir();
    const dir = tmpDir();
    mkdirSync(path.join(dir, 'set', 'x'), { recursive: true });
    const grey = await encodeImage('png', 8, 8, 5, 1);
    writeFileSync(path.join(dir, 'set', 'x', 'g.png'), grey);
    writeFileSync(path.join(dir, 'loose.png'), await encodeImage('png', 8, 8, 6, 1));
    const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
    try {
      const r = await value<{ dataset: DatasetInfo; report: DatasetReport }>(
        studio.dispatch('datasets.import', { paths: [path.join(dir, 'set'), path.join(dir, 'loose.png')], name: 'two', preprocess: { size: 16, channels: 'grayscale', resize: 'pad', background: '#808080' } }),
      );
      assert.deepEqual([r.dataset.name, r.dataset.count, r.dataset.channels, r.dataset.labels], ['two', 2, 1, ['(unlabelled)', 'x']]);
      assert.deepEqual(r.report.skipped, []);
      const page = await value<SamplePage>(studio.dispatch('datasets.samples', { id: r.dataset.id, limit: 10 }));
      assert.deepEqual(page.samples.map((s) => s.label), [1, 0], 'set/x/g.png first (path order), then the loose file');
      assert.equal(Buffer.from(page.samples[0]!.data, 'base64').length, 16 * 16);
      const exact = await value<{ dataset: DatasetInfo }>(studio.dispatch('datasets.import', { paths: [path.join(dir, 'set')], preprocess: { size: 8 } }));
      assert.equal(exact.dataset.channels, 1, "'auto' finds no colour in a grey PNG");
      const same = await value<SamplePage>(studio.dispatch('datasets.samples', { id: exact.dataset.id }));
      assert.deepEqual([...Buffer.from(same.samples[0]!.data, 'base64')], [...pattern(8, 8, 5, 1)], 'at its own size a grey PNG is stored byte for byte');
    } finally {
      await studio.close();
    }
  });

  test('alpha is flattened on the chosen background, RGB kept when there is colour', async () => {
    const dataDir = tmpDir();
    const dir = tmpDir();
    const { default: sharp } = await import('sharp');
    // One half-transparent red pixel: on blue it becomes (128, 0, 127).
    writeFileSync(path.join(dir, 'a.png'), await sharp(Buffer.from([255, 0, 0, 128]), { raw: { width: 1, height: 1, channels: 4 } }).png().toBuffer());
    const studio = createStudio({ dataDir, mode: 'cli', launcher: fakeLauncher() });
    try {
      const r = await value<{ dataset: DatasetInfo }>(studio.dispatch('datasets.import', { paths: [path.join(dir, 'a.png')], preprocess: { size: 8, resize: 'fit', background: '#0000ff' } }));
      assert.equal(r.dataset.channels, 3);
      const page = await value<SamplePage>(studio.dispatch('datasets.samples', { id: r.dataset.id }));
      assert.deepEqual([...Buffer.from(page.samples[0]!.data, 'base64').subarray(0, 3)], [128, 0, 127]);
    } finally {
      await studio.close();
    }
  });
});


describe('the CLI end to end on an image folder', () => {
  const dataDir = tmpDir();
  const root = path.join(tmpDir(), 'messy-cli');
  let id = '';
  before(() => writeMessyFolder(root));

  test('datasets import --size 32 --json prints the dataset and its report', async () => {
    const r = await cli(['--data-dir', dataDir, 'datasets', 'import', root, '--size', '32', '--channels', 'rgb', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { dataset: DatasetInfo; report: DatasetReport; seconds: number };
    id = out.dataset.id;
    assert.deepEqual([out.dataset.count, out.dataset.width, out.dataset.channels], [13, 32, 3]);
    assert.equal(out.report.skipped.length, 8);
    assert.equal(out.report.preprocess.size, 32);
  });

  test('datasets show prints the health report with every skipped file', async () => {
    const r = await cli(['--data-dir', dataDir, 'datasets', 'show', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /found 21, imported 13, skipped 8/);
    assert.match(r.stdout, /corrupt\s+bad\/truncated\.png: truncated PNG/);
    assert.match(r.stdout, /unreadable\s+bad\/loop\.png: symbolic link loop \(ELOOP\)/);
    assert.match(r.stdout, /cats\/a\.png {2}= {2}dogs\/copy-of-a\.png/);
    assert.match(r.stdout, /class balance\n\s+\(unlabelled\)\s+1/);
  });

  test('bad options are usage errors (exit 2) and write nothing', async () => {
    const r = await cli(['--data-dir', dataDir, 'datasets', 'import', root, '--size', '4']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--size must be a whole number of pixels from 8 to 256/);
  });

  test('datasets rm deletes it, files and all', async () => {
    const r = await cli(['--data-dir', dataDir, 'datasets', 'rm', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`deleted ${id}`));
    assert.ok(!existsSync(path.join(dataDir, 'datasets', id)));
    const ls = await cli(['--data-dir', dataDir, 'datasets', 'ls', '--json']);
    assert.deepEqual((JSON.parse(ls.stdout) as DatasetInfo[]).filter((d) => d.kind === 'imported'), []);
  });
});
