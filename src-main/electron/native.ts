/**
 * Where the Electron-ABI build of better-sqlite3 lives. npm builds better-sqlite3 for Node's ABI
 * (the tests need that one); Electron needs one built against its own headers, which
 * scripts/electron-native.mjs writes to build/electron-native/ without touching node_modules.
 * electron-builder copies that folder to <resources>/electron-native/ (extraResources). No 'electron'
 * import: main.ts passes app.isPackaged, process.resourcesPath and app.getAppPath().
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const NATIVE_DIR = 'electron-native';
export const SQLITE_ADDON = 'better_sqlite3.node';
/** Written beside the addon by scripts/electron-native.mjs: which Electron it was built for. */
export const NATIVE_STAMP = 'build-info.json';

export interface NativeLocation {
  isPackaged: boolean;
  /** process.resourcesPath (packaged). */
  resourcesPath: string;
  /** app.getAppPath(): the project root in development. */
  appPath: string;
  /** process.versions.electron, checked against the stamp when both are known. */
  electronVersion?: string;
  exists?: (p: string) => boolean;
  readText?: (p: string) => string;
}

export type NativeBindingResult =
  | { path: string; reason: null }
  | { path: undefined; reason: string };

export function nativeBindingDir(loc: Pick<NativeLocation, 'isPackaged' | 'resourcesPath' | 'appPath'>): string {
  return loc.isPackaged ? path.join(loc.resourcesPath, NATIVE_DIR) : path.join(loc.appPath, 'build', NATIVE_DIR);
}

/**
 * The addon path to pass as better-sqlite3's nativeBinding, or undefined (with the reason) when
 * there is none or it was built for another Electron: better-sqlite3 then loads its default build,
 * which only works if that one happens to match Electron's ABI.
 */
export function resolveNativeBinding(loc: NativeLocation): NativeBindingResult {
  const exists = loc.exists ?? existsSync;
  const readText = loc.readText ?? ((p: string) => readFileSync(p, 'utf8'));
  const dir = nativeBindingDir(loc);
  const addon = path.join(dir, SQLITE_ADDON);
  if (!exists(addon)) {
    return { path: undefined, reason: `no Electron build of better-sqlite3 at ${addon} (run: node scripts/electron-native.mjs)` };
  }
  const stampPath = path.join(dir, NATIVE_STAMP);
  if (loc.electronVersion && exists(stampPath)) {
    try {
      const stamp = JSON.parse(readText(stampPath)) as { electron?: unknown };
      if (typeof stamp.electron === 'string' && stamp.electron !== loc.electronVersion) {
        return {
          path: undefined,
          reason: `${addon} was built for Electron ${stamp.electron}, this is ${loc.electronVersion} (rerun scripts/electron-native.mjs)`,
        };
      }
    } catch {
      // An unreadable stamp says nothing either way: use the addon, loading it is the real test.
    }
  }
  return { path: addon, reason: null };
}
