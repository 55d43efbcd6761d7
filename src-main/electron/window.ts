/**
 * The main window's options and the guards on its web contents. Only `import type` from 'electron':
 * main.ts passes the real objects, tests pass fakes.
 *
 * The renderer is treated as untrusted (it renders user data and may one day show remote content by
 * mistake): it cannot reach Node, cannot navigate away from app://studio, cannot open windows, and
 * cannot embed <webview>. https links open in the system browser instead.
 */
import type { BrowserWindowConstructorOptions, WebContents } from 'electron';
import { isAppUrl } from './protocol.ts';

export interface WindowLook {
  title?: string;
  icon?: string;
  backgroundColor?: string;
  /** Whether the user may open the devtools (false in packaged builds). */
  devTools?: boolean;
}

export function secureWindowOptions(preloadPath: string, look: WindowLook = {}): BrowserWindowConstructorOptions {
  return {
    title: look.title ?? 'VAE Studio',
    width: 1360,
    height: 860,
    minWidth: 960,
    minHeight: 640,
    // Shown on 'ready-to-show' so the user never sees a blank white frame.
    show: false,
    backgroundColor: look.backgroundColor ?? '#11142a',
    ...(look.icon ? { icon: look.icon } : {}),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      plugins: false,
      spellcheck: false,
      enableWebSQL: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      devTools: look.devTools ?? true,
    },
  };
}

/** Navigation is allowed to our own origin (and the dev server's in development) only. */
export function isAllowedNavigation(url: string, extraOrigins: readonly string[] = []): boolean {
  if (isAppUrl(url)) return true;
  if (extraOrigins.length === 0) return false;
  try {
    const origin = new URL(url).origin;
    return origin !== 'null' && extraOrigins.includes(origin);
  } catch {
    return false;
  }
}

/** Only https links go to the system browser; file:, javascript:, custom schemes never do. */
export function isExternalLink(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

export type HardenTarget = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

export interface HardenDeps {
  /** shell.openExternal in the app; a spy in tests. */
  openExternal(url: string): Promise<void> | void;
  /** Origins allowed besides app://studio (the electron-vite dev server in development). */
  extraOrigins?: readonly string[];
  /** Told about every refused navigation or window (logging). */
  onBlocked?(kind: 'navigate' | 'redirect' | 'window' | 'webview', url: string): void;
}

export function hardenWebContents(contents: HardenTarget, deps: HardenDeps): void {
  const extra = deps.extraOrigins ?? [];
  const openOutside = (url: string): void => {
    if (!isExternalLink(url)) return;
    void Promise.resolve(deps.openExternal(url)).catch(() => undefined);
  };

  contents.on('will-navigate', (details) => {
    if (isAllowedNavigation(details.url, extra)) return;
    details.preventDefault();
    deps.onBlocked?.('navigate', details.url);
    // A plain <a href="https://..."> click: the user wanted the page, so show it outside the app.
    openOutside(details.url);
  });
  contents.on('will-frame-navigate', (details) => {
    // Subframes included: an iframe must not load anything but our own pages either. The DevTools
    // window (development builds only) navigates its own devtools:// frames.
    if (isAllowedNavigation(details.url, extra) || details.url.startsWith('devtools://')) return;
    details.preventDefault();
    deps.onBlocked?.('navigate', details.url);
  });
  contents.on('will-redirect', (details) => {
    if (isAllowedNavigation(details.url, extra)) return;
    details.preventDefault();
    deps.onBlocked?.('redirect', details.url);
  });
  contents.setWindowOpenHandler((details) => {
    deps.onBlocked?.('window', details.url);
    openOutside(details.url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event, _webPreferences, params) => {
    event.preventDefault();
    deps.onBlocked?.('webview', params['src'] ?? '');
  });
}
