/**
 * Session-wide security defaults: no web permission is ever granted (camera, notifications,
 * geolocation, HID/USB/serial...), and every response carries a strict Content-Security-Policy.
 * Only `import type` from 'electron' here: the functions take the session as a parameter so tests
 * pass a fake.
 */
import type { Session } from 'electron';

/**
 * The renderer's CSP. 'wasm-unsafe-eval' lets tfjs-backend-wasm compile its WebAssembly (latent
 * decoding in the renderer) without allowing JS eval; inline styles are allowed because Svelte
 * transitions insert <style> elements at run time; data:/blob: images carry decoded samples.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "child-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export type PermissionSession = Pick<
  Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'
>;

/** Denies every permission request and check, and every device (HID/USB/serial) permission. */
export function denyAllPermissions(session: PermissionSession): void {
  session.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

export type HeaderSession = { webRequest: Pick<Session['webRequest'], 'onHeadersReceived'> };

/**
 * Adds the CSP header to every response the session receives except those `skip` names (the
 * electron-vite dev server in development, whose HMR client needs inline scripts). The app://
 * handler sets the same header itself; this covers anything else a page might load.
 */
export function installCsp(
  session: HeaderSession,
  policy: string = CONTENT_SECURITY_POLICY,
  skip: (url: string) => boolean = () => false,
): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    if (skip(details.url)) {
      callback({});
      return;
    }
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(details.responseHeaders ?? {})) {
      if (k.toLowerCase() !== 'content-security-policy') headers[k] = v;
    }
    headers['Content-Security-Policy'] = [policy];
    callback({ responseHeaders: headers });
  });
}
