import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { nativeBindingDir, resolveNativeBinding } from '../../../src-main/electron/native.ts';

const loc = { isPackaged: false, resourcesPath: '/opt/VAE Studio/resources', appPath: '/src/vae-studio' };

test('the addon is looked up in build/electron-native (dev) or resources/electron-native (packaged)', () => {
  assert.equal(nativeBindingDir(loc), path.join('/src/vae-studio', 'build', 'electron-native'));
  assert.equal(nativeBindingDir({ ...loc, isPackaged: true }), path.join('/opt/VAE Studio/resources', 'electron-native'));
});

test('returns the addon path when it exists', () => {
  const addon = path.join('/opt/VAE Studio/resources', 'electron-native', 'better_sqlite3.node');
  const r = resolveNativeBinding({ ...loc, isPackaged: true, exists: (p) => p === addon });
  assert.deepEqual(r, { path: addon, reason: null });
});

test('no addon: undefined, with a reason that says how to build it', () => {
  const r = resolveNativeBinding({ ...loc, exists: () => false });
  assert.equal(r.path, undefined);
  assert.match(r.reason ?? '', /electron-native\.mjs/);
});

test('an addon stamped for another Electron is not used; a matching stamp is', () => {
  const stamp = (electron: string) => ({
    ...loc,
    electronVersion: '45.5.0',
    exists: () => true,
    readText: () => JSON.stringify({ electron, abi: '150' }),
  });
  const other = resolveNativeBinding(stamp('44.0.0'));
  assert.equal(other.path, undefined);
  assert.match(other.reason ?? '', /44\.0\.0/);
  assert.ok(resolveNativeBinding(stamp('45.5.0')).path?.endsWith('better_sqlite3.node'));
  // An unreadable stamp does not block the addon.
  assert.ok(resolveNativeBinding({ ...stamp('x'), readText: () => '{not json' }).path);
});
