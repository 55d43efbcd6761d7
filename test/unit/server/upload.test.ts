import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Result } from '../../../src-main/contract/index.ts';
import { startServer } from '../../../src-main/server/index.ts';
import type { RunningServer } from '../../../src-main/server/index.ts';
import { parseUploadPath, sweepUploads } from '../../../src-main/server/upload.ts';
import type { Studio } from '../../../src-main/services/studio-api.ts';
import { tmpDir } from '../../helpers/tmp.ts';

const studio: Studio = {
  info: { name: 'VAE Studio', version: '0', dataDir: '/x', mode: 'web', platform: 'linux', node: '20', notices: [] },
  async dispatch(): Promise<Result<unknown>> {
    return { ok: true, value: null };
  },
  subscribe: () => () => {},
  async close() {},
};

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** One raw HTTP request; `chunks` are written one by one without a Content-Length (chunked). */
function request(
  server: RunningServer,
  method: string,
  urlPath: string,
  opts: { token?: string | null; origin?: string | null; host?: string; body?: Buffer | string; chunks?: Buffer[] } = {},
): Promise<Reply> {
  const host = opts.host ?? `127.0.0.1:${server.port}`;
  const headers: Record<string, string> = { host };
  const token = opts.token === undefined ? server.token : opts.token;
  if (token !== null) headers['x-vae-token'] = token;
  const origin = opts.origin === undefined ? `http://127.0.0.1:${server.port}` : opts.origin;
  if (origin !== null) headers.origin = origin;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: urlPath, headers }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { text };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else {
      req.end(opts.body ?? '');
    }
  });
}

const code = (r: Reply): unknown => (r.body.error as { code?: string } | undefined)?.code;

describe('web-mode uploads', () => {
  let dataDir: string;
  let server: RunningServer;
  before(async () => {
    const dir = tmpDir();
    const root = path.join(dir, 'renderer');
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>studio</title>');
    dataDir = path.join(dir, 'data');
    // An old upload and a fresh one, to see the start-up sweep keep only the fresh one.
    mkdirSync(path.join(dataDir, 'uploads', 'old-upload-1'), { recursive: true });
    mkdirSync(path.join(dataDir, 'uploads', 'new-upload-1'), { recursive: true });
    const twoDaysAgo = (Date.now() - 2 * 24 * 3600 * 1000) / 1000;
    utimesSync(path.join(dataDir, 'uploads', 'old-upload-1'), twoDaysAgo, twoDaysAgo);
    server = await startServer({
      studio,
      staticDir: root,
      dataDir,
      uploadLimits: { maxFileBytes: 1000, maxUploadBytes: 2500, maxFiles: 5 },
    });
  });
  after(() => server.close());

  test('sweeps uploads older than a day at start, keeps fresh ones', () => {
    assert.equal(existsSync(path.join(dataDir, 'uploads', 'old-upload-1')), false);
    assert.equal(existsSync(path.join(dataDir, 'uploads', 'new-upload-1')), true);
  });

  test('stores files under their relative paths; done returns the absolute folder', async () => {
    const id = 'upload-ok-1';
    const a = await request(server, 'PUT', `/upload/${id}/digits/three/a%20b.png`, { body: 'AAAA' });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.deepEqual(a.body, { path: 'digits/three/a b.png', bytes: 4 });
    const b = await request(server, 'PUT', `/upload/${id}/digits/%C3%A9t%C3%A9/x.png`, { chunks: [Buffer.from('12'), Buffer.from('345')] });
    assert.equal(b.status, 201);
    assert.equal(b.body.bytes, 5);
    const done = await request(server, 'POST', `/upload/${id}/done`);
    assert.equal(done.status, 200);
    const root = path.join(dataDir, 'uploads', id);
    assert.deepEqual(done.body, { root, files: 2, bytes: 9 });
    assert.equal(readFileSync(path.join(root, 'digits', 'three', 'a b.png'), 'utf8'), 'AAAA');
    assert.equal(readFileSync(path.join(root, 'digits', 'été', 'x.png'), 'utf8'), '12345');
    // Finished: no more files.
    const late = await request(server, 'PUT', `/upload/${id}/digits/late.png`, { body: 'x' });
    assert.equal(late.status, 409);
    const del = await request(server, 'DELETE', `/upload/${id}`);
    assert.equal(del.status, 200);
    assert.equal(existsSync(root), false);
    assert.equal((await request(server, 'DELETE', `/upload/${id}`)).status, 404);
  });

  test('done without files is NOT_FOUND; the same path twice is a conflict', async () => {
    assert.equal(code(await request(server, 'POST', '/upload/upload-none/done')), 'NOT_FOUND');
    assert.equal((await request(server, 'PUT', '/upload/upload-dup1/a.png', { body: 'x' })).status, 201);
    const again = await request(server, 'PUT', '/upload/upload-dup1/a.png', { body: 'y' });
    assert.equal(again.status, 409);
    assert.equal(readFileSync(path.join(dataDir, 'uploads', 'upload-dup1', 'a.png'), 'utf8'), 'x');
  });

  test('refuses a wrong or missing token, a foreign Origin and a foreign Host', async () => {
    const id = 'upload-auth1';
    const bad = await request(server, 'PUT', `/upload/${id}/a.png`, { body: 'x', token: 'nope' });
    assert.equal(bad.status, 403);
    assert.equal(code(bad), 'FORBIDDEN');
    assert.equal((await request(server, 'PUT', `/upload/${id}/a.png`, { body: 'x', token: null })).status, 403);
    assert.equal((await request(server, 'PUT', `/upload/${id}/a.png`, { body: 'x', origin: 'http://evil.example' })).status, 403);
    assert.equal((await request(server, 'PUT', `/upload/${id}/a.png`, { body: 'x', origin: null })).status, 403);
    assert.equal((await request(server, 'PUT', `/upload/${id}/a.png`, { body: 'x', host: `evil.example:${server.port}` })).status, 421);
    assert.equal((await request(server, 'DELETE', `/upload/new-upload-1`, { token: 'nope' })).status, 403);
    assert.equal(existsSync(path.join(dataDir, 'uploads', id)), false, 'nothing written for refused requests');
    assert.equal(existsSync(path.join(dataDir, 'uploads', 'new-upload-1')), true, 'a refused DELETE removes nothing');
  });

  test('refuses path traversal, absolute paths, NUL, backslashes and bad ids', async () => {
    const id = 'upload-trav1';
    for (const p of ['..%2Fescape.png', 'a/../../escape.png', '%2E%2E/escape.png', 'a/./b.png', '%2Fetc%2Fpasswd', '/etc/passwd', 'a%00.png', 'a%5C..%5Cescape.png', 'C%3A%5Cx.png', 'a//b.png', 'a%0Ab.png']) {
      const r = await request(server, 'PUT', `/upload/${id}/${p}`, { body: 'x' });
      assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    assert.equal(existsSync(path.join(dataDir, 'uploads', 'escape.png')), false);
    assert.equal(existsSync(path.join(dataDir, 'escape.png')), false);
    for (const badId of ['..', 'short', 'has.dot12', 'x'.repeat(65)]) {
      const r = await request(server, 'PUT', `/upload/${badId}/a.png`, { body: 'x' });
      assert.equal(r.status, 400, badId);
    }
    // The pure check says why.
    assert.throws(() => parseUploadPath('a/%2E%2E/b'), /not allowed/);
    assert.throws(() => parseUploadPath('/abs'), /absolute/);
    assert.throws(() => parseUploadPath('a%00b'), /control/);
    assert.throws(() => parseUploadPath('a%5Cb'), /backslash/);
    assert.deepEqual(parseUploadPath('d%C3%A9j%C3%A0/vu%20x.png'), ['déjà', 'vu x.png']);
  });

  test('caps each file and the whole upload, even without a Content-Length; nothing partial stays', async () => {
    const id = 'upload-big-1';
    const declared = await request(server, 'PUT', `/upload/${id}/big.bin`, { body: Buffer.alloc(1001) });
    assert.equal(declared.status, 413);
    const streamed = await request(server, 'PUT', `/upload/${id}/big2.bin`, { chunks: [Buffer.alloc(600), Buffer.alloc(600)] });
    assert.equal(streamed.status, 413);
    assert.equal(existsSync(path.join(dataDir, 'uploads', id, 'big2.bin')), false, 'the partial file is removed');
    // 3 x 900 > 2500: the third file is refused, the first two stay.
    assert.equal((await request(server, 'PUT', `/upload/${id}/1.bin`, { body: Buffer.alloc(900) })).status, 201);
    assert.equal((await request(server, 'PUT', `/upload/${id}/2.bin`, { body: Buffer.alloc(900) })).status, 201);
    assert.equal((await request(server, 'PUT', `/upload/${id}/3.bin`, { chunks: [Buffer.alloc(450), Buffer.alloc(450)] })).status, 413);
    assert.equal(existsSync(path.join(dataDir, 'uploads', id, '3.bin')), false);
    const done = await request(server, 'POST', `/upload/${id}/done`);
    assert.deepEqual({ files: done.body.files, bytes: done.body.bytes }, { files: 2, bytes: 1800 });
  });

  test('caps the number of files', async () => {
    const id = 'upload-many1';
    for (let i = 0; i < 5; i++) assert.equal((await request(server, 'PUT', `/upload/${id}/${i}.png`, { body: 'x' })).status, 201);
    assert.equal((await request(server, 'PUT', `/upload/${id}/5.png`, { body: 'x' })).status, 413);
  });

  test('other methods are refused', async () => {
    assert.equal((await request(server, 'GET', '/upload/upload-get-1/a.png')).status, 405);
  });
});

test('sweepUploads removes only old entries', () => {
  const dir = tmpDir();
  mkdirSync(path.join(dir, 'a-old-one'));
  mkdirSync(path.join(dir, 'b-new-one'));
  const now = Date.now();
  utimesSync(path.join(dir, 'a-old-one'), (now - 25 * 3600e3) / 1000, (now - 25 * 3600e3) / 1000);
  assert.deepEqual(sweepUploads(dir, 24 * 3600e3, now), ['a-old-one']);
  assert.deepEqual(sweepUploads(path.join(dir, 'missing')), []);
});
