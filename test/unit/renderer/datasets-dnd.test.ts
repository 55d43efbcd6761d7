import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultName,
  fromPicked,
  importPathsFor,
  pickedFolderPath,
  summarise,
  walkEntries,
} from '../../../src-renderer/lib/dnd/sources.ts';
import type { EntryLike } from '../../../src-renderer/lib/dnd/sources.ts';
import { discardUpload, encodeUploadPath, uploadFiles } from '../../../src-renderer/lib/dnd/upload.ts';
import type { FetchLike } from '../../../src-renderer/lib/dnd/upload.ts';

interface F {
  name: string;
  size: number;
}

/** A fake dropped tree; readEntries answers in batches of 2 like Chromium's (100). */
function dir(name: string, children: EntryLike<F>[]): EntryLike<F> {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader() {
      let i = 0;
      return {
        readEntries(ok) {
          const batch = children.slice(i, i + 2);
          i += 2;
          setImmediate(() => ok(batch));
        },
      };
    },
  };
}
function file(name: string, size = 3, fail = false): EntryLike<F> {
  return {
    isFile: true,
    isDirectory: false,
    name,
    file(ok, bad) {
      if (fail) bad?.(new Error('permission denied'));
      else ok({ name, size });
    },
  };
}

test('walkEntries keeps relative paths through nested folders and batched reads, skips OS junk', async () => {
  const tree = dir('digits', [dir('3', [file('a.png'), file('b.png'), file('c.png'), file('.DS_Store')]), dir('7', [file('x.png', 5)]), file('Thumbs.db'), file('notes.txt', 1, true)]);
  const r = await walkEntries([tree, file('loose.png', 7)]);
  assert.deepEqual(
    r.files.map((f) => f.path),
    ['digits/3/a.png', 'digits/3/b.png', 'digits/3/c.png', 'digits/7/x.png', 'loose.png'],
  );
  assert.deepEqual(r.errors, [{ path: 'digits/notes.txt', message: 'permission denied' }]);
});

test('picked files: folder picker paths, summaries, default names and what gets imported', () => {
  const picked = fromPicked([
    { name: 'a.png', size: 2, webkitRelativePath: 'pets/cat/a.png' },
    { name: 'b.png', size: 3, webkitRelativePath: 'pets/dog/b.png' },
    { name: '._b.png', size: 3, webkitRelativePath: 'pets/dog/._b.png' },
  ]);
  assert.deepEqual(picked.map((p) => p.path), ['pets/cat/a.png', 'pets/dog/b.png']);
  assert.deepEqual(summarise({ kind: 'files', files: picked }), [{ name: 'pets', folder: true, files: 2, bytes: 5 }]);
  assert.equal(defaultName({ kind: 'files', files: picked }), 'pets');
  assert.equal(defaultName({ kind: 'paths', paths: ['/d/train-images-idx3-ubyte.gz'] }), 'train-images-idx3-ubyte');
  assert.equal(defaultName({ kind: 'paths', paths: ['/d/faces.zip', '/d/more'] }), 'faces and 1 more');

  // One dropped item is imported as itself; several as the upload folder (each folder a label).
  assert.deepEqual(importPathsFor('/data/uploads/u1', picked), ['/data/uploads/u1/pets']);
  assert.deepEqual(importPathsFor('/data/uploads/u1', [{ path: 'cat/a.png' }, { path: 'dog/b.png' }]), ['/data/uploads/u1']);
  assert.deepEqual(importPathsFor('C:\\studio\\uploads\\u1', [{ path: 'x.zip' }]), ['C:\\studio\\uploads\\u1\\x.zip']);

  // Electron folder picker: the chosen folder from one file's absolute and relative path.
  assert.equal(pickedFolderPath('/home/me/pets/cat/a.png', 'pets/cat/a.png'), '/home/me/pets');
  assert.equal(pickedFolderPath('C:\\Users\\me\\pets\\cat\\a.png', 'pets/cat/a.png'), 'C:\\Users\\me\\pets');
  assert.equal(pickedFolderPath('/home/me/a.png', 'a.png'), null);
  assert.equal(pickedFolderPath('/elsewhere/x.png', 'pets/cat/a.png'), null);
});

/** A fake server for uploads: records requests, fails where told. */
function fakeFetch(failOn?: string) {
  const requests: { method: string; url: string; token: string | undefined }[] = [];
  let active = 0;
  let maxActive = 0;
  const fetch: FetchLike = async (url, init) => {
    requests.push({ method: init.method, url, token: init.headers['x-vae-token'] });
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setImmediate(r));
    active--;
    const failed = failOn !== undefined && url.includes(failOn);
    const body = failed
      ? { error: { code: 'TOO_LARGE', message: 'file larger than 10 bytes' } }
      : url.endsWith('/done')
        ? { root: '/data/uploads/u-1' }
        : { ok: true };
    return { ok: !failed, status: failed ? 413 : 200, json: async () => body };
  };
  return { fetch, requests, maxActive: () => maxActive };
}

test('uploadFiles: every file PUT with the token and encoded path, a few at a time, then done', async () => {
  const f = fakeFetch();
  const files = Array.from({ length: 9 }, (_, i) => ({ file: { name: `${i}.png`, size: 10 }, path: `my pets/é/${i} #1.png` }));
  const seen: number[] = [];
  const r = await uploadFiles(files, { fetch: f.fetch, token: 'tok', uploadId: 'u-1234567', concurrency: 3, onProgress: (p) => seen.push(p.bytes) });
  assert.deepEqual(r, { uploadId: 'u-1234567', root: '/data/uploads/u-1' });
  const puts = f.requests.filter((q) => q.method === 'PUT');
  assert.equal(puts.length, 9);
  assert.ok(puts.every((q) => q.token === 'tok'));
  assert.equal(puts[0]!.url, '/upload/u-1234567/my%20pets/%C3%A9/0%20%231.png');
  assert.deepEqual(f.requests.at(-1), { method: 'POST', url: '/upload/u-1234567/done', token: 'tok' });
  assert.ok(f.maxActive() <= 3 && f.maxActive() >= 2, `concurrency ${f.maxActive()}`);
  assert.equal(seen.at(-1), 90);
  assert.equal(encodeUploadPath('a/b c/d?.png'), 'a/b%20c/d%3F.png');
});

test('uploadFiles: a refused file stops the upload, removes it on the server and says why', async () => {
  const f = fakeFetch('/3.png');
  const files = Array.from({ length: 6 }, (_, i) => ({ file: { name: `${i}.png`, size: 10 }, path: `${i}.png` }));
  await assert.rejects(uploadFiles(files, { fetch: f.fetch, token: 't', uploadId: 'u-77777777', concurrency: 1 }), /3\.png: file larger than 10 bytes/);
  assert.equal(f.requests.filter((q) => q.method === 'PUT').length, 4, 'nothing after the refusal');
  assert.deepEqual(f.requests.at(-1), { method: 'DELETE', url: '/upload/u-77777777', token: 't' });
  assert.equal(f.requests.some((q) => q.url.endsWith('/done')), false);
  await discardUpload('u-1', { fetch: f.fetch, token: 't' });
});
