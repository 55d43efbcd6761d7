import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import {
  checkRequestPath,
  createAppProtocolHandler,
  isAppUrl,
  mimeTypeFor,
} from '../../../src-main/electron/protocol.ts';
import type { AppProtocolHandler } from '../../../src-main/electron/protocol.ts';
import { tmpDir } from '../../helpers/tmp.ts';

// A request object as Electron hands it over, but with the URL kept exactly as written: the WHATWG
// parser would already remove some dot segments, and the guard must not rely on that.
const get = (url: string) => ({ url, method: 'GET' });

describe('app:// protocol handler', () => {
  // Set up in the describe body: tmpDir registers its cleanup with after(), which inside a before()
  // hook would run as soon as that hook ends.
  const base = tmpDir('vae-protocol-');
  const root = path.join(base, 'renderer');
  let handler: AppProtocolHandler;
  const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  before(() => {
    mkdirSync(path.join(root, 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>studio</title>');
    writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log("hi")');
    writeFileSync(path.join(root, 'assets', 'style.css'), 'body{}');
    writeFileSync(path.join(root, 'assets', 'tfjs-backend-wasm-simd.wasm'), WASM);
    writeFileSync(path.join(root, 'assets', 'with space.json'), '{"a":1}');
    // Outside the root: what a traversal would try to read.
    writeFileSync(path.join(base, 'secret.txt'), 'TOP SECRET');
    mkdirSync(path.join(base, 'renderer-evil'));
    writeFileSync(path.join(base, 'renderer-evil', 'x.txt'), 'sibling with a shared prefix');
    // A symlink inside the root that points outside it, and one that stays inside.
    symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'assets', 'leak.txt'));
    symlinkSync(base, path.join(root, 'up'));
    symlinkSync(path.join(root, 'assets', 'app.js'), path.join(root, 'alias.js'));
    handler = createAppProtocolHandler(root, { contentSecurityPolicy: "default-src 'self'" });
  });

  test('serves index.html for app://studio/ and files with their MIME type', async () => {
    const index = await handler(get('app://studio/'));
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('content-security-policy'), "default-src 'self'");
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await index.text(), '<!doctype html><title>studio</title>');

    const js = await handler(get('app://studio/assets/app.js'));
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(await js.text(), 'console.log("hi")');

    const css = await handler(get('app://studio/assets/style.css'));
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');

    const wasm = await handler(get('app://studio/assets/tfjs-backend-wasm-simd.wasm'));
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.deepEqual(Buffer.from(await wasm.arrayBuffer()), WASM);
    assert.equal(wasm.headers.get('content-length'), String(WASM.length));

    const spaced = await handler(get('app://studio/assets/with%20space.json'));
    assert.equal(spaced.status, 200);
    assert.deepEqual(await spaced.json(), { a: 1 });
  });

  test('a symlink that stays inside the root is served', async () => {
    const res = await handler(get('app://studio/alias.js'));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'console.log("hi")');
  });

  test('HEAD answers headers without a body; other methods are refused', async () => {
    const head = await handler({ url: 'app://studio/assets/app.js', method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String('console.log("hi")'.length));
    assert.equal(await head.text(), '');
    const post = await handler({ url: 'app://studio/assets/app.js', method: 'POST' });
    assert.equal(post.status, 405);
  });

  test('missing files and directories are 404', async () => {
    assert.equal((await handler(get('app://studio/nope.js'))).status, 404);
    assert.equal((await handler(get('app://studio/assets/nope/deeper.js'))).status, 404);
    assert.equal((await handler(get('app://studio/assets'))).status, 404);
  });

  test('other hosts and schemes are not served', async () => {
    assert.equal((await handler(get('app://other/index.html'))).status, 404);
    assert.equal((await handler(get('file:///etc/passwd'))).status, 404);
    assert.equal((await handler(get('https://studio/index.html'))).status, 404);
  });

  const traversals: [string, string][] = [
    ['plain ../', 'app://studio/../secret.txt'],
    ['nested ../', 'app://studio/assets/../../secret.txt'],
    ['encoded %2e%2e%2f', 'app://studio/%2e%2e%2fsecret.txt'],
    ['encoded %2E%2E/ (upper case)', 'app://studio/%2E%2E/secret.txt'],
    ['mixed .%2e/', 'app://studio/assets/.%2e/.%2e/secret.txt'],
    ['backslash ..%5c', 'app://studio/..%5csecret.txt'],
    ['raw backslash', 'app://studio/assets\\..\\..\\secret.txt'],
    ['absolute path after the host', 'app://studio//etc/passwd'],
    ['encoded absolute path', 'app://studio/%2fetc%2fpasswd'],
    ['Windows drive', 'app://studio/C:%5cWindows%5cwin.ini'],
    ['encoded null byte', 'app://studio/index.html%00.png'],
    ['shared-prefix sibling', 'app://studio/../renderer-evil/x.txt'],
    ['symlink to a file outside', 'app://studio/assets/leak.txt'],
    ['symlink to a folder outside', 'app://studio/up/secret.txt'],
    ['double-encoded', 'app://studio/%252e%252e%252fsecret.txt'],
  ];
  for (const [name, url] of traversals) {
    test(`refuses traversal: ${name}`, async () => {
      const res = await handler(get(url));
      assert.ok(res.status === 403 || res.status === 404 || res.status === 400, `${url} -> ${res.status}`);
      const body = await res.text();
      assert.ok(!body.includes('TOP SECRET') && !body.includes('shared prefix'), `${url} leaked: ${body}`);
    });
  }

  // (A literal '../' never reaches the guard as such: URL parsing already resolves it inside the root.)
  test('traversal attempts get 403, not a 404 that would depend on what exists outside', async () => {
    for (const url of [
      'app://studio/%2e%2e%2fsecret.txt',
      'app://studio/..%5csecret.txt',
      'app://studio//etc/passwd',
      'app://studio/index.html%00.png',
      'app://studio/assets/leak.txt',
    ]) {
      assert.equal((await handler(get(url))).status, 403, url);
    }
    assert.equal((await handler(get('app://studio/%E0%A4%A'))).status, 400);
  });

  test('works through a real Request too', async () => {
    const res = await handler(new Request('app://studio/assets/app.js'));
    assert.equal(res.status, 200);
  });
});

describe('checkRequestPath', () => {
  test('accepts normal paths and maps / to the index', () => {
    assert.deepEqual(checkRequestPath('/'), { ok: true, segments: ['index.html'] });
    assert.deepEqual(checkRequestPath('/assets/a-1.js'), { ok: true, segments: ['assets', 'a-1.js'] });
    assert.deepEqual(checkRequestPath('/a%20b/c'), { ok: true, segments: ['a b', 'c'] });
  });
  test('refuses every escape shape', () => {
    for (const p of ['/..', '/a/../b', '/%2e%2e/x', '/./x', '/a//b', '/a/', '/a\\b', '/%5c', '/a%00', 'x', '/C:/x', '/%2F']) {
      const r = checkRequestPath(p);
      assert.equal(r.ok, false, p);
    }
    assert.deepEqual(checkRequestPath('/%zz'), { ok: false, status: 400, reason: 'malformed percent-encoding' });
  });
});

test('mimeTypeFor knows the renderer assets', () => {
  assert.equal(mimeTypeFor('a.wasm'), 'application/wasm');
  assert.equal(mimeTypeFor('A.PNG'), 'image/png');
  assert.equal(mimeTypeFor('x.svg'), 'image/svg+xml');
  assert.equal(mimeTypeFor('font.woff2'), 'font/woff2');
  assert.equal(mimeTypeFor('weights.bin'), 'application/octet-stream');
  assert.equal(mimeTypeFor('noext'), 'application/octet-stream');
});

test('isAppUrl accepts only app://studio', () => {
  assert.equal(isAppUrl('app://studio/index.html'), true);
  assert.equal(isAppUrl('app://studio'), true);
  assert.equal(isAppUrl('app://studio.evil/index.html'), false);
  assert.equal(isAppUrl('app://user@studio/index.html'), false);
  assert.equal(isAppUrl('app://studio:8080/index.html'), false);
  assert.equal(isAppUrl('https://studio/index.html'), false);
  assert.equal(isAppUrl('file:///index.html'), false);
  assert.equal(isAppUrl('not a url'), false);
});
