import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { Result } from '../../../src-main/contract/index.ts';
import { resolveStatic, startServer } from '../../../src-main/server/index.ts';
import type { RunningServer } from '../../../src-main/server/index.ts';
import type { Studio, StudioListener } from '../../../src-main/services/studio-api.ts';
import { tmpDir } from '../../helpers/tmp.ts';

/** A studio double: echoes commands and lets the test push events. */
function fakeStudio() {
  const listeners = new Set<StudioListener>();
  const calls: { command: string; input: unknown }[] = [];
  const studio: Studio = {
    info: { name: 'VAE Studio', version: '0', dataDir: '/x', mode: 'web', platform: 'linux', node: '20', notices: [] },
    async dispatch(command, input): Promise<Result<unknown>> {
      calls.push({ command, input });
      if (command === 'boom') return { ok: false, error: { code: 'UNKNOWN_COMMAND', message: 'no' } };
      return { ok: true, value: { echo: input } };
    },
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    async close() {},
  };
  return { studio, calls, push: (e: 'runs.changed', p: { runId: string | null }) => listeners.forEach((l) => l(e, p)) };
}

function get(port: number, urlPath: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connect(server: RunningServer, opts: { token?: string; origin?: string } = {}): Promise<WebSocket> {
  const origin = opts.origin ?? `http://127.0.0.1:${server.port}`;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${opts.token ?? server.token}`, { headers: { origin } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<Record<string, unknown>> {
  return new Promise((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
}

describe('web mode server', () => {
  let root: string;
  let server: RunningServer;
  let fake: ReturnType<typeof fakeStudio>;
  before(async () => {
    const dir = tmpDir();
    root = path.join(dir, 'renderer');
    mkdirSync(path.join(root, 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>studio</title>');
    writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'secret.txt'), 'do not serve');
    symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'leak.txt'));
    fake = fakeStudio();
    server = await startServer({ studio: fake.studio, staticDir: root });
  });
  after(() => server.close());

  test('prints a loopback URL with a long random token', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32,}$/);
    assert.equal(server.host, '127.0.0.1');
  });

  test('serves the renderer with security headers and the right types', async () => {
    const index = await get(server.port, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /<title>studio/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
    assert.equal(index.headers['x-frame-options'], 'DENY');
    const js = await get(server.port, '/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.equal((await get(server.port, '/missing.js')).status, 404);
  });

  test('never serves files outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/leak.txt', '/%00index.html']) {
      const r = await get(server.port, p);
      assert.ok(r.status === 403 || r.status === 404, `${p} -> ${r.status}`);
      assert.doesNotMatch(r.body, /do not serve/);
    }
    assert.equal(resolveStatic(root, '/leak.txt'), null, 'a symlink that leaves the root is refused');
  });

  test('refuses requests for other host names (DNS rebinding)', async () => {
    assert.equal((await get(server.port, '/', `evil.example:${server.port}`)).status, 421);
    assert.equal((await get(server.port, '/', `127.0.0.1:1`)).status, 421);
    assert.equal((await get(server.port, '/', `localhost:${server.port}`)).status, 200);
  });

  test('the WebSocket needs the token and the page Origin', async () => {
    await assert.rejects(connect(server, { token: 'wrong' }), /403/);
    await assert.rejects(connect(server, { token: '' }), /403/);
    await assert.rejects(connect(server, { origin: 'http://evil.example' }), /403/);
    await assert.rejects(connect(server, { origin: `http://127.0.0.1:${server.port + 1}` }), /403/);
    const ws = await connect(server);
    ws.close();
  });

  test('dispatches requests, answers by id, reports errors, and forwards events', async () => {
    const ws = await connect(server);
    try {
      ws.send(JSON.stringify({ id: 7, command: 'runs.list', input: { a: 1 } }));
      assert.deepEqual(await nextMessage(ws), { id: 7, result: { ok: true, value: { echo: { a: 1 } } } });
      ws.send(JSON.stringify({ id: 8, command: 'boom', input: {} }));
      const err = (await nextMessage(ws)) as { id: number; result: { ok: boolean; error: { code: string } } };
      assert.equal(err.id, 8);
      assert.equal(err.result.error.code, 'UNKNOWN_COMMAND');
      ws.send('not json');
      const bad = (await nextMessage(ws)) as { result: { error: { code: string } } };
      assert.equal(bad.result.error.code, 'INVALID_INPUT');
      const ev = nextMessage(ws);
      fake.push('runs.changed', { runId: 'r1' });
      assert.deepEqual(await ev, { event: 'runs.changed', payload: { runId: 'r1' } });
    } finally {
      ws.close();
    }
  });

  test('refuses to listen beyond loopback unless asked, and says when the renderer is not built', async () => {
    await assert.rejects(startServer({ studio: fake.studio, staticDir: root, host: '0.0.0.0' }), /--allow-remote/);
    await assert.rejects(startServer({ studio: fake.studio, staticDir: tmpDir() }), /npm run build:renderer/);
  });
});
