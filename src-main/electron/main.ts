/**
 * The Electron composition root (built to out/main/index.js). Everything that can be tested without
 * Electron lives beside it (window.ts, security.ts, protocol.ts, ipc.ts, trainer-utility.ts,
 * native.ts); this file only wires the real objects together.
 *
 * Order matters: the app:// scheme must be registered as privileged before 'ready', and the
 * single-instance lock is taken before anything opens the history database (two processes writing
 * one SQLite file is what the lock prevents).
 */
import { BrowserWindow, Menu, Notification, app, dialog, ipcMain, protocol, session, shell, utilityProcess } from 'electron';
import type { MenuItemConstructorOptions } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDataDir } from '../services/paths.ts';
import { createStudio } from '../services/studio.ts';
import type { Studio } from '../services/studio-api.ts';
import { createSenderCheck, forwardStudioEvents, registerIpc } from './ipc.ts';
import { resolveNativeBinding } from './native.ts';
import { subscribeRunNotifications } from './notify.ts';
import { APP_ENTRY_URL, APP_SCHEME, createAppProtocolHandler, isAppUrl } from './protocol.ts';
import { CONTENT_SECURITY_POLICY, denyAllPermissions, installCsp } from './security.ts';
import { system } from '../services/system.ts';
import { createUtilityProber } from './probe-utility.ts';
import { createUtilityLauncher } from './trainer-utility.ts';
import { hardenWebContents, isAllowedNavigation, secureWindowOptions } from './window.ts';

export const APP_USER_MODEL_ID = 'org.vaestudio.app';

const here = path.dirname(fileURLToPath(import.meta.url)); // out/main
const PRELOAD = path.join(here, '../preload/index.cjs');
const RENDERER_DIR = path.join(here, '../renderer');
const TRAINER = path.join(here, 'trainer.js');
const PROBE = path.join(here, 'probe.js');

// electron-vite dev serves the renderer with HMR; only an unpackaged app may trust that origin.
const devUrl = !app.isPackaged ? process.env['ELECTRON_RENDERER_URL'] : undefined;
const extraOrigins: string[] = devUrl ? [new URL(devUrl).origin] : [];

protocol.registerSchemesAsPrivileged([
  {
    scheme: APP_SCHEME,
    // standard: real origin (app://studio) and relative URL resolution; secure: treated like https.
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true, codeCache: true },
  },
]);
// Every renderer sandboxed, whatever its webPreferences say.
app.enableSandbox();

let studio: Studio | null = null;
let mainWindow: BrowserWindow | null = null;
let quitting = false;

/** The window icon (Linux shows it; macOS and Windows use the bundle's). extraResources in a package. */
function iconPath(): string {
  return app.isPackaged ? path.join(process.resourcesPath, 'icon.png') : path.join(app.getAppPath(), 'resources', 'icon.png');
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(secureWindowOptions(PRELOAD, { icon: iconPath(), devTools: !app.isPackaged }));
  win.once('ready-to-show', () => win.show());
  win.webContents.on('render-process-gone', (_e, details) => {
    console.error(`[vae-studio] renderer gone: ${details.reason} (exit ${details.exitCode})`);
  });
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  void win.loadURL(devUrl ?? APP_ENTRY_URL);
  return win;
}

function buildMenu(dataDir: string): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Data Folder', click: () => void shell.openPath(dataDir) },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        ...(!app.isPackaged
          ? ([{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }] as MenuItemConstructorOptions[])
          : []),
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function start(): Promise<void> {
  await app.whenReady();
  if (process.platform === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID);

  const dataDir = resolveDataDir(process.argv, process.env, app.getPath('userData'));
  const native = resolveNativeBinding({
    isPackaged: app.isPackaged,
    resourcesPath: process.resourcesPath,
    appPath: app.getAppPath(),
    electronVersion: process.versions.electron,
  });
  if (native.reason) console.warn(`[vae-studio] ${native.reason}`);

  const ses = session.defaultSession;
  denyAllPermissions(ses);
  installCsp(ses, CONTENT_SECURITY_POLICY, (url) => extraOrigins.length > 0 && isAllowedNavigation(url, extraOrigins) && !isAppUrl(url));
  protocol.handle(APP_SCHEME, createAppProtocolHandler(RENDERER_DIR, { contentSecurityPolicy: CONTENT_SECURITY_POLICY }));

  try {
    studio = createStudio({
      dataDir,
      mode: 'electron',
      launcher: createUtilityLauncher(utilityProcess, TRAINER),
      appVersion: app.getVersion(),
      ...(native.path ? { nativeBinding: native.path } : {}),
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    dialog.showErrorBox('VAE Studio could not start', `${message}\n\nData folder: ${dataDir}`);
    app.exit(1);
    return;
  }

  // Backend probes run as utility processes here (a packaged app cannot fork itself as Node).
  system.setProber(createUtilityProber(utilityProcess, PROBE));

  const windows = () => BrowserWindow.getAllWindows().map((w) => w.webContents);
  registerIpc(ipcMain, studio, createSenderCheck({ windows, extraOrigins }));
  forwardStudioEvents(studio, windows, extraOrigins);
  // Long runs that finish or fail get a native notification; clicking it brings the window back
  // and opens the run in it.
  subscribeRunNotifications(studio, {
    isSupported: () => Notification.isSupported(),
    create: (options) => new Notification(options),
    focus: () => {
      if (!mainWindow || mainWindow.isDestroyed()) mainWindow = createWindow();
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.show();
      mainWindow.focus();
      return mainWindow.webContents;
    },
  });

  buildMenu(dataDir);
  mainWindow = createWindow();
}

// Every web contents (the window, and anything it might try to create) gets the same guards.
app.on('web-contents-created', (_event, contents) => {
  hardenWebContents(contents, {
    openExternal: (url) => shell.openExternal(url),
    extraOrigins,
    onBlocked: (kind, url) => console.warn(`[vae-studio] blocked ${kind}: ${url}`),
  });
});

if (!app.requestSingleInstanceLock()) {
  // Another studio already owns the data folder: it gets focused by its 'second-instance' handler.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (studio && BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow();
  });
  app.on('before-quit', (event) => {
    if (quitting || !studio) return;
    // Stop the trainers (their runs end as 'stopped') and close the database before exiting.
    event.preventDefault();
    quitting = true;
    const closing = studio.close().catch((e: unknown) => console.error('[vae-studio] close failed:', e));
    const timeout = new Promise((resolve) => setTimeout(resolve, 10_000));
    void Promise.race([closing, timeout]).finally(() => app.quit());
  });
  start().catch((e: unknown) => {
    console.error('[vae-studio] failed to start:', e);
    app.exit(1);
  });
}
