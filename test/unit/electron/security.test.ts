import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CONTENT_SECURITY_POLICY,
  denyAllPermissions,
  installCsp,
} from '../../../src-main/electron/security.ts';
import type { HeaderSession, PermissionSession } from '../../../src-main/electron/security.ts';

test('every permission request, check and device permission is denied', () => {
  // Handlers live in an object: TypeScript would narrow plain `let` variables assigned in callbacks to null.
  const got: {
    request?: (wc: unknown, permission: string, cb: (granted: boolean) => void, details: unknown) => void;
    check?: (wc: unknown, permission: string, origin: string, details: unknown) => boolean;
    device?: (details: unknown) => boolean;
  } = {};
  const fake = {
    setPermissionRequestHandler: (h: typeof got.request) => (got.request = h),
    setPermissionCheckHandler: (h: typeof got.check) => (got.check = h),
    setDevicePermissionHandler: (h: typeof got.device) => (got.device = h),
  };
  denyAllPermissions(fake as unknown as PermissionSession);
  const { request, check, device } = got;
  assert.ok(request && check && device, 'all three handlers installed');

  for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'fullscreen', 'openExternal', 'hid', 'unknown']) {
    const answers: boolean[] = [];
    request(null, permission, (granted) => answers.push(granted), { requestingUrl: 'app://studio/index.html' });
    assert.deepEqual(answers, [false], permission);
    assert.equal(check(null, permission, 'app://studio', {}), false, permission);
  }
  assert.equal(device({ deviceType: 'usb', origin: 'app://studio' }), false);
});

test('the CSP forbids remote code, eval, plugins, framing and form posts', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values] as const;
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'"]);
  assert.ok(!CONTENT_SECURITY_POLICY.includes("'unsafe-eval'"));
  assert.ok(!directives.get('script-src')!.includes("'unsafe-inline'"));
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(directives.get('base-uri'), ["'none'"]);
  assert.deepEqual(directives.get('form-action'), ["'none'"]);
  assert.deepEqual(directives.get('connect-src'), ["'self'"]);
  for (const values of directives.values()) {
    for (const v of values) assert.ok(!/^(https?:|\*)/.test(v), `no remote source allowed: ${v}`);
  }
});

test('installCsp replaces any CSP on responses, except for skipped URLs', () => {
  type Details = { url: string; responseHeaders?: Record<string, string[]> };
  type Reply = { responseHeaders?: Record<string, string | string[]> };
  const got: { listener?: (d: Details, cb: (r: Reply) => void) => void } = {};
  const fake = { webRequest: { onHeadersReceived: (l: typeof got.listener) => (got.listener = l) } };
  installCsp(fake as unknown as HeaderSession, "default-src 'self'", (url) => url.startsWith('http://localhost:5173'));
  const listener = got.listener;
  assert.ok(listener);

  const replies: Reply[] = [];
  listener(
    { url: 'app://studio/index.html', responseHeaders: { 'Content-Type': ['text/html'], 'content-security-policy': ['default-src *'] } },
    (r) => replies.push(r),
  );
  assert.deepEqual(replies.pop(), {
    responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': ["default-src 'self'"] },
  });

  listener({ url: 'http://localhost:5173/@vite/client', responseHeaders: {} }, (r) => replies.push(r));
  assert.deepEqual(replies.pop(), {});
});
