import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  hardenWebContents,
  isAllowedNavigation,
  isExternalLink,
  secureWindowOptions,
} from '../../../src-main/electron/window.ts';
import type { HardenTarget } from '../../../src-main/electron/window.ts';

describe('secureWindowOptions', () => {
  test('isolates, sandboxes and cuts Node out of the renderer', () => {
    const opts = secureWindowOptions('/app/out/preload/index.cjs');
    const wp = opts.webPreferences!;
    assert.equal(wp.preload, '/app/out/preload/index.cjs');
    assert.equal(wp.contextIsolation, true);
    assert.equal(wp.sandbox, true);
    assert.equal(wp.nodeIntegration, false);
    assert.equal(wp.nodeIntegrationInWorker, false);
    assert.equal(wp.nodeIntegrationInSubFrames, false);
    assert.equal(wp.webSecurity, true);
    assert.equal(wp.allowRunningInsecureContent, false);
    assert.equal(wp.webviewTag, false);
    assert.equal(wp.experimentalFeatures, false);
    assert.equal(wp.spellcheck, false);
    assert.equal(wp.navigateOnDragDrop, false);
    assert.equal(wp.enableBlinkFeatures, undefined);
    assert.equal(wp.additionalArguments, undefined);
    assert.equal(opts.show, false, 'shown on ready-to-show, not as a blank frame');
  });

  test('devtools follow the flag (off in packaged builds)', () => {
    assert.equal(secureWindowOptions('/p', { devTools: false }).webPreferences!.devTools, false);
    assert.equal(secureWindowOptions('/p', { icon: '/i.png' }).icon, '/i.png');
  });
});

type Listener = (...args: unknown[]) => void;
interface FakeEvent {
  url: string;
  prevented: boolean;
  preventDefault(): void;
}

function fakeContents() {
  const listeners = new Map<string, Listener[]>();
  let openHandler: ((d: { url: string }) => { action: string }) | null = null;
  const fake = {
    on(name: string, fn: Listener) {
      listeners.set(name, [...(listeners.get(name) ?? []), fn]);
      return fake;
    },
    setWindowOpenHandler(fn: (d: { url: string }) => { action: string }) {
      openHandler = fn;
    },
    emit(name: string, ...args: unknown[]) {
      for (const fn of listeners.get(name) ?? []) fn(...args);
    },
    has(name: string) {
      return (listeners.get(name) ?? []).length > 0;
    },
    open(url: string) {
      assert.ok(openHandler, 'setWindowOpenHandler was not called');
      return openHandler({ url });
    },
  };
  return fake;
}

const nav = (url: string): FakeEvent => ({
  url,
  prevented: false,
  preventDefault() {
    this.prevented = true;
  },
});

describe('hardenWebContents', () => {
  const setup = (extraOrigins: string[] = []) => {
    const contents = fakeContents();
    const opened: string[] = [];
    const blocked: string[] = [];
    hardenWebContents(contents as unknown as HardenTarget, {
      openExternal: (url) => {
        opened.push(url);
      },
      extraOrigins,
      onBlocked: (kind, url) => blocked.push(`${kind} ${url}`),
    });
    return { contents, opened, blocked };
  };

  test('allows navigation inside app://studio only', () => {
    const { contents, opened } = setup();
    const inside = nav('app://studio/index.html#/runs');
    contents.emit('will-navigate', inside);
    assert.equal(inside.prevented, false);

    for (const url of ['https://example.com/', 'file:///etc/passwd', 'app://other/index.html', 'http://127.0.0.1:5173/', 'javascript:alert(1)']) {
      const e = nav(url);
      contents.emit('will-navigate', e);
      assert.equal(e.prevented, true, url);
    }
    // Only the https link went to the system browser.
    assert.deepEqual(opened, ['https://example.com/']);
  });

  test('denies frame navigations and redirects away from the app', () => {
    const { contents } = setup();
    for (const event of ['will-frame-navigate', 'will-redirect']) {
      const out = nav('https://evil.example/');
      contents.emit(event, out);
      assert.equal(out.prevented, true, event);
      const inside = nav('app://studio/assets/x.js');
      contents.emit(event, inside);
      assert.equal(inside.prevented, false, event);
    }
  });

  test('the dev server origin is allowed only when given', () => {
    const { contents } = setup(['http://localhost:5173']);
    const dev = nav('http://localhost:5173/index.html');
    contents.emit('will-navigate', dev);
    assert.equal(dev.prevented, false);
    const other = nav('http://localhost:5174/');
    contents.emit('will-navigate', other);
    assert.equal(other.prevented, true);
  });

  test('window.open is always denied; https targets open in the system browser', () => {
    const { contents, opened, blocked } = setup();
    assert.deepEqual(contents.open('https://arxiv.org/abs/1312.6114'), { action: 'deny' });
    assert.deepEqual(contents.open('app://studio/index.html'), { action: 'deny' });
    assert.deepEqual(contents.open('file:///etc/passwd'), { action: 'deny' });
    assert.deepEqual(contents.open('http://example.com/'), { action: 'deny' });
    assert.deepEqual(opened, ['https://arxiv.org/abs/1312.6114']);
    assert.equal(blocked.filter((b) => b.startsWith('window ')).length, 4);
  });

  test('a <webview> is never attached', () => {
    const { contents } = setup();
    assert.ok(contents.has('will-attach-webview'));
    const e = nav('');
    contents.emit('will-attach-webview', e, {}, { src: 'https://evil.example/' });
    assert.equal(e.prevented, true);
  });

  test('a failing openExternal does not throw into the navigation handler', async () => {
    const contents = fakeContents();
    hardenWebContents(contents as unknown as HardenTarget, { openExternal: () => Promise.reject(new Error('no browser')) });
    const e = nav('https://example.com/');
    assert.doesNotThrow(() => contents.emit('will-navigate', e));
    assert.equal(e.prevented, true);
    await new Promise((r) => setImmediate(r));
  });
});

test('isAllowedNavigation / isExternalLink', () => {
  assert.equal(isAllowedNavigation('app://studio/x'), true);
  assert.equal(isAllowedNavigation('app://studio.evil/x'), false);
  assert.equal(isAllowedNavigation('data:text/html,hi'), false);
  assert.equal(isAllowedNavigation('not a url', ['http://localhost:5173']), false);
  assert.equal(isExternalLink('https://example.com/a'), true);
  assert.equal(isExternalLink('https://user:pw@example.com/a'), false);
  assert.equal(isExternalLink('http://example.com/a'), false);
  assert.equal(isExternalLink('smb://share/x'), false);
  assert.equal(isExternalLink('file:///etc/passwd'), false);
});
