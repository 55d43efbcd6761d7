/**
 * The packaging configuration, checked without packaging (which needs the Electron binary and the
 * network): electron-builder.json, the icon, the electron-vite build layout, and that the paths the
 * main process computes match what the build writes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { minimatch } from 'minimatch';
import { NATIVE_DIR, NATIVE_STAMP, SQLITE_ADDON } from '../../src-main/electron/native.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => readFileSync(path.join(repo, p));

interface BuilderConfig {
  appId: string;
  productName: string;
  icon: string;
  files: string[];
  asar: boolean;
  asarUnpack: string[];
  extraResources: { from: string; to: string; filter?: string[] }[];
  npmRebuild: boolean;
  electronFuses: Record<string, boolean>;
  directories: { output: string; buildResources: string };
  linux: { target: string[]; icon?: string };
  win: { target: string[] };
  mac: { target: string[] };
}
const config = JSON.parse(read('electron-builder.json').toString('utf8')) as BuilderConfig;

/** electron-builder's reading of `files`: patterns in order, the last one matching a path wins. */
function packaged(file: string): boolean {
  let included = file.startsWith('node_modules/'); // production dependencies are always added
  for (const p of config.files) {
    const negated = p.startsWith('!');
    if (minimatch(file, negated ? p.slice(1) : p, { dot: true })) included = !negated;
  }
  return included;
}
const unpacked = (file: string) => config.asarUnpack.some((p) => minimatch(file, p, { dot: true }));

describe('electron-builder.json', () => {
  test('identity and targets: AppImage + deb, NSIS, DMG', () => {
    assert.match(config.appId, /^[a-z][a-z0-9]*(\.[a-z0-9-]+)+$/i);
    assert.equal(config.productName, 'VAE Studio');
    assert.deepEqual([...config.linux.target].sort(), ['AppImage', 'deb']);
    assert.deepEqual(config.win.target, ['nsis']);
    assert.deepEqual(config.mac.target, ['dmg']);
  });

  test('never rebuilds node_modules in place (the Node-ABI build must survive)', () => {
    assert.equal(config.npmRebuild, false);
  });

  test('fuses: no RunAsNode, no NODE_OPTIONS, no inspector, asar integrity, asar only, encrypted cookies', () => {
    assert.deepEqual(
      {
        runAsNode: config.electronFuses['runAsNode'],
        enableNodeOptionsEnvironmentVariable: config.electronFuses['enableNodeOptionsEnvironmentVariable'],
        enableNodeCliInspectArguments: config.electronFuses['enableNodeCliInspectArguments'],
        enableEmbeddedAsarIntegrityValidation: config.electronFuses['enableEmbeddedAsarIntegrityValidation'],
        onlyLoadAppFromAsar: config.electronFuses['onlyLoadAppFromAsar'],
        enableCookieEncryption: config.electronFuses['enableCookieEncryption'],
      },
      {
        runAsNode: false,
        enableNodeOptionsEnvironmentVariable: false,
        enableNodeCliInspectArguments: false,
        enableEmbeddedAsarIntegrityValidation: true,
        onlyLoadAppFromAsar: true,
        enableCookieEncryption: true,
      },
    );
    assert.equal(config.asar, true, 'the fuses above only mean something with an asar');
  });

  test('files: the build output and package.json go in; sources and tests do not', () => {
    assert.ok(config.files.includes('out/**/*'));
    assert.ok(config.files.includes('package.json'));
    for (const f of ['out/main/index.js', 'out/main/trainer.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'out/renderer/assets/index-abc.js', 'package.json']) {
      assert.ok(packaged(f), `${f} must be packaged`);
    }
    for (const f of ['src-main/electron/main.ts', 'test/unit/packaging.test.ts', 'scripts/start.mjs', 'build/electron-native/better_sqlite3.node']) {
      assert.ok(!packaged(f), `${f} must not be packaged`);
    }
  });

  test('the exclusions keep every runtime entry point of the dependencies', () => {
    for (const f of [
      'node_modules/@tensorflow/tfjs/dist/tf.node.js',
      'node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
      'node_modules/better-sqlite3/lib/index.js',
      'node_modules/better-sqlite3/package.json',
      'node_modules/zod/v4/index.js',
      'node_modules/ws/index.js',
      // The offline sampler page of an export copies the browser build of tfjs.
      'node_modules/@tensorflow/tfjs/dist/tf.min.js',
      'node_modules/onnxruntime-node/dist/index.js',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    ]) {
      assert.ok(packaged(f), `${f} must be packaged`);
    }
    for (const f of [
      'node_modules/@tensorflow/tfjs/dist/tf.min.js.map',
      'node_modules/@tensorflow/tfjs/dist/tf.es2017.js',
      'node_modules/@tensorflow/tfjs/dist/tf.es2017.min.js',
      'node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js',
      'node_modules/onnxruntime-node/script/install.js',
      'node_modules/better-sqlite3/deps/sqlite3/sqlite3.c',
      'node_modules/better-sqlite3/build/Release/obj.target/better_sqlite3/src/better_sqlite3.o',
    ]) {
      assert.ok(!packaged(f), `${f} is dead weight`);
    }
  });

  test('asarUnpack covers the native modules and the tfjs wasm files', () => {
    for (const f of [
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'node_modules/better-sqlite3/lib/database.js',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm',
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
      'node_modules/@tensorflow/tfjs-node-gpu/deps/lib/libtensorflow.so.2',
    ]) {
      assert.ok(unpacked(f), `${f} must be unpacked`);
    }
    // The ONNX Runtime binding loads libonnxruntime from its own folder: both must be real files.
    assert.ok(unpacked('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'));
    assert.ok(!unpacked('out/main/index.js'), 'the app code stays inside the asar (integrity)');
  });

  test('each installer carries only its own platform of the ONNX Runtime binaries', () => {
    const b = 'node_modules/onnxruntime-node/bin/napi-v6';
    const ships = (platform: 'linux' | 'win' | 'mac', file: string) =>
      !((config as unknown as Record<string, { files?: string[] }>)[platform]?.files ?? []).some(
        (p) => p.startsWith('!') && minimatch(file, p.slice(1), { dot: true }),
      );
    assert.ok(ships('linux', `${b}/linux/x64/libonnxruntime.so.1`) && !ships('linux', `${b}/win32/x64/onnxruntime.dll`) && !ships('linux', `${b}/darwin/arm64/libonnxruntime.1.dylib`));
    assert.ok(ships('win', `${b}/win32/x64/onnxruntime.dll`) && !ships('win', `${b}/linux/x64/libonnxruntime.so.1`));
    assert.ok(ships('mac', `${b}/darwin/arm64/libonnxruntime.1.dylib`) && !ships('mac', `${b}/linux/x64/libonnxruntime.so.1`));
  });

  test('the Electron-ABI SQLite build ships as resources/electron-native (where native.ts looks)', () => {
    const native = config.extraResources.find((r) => r.from === 'build/electron-native');
    assert.ok(native, 'extraResources has build/electron-native');
    assert.equal(native.to, NATIVE_DIR);
    assert.deepEqual([...(native.filter ?? [])].sort(), [SQLITE_ADDON, NATIVE_STAMP].sort());
    const icon = config.extraResources.find((r) => r.from === 'resources/icon.png');
    assert.equal(icon?.to, 'icon.png', 'main.ts reads the window icon from resources/icon.png');
  });
});

describe('icon', () => {
  test('resources/icon.png is a valid 512x512 RGBA PNG', () => {
    const png = read(config.icon);
    assert.equal(config.icon, 'resources/icon.png');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    // The first chunk must be IHDR: length 13, then width, height, bit depth, colour type.
    assert.equal(png.readUInt32BE(8), 13);
    assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
    assert.equal(png.readUInt32BE(16), 512, 'width');
    assert.equal(png.readUInt32BE(20), 512, 'height');
    assert.equal(png[24], 8, 'bit depth');
    assert.equal(png[25], 6, 'colour type RGBA');

    // Decode it fully: chunk CRCs, one zlib stream of 512 filtered rows, and a real picture in it.
    let offset = 8;
    const idat: Buffer[] = [];
    let sawEnd = false;
    while (offset < png.length) {
      const len = png.readUInt32BE(offset);
      const type = png.subarray(offset + 4, offset + 8).toString('ascii');
      if (type === 'IDAT') idat.push(png.subarray(offset + 8, offset + 8 + len));
      if (type === 'IEND') sawEnd = true;
      offset += 12 + len;
    }
    assert.ok(sawEnd, 'IEND');
    const raw = inflateSync(Buffer.concat(idat));
    assert.equal(raw.length, (512 * 4 + 1) * 512);
    // The corners are transparent (rounded tile) and the centre is opaque.
    const rowStart = (y: number) => y * (512 * 4 + 1);
    assert.ok(raw[rowStart(0)]! <= 4, 'known filter type');
    // Undo the filters to read pixels (types 0..4, RFC 2083 section 6).
    const px = Buffer.alloc(512 * 512 * 4);
    for (let y = 0; y < 512; y++) {
      const f = raw[rowStart(y)]!;
      for (let i = 0; i < 512 * 4; i++) {
        const x = raw[rowStart(y) + 1 + i]!;
        const a = i >= 4 ? px[y * 2048 + i - 4]! : 0;
        const b = y > 0 ? px[(y - 1) * 2048 + i]! : 0;
        const c = i >= 4 && y > 0 ? px[(y - 1) * 2048 + i - 4]! : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        const pred = [0, a, b, (a + b) >> 1, paeth][f]!;
        px[y * 2048 + i] = (x + pred) & 0xff;
      }
    }
    const alpha = (x: number, y: number) => px[(y * 512 + x) * 4 + 3]!;
    assert.equal(alpha(0, 0), 0, 'top-left corner transparent');
    assert.equal(alpha(511, 511), 0, 'bottom-right corner transparent');
    assert.equal(alpha(256, 256), 255, 'centre opaque');
    const distinct = new Set<number>();
    for (let i = 0; i < px.length; i += 4 * 97) distinct.add(px.readUInt32BE(i));
    assert.ok(distinct.size > 200, `a drawn picture, not a flat fill (${distinct.size} colours sampled)`);
  });

  test('resources/icon.svg is the same 512x512 design as a vector', () => {
    const svg = read('resources/icon.svg').toString('utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /viewBox="0 0 512 512"/);
    assert.match(svg, /<\/svg>\s*$/);
  });
});

describe('build layout', () => {
  test('electron.vite.config: main + trainer entries, CommonJS self-contained preload, renderer from src-renderer', async () => {
    type Cfg = {
      main: { build: { outDir: string; rolldownOptions: { input: Record<string, string>; output: { format: string } }; externalizeDeps: { include: string[] } } };
      preload: { build: { outDir: string; externalizeDeps: boolean; rolldownOptions: { input: Record<string, string>; output: { format: string; entryFileNames: string } } } };
      renderer: { root: string; base: string; plugins: unknown[]; build: { outDir: string } };
    };
    const mod = (await import('../../electron.vite.config.ts')) as { default: (env: { command: string; mode: string }) => Cfg };
    const cfg = mod.default({ command: 'build', mode: 'production' });
    const rel = (p: string) => path.relative(repo, p).split(path.sep).join('/');

    assert.equal(rel(cfg.main.build.outDir), 'out/main');
    const input = cfg.main.build.rolldownOptions.input;
    assert.equal(rel(input['index']!), 'src-main/electron/main.ts');
    assert.equal(rel(input['trainer']!), 'src-main/trainer/main.ts');
    // Without its own bundle entry, backend.ts finds no step-worker.js and wasm training quietly uses one thread.
    assert.equal(rel(input['step-worker']!), 'src-main/trainer/step-worker.ts');
    assert.equal(cfg.main.build.rolldownOptions.output.format, 'es');
    assert.ok(cfg.main.build.externalizeDeps.include.includes('@tensorflow/tfjs-node'));

    assert.equal(rel(cfg.preload.build.outDir), 'out/preload');
    assert.equal(rel(cfg.preload.build.rolldownOptions.input['index']!), 'src-main/preload/index.ts');
    assert.equal(cfg.preload.build.rolldownOptions.output.format, 'cjs');
    assert.equal(cfg.preload.build.rolldownOptions.output.entryFileNames, '[name].cjs');
    assert.equal(cfg.preload.build.externalizeDeps, false);

    assert.equal(rel(cfg.renderer.root), 'src-renderer');
    assert.equal(cfg.renderer.base, './');
    assert.equal(rel(cfg.renderer.build.outDir), 'out/renderer');
    assert.ok(cfg.renderer.plugins.length > 0, 'the svelte plugin');
  });

  test('main.ts looks for the preload, trainer and renderer where the build writes them', () => {
    const main = read('src-main/electron/main.ts').toString('utf8');
    assert.match(main, /path\.join\(here, '\.\.\/preload\/index\.cjs'\)/);
    assert.match(main, /path\.join\(here, 'trainer\.js'\)/);
    assert.match(main, /path\.join\(here, '\.\.\/renderer'\)/);
    const pkg = JSON.parse(read('package.json').toString('utf8')) as { main: string };
    assert.equal(pkg.main, 'out/main/index.js');
    assert.ok(existsSync(path.join(repo, 'src-main/preload/index.ts')));
  });
});
