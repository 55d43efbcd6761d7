#!/usr/bin/env node
/**
 * Builds better-sqlite3 for Electron's ABI into build/electron-native/better_sqlite3.node, without
 * touching node_modules/better-sqlite3 (whose Node-ABI build the tests and the CLI need). The app
 * passes that file to better-sqlite3 as `nativeBinding` (src-main/electron/native.ts);
 * electron-builder ships it as resources/electron-native/ (extraResources).
 *
 * How: copy the package to a temporary folder, then try a prebuilt binary for this Electron
 * (prebuild-install, from GitHub releases), else compile it (node-gyp against Electron's headers from
 * https://electronjs.org/headers). Both need the internet, or headers you already have (--nodedir).
 *
 *   node scripts/electron-native.mjs [--electron 45.5.0] [--arch x64] [--nodedir <headers dir>]
 *                                    [--out build/electron-native] [--from-source]
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const HEADERS_URL = 'https://electronjs.org/headers';

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`);
    const eq = a.indexOf('=');
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (key === 'from-source' || key === 'help') {
      out[key] = true;
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`${a} needs a value`);
    out[key] = value;
  }
  return out;
}

class Failure extends Error {
  constructor(lines) {
    super(lines.join('\n'));
    this.lines = lines;
  }
}
/** Throws, so that the temporary folder is still removed on the way out. */
function fail(lines) {
  throw new Failure(lines);
}

function run(label, cmd, args, opts) {
  console.log(`electron-native: ${label}: ${[cmd, ...args].map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', timeout: 20 * 60_000, ...opts });
  if (r.error) console.error(`electron-native: ${label} could not run: ${r.error.message}`);
  return r.status === 0;
}

/**
 * Loading an Electron-ABI addon in Node must fail with a NODE_MODULE_VERSION mismatch naming
 * Electron's ABI: a cheap check that the file is what we asked for and not a Node build.
 */
function checkAbi(file, expectedAbi) {
  try {
    process.dlopen({ exports: {} }, file);
    return { ok: false, why: `it loads in Node ${process.version}: it was built for Node, not Electron` };
  } catch (e) {
    // "...was compiled against a different Node.js version using NODE_MODULE_VERSION <file's>. This
    // version of Node.js requires NODE_MODULE_VERSION <node's>": the first number is the file's.
    const m = /NODE_MODULE_VERSION (\d+)/.exec(String(e?.message));
    if (m) {
      return m[1] === expectedAbi
        ? { ok: true, why: `NODE_MODULE_VERSION ${m[1]}` }
        : { ok: false, why: `it was built for NODE_MODULE_VERSION ${m[1]}, Electron needs ${expectedAbi}` };
    }
    // Another load error (missing symbols from Electron's binary, another platform): cannot tell here.
    return { ok: true, why: `not loadable in Node (${String(e?.message).split('\n')[0]}), ABI not checked` };
  }
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail([e.message]);
  }
  if (args.help) {
    console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
    return;
  }

  const electronPkg = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8'));
  const electronVersion = args.electron ?? electronPkg.version;
  const abiFile = path.join(path.dirname(require.resolve('electron/package.json')), 'abi_version');
  const abi = !args.electron && existsSync(abiFile) ? readFileSync(abiFile, 'utf8').trim() : null;
  const arch = args.arch ?? process.arch;
  const outDir = path.resolve(root, args.out ?? 'build/electron-native');
  const nodedir = args.nodedir ?? process.env.ELECTRON_HEADERS_DIR;

  const pkgDir = path.dirname(require.resolve('better-sqlite3/package.json'));
  const sqlitePkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  console.log(
    `electron-native: better-sqlite3 ${sqlitePkg.version} for Electron ${electronVersion}${abi ? ` (ABI ${abi})` : ''}, ${process.platform}-${arch}`,
  );

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vae-electron-native-'));
  const work = path.join(tmp, 'better-sqlite3');
  try {
    // Everything but the existing (Node-ABI) build output.
    cpSync(pkgDir, work, {
      recursive: true,
      filter: (src) => {
        const rel = path.relative(pkgDir, src);
        return !(rel === 'build' || rel.startsWith(`build${path.sep}`));
      },
    });
    // npm exports its config to scripts as npm_config_*; a nodedir there (e.g. nodedir=/usr in
    // .npmrc) would silently compile against Node's headers instead of Electron's.
    const env = { ...process.env };
    for (const k of Object.keys(env)) {
      if (/^npm_config_(nodedir|target|runtime|disturl|dist_url|arch|target_arch|build_from_source)$/i.test(k)) delete env[k];
    }

    const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
    let how = null;
    const prebuild = (() => {
      try {
        return path.join(path.dirname(require.resolve('prebuild-install/package.json')), 'bin.js');
      } catch {
        return null;
      }
    })();
    if (!args['from-source'] && !nodedir && prebuild) {
      const ok = run('prebuilt binary', process.execPath, [prebuild, '--runtime', 'electron', '--target', electronVersion, '--arch', arch, '--verbose'], {
        cwd: work,
        env,
      });
      if (ok && existsSync(built)) how = 'prebuilt (prebuild-install)';
    }
    if (!how) {
      const gyp = path.join(path.dirname(require.resolve('node-gyp/package.json')), 'bin', 'node-gyp.js');
      const gypArgs = ['rebuild', '--release', `--target=${electronVersion}`, `--arch=${arch}`];
      // Electron's headers are cached apart from Node's (same layout as @electron/rebuild).
      if (nodedir) gypArgs.push(`--nodedir=${path.resolve(nodedir)}`);
      else gypArgs.push(`--dist-url=${HEADERS_URL}`, `--devdir=${path.join(os.homedir(), '.electron-gyp')}`);
      const ok = run('compile', process.execPath, [gyp, ...gypArgs], { cwd: work, env });
      if (ok && existsSync(built)) how = nodedir ? `compiled (headers from ${nodedir})` : 'compiled (node-gyp)';
    }
    if (!how) {
      fail([
        `Could not build better-sqlite3 for Electron ${electronVersion}.`,
        'Both routes need files from the internet: prebuild-install downloads a prebuilt binary from',
        `GitHub, node-gyp downloads Electron's headers from ${HEADERS_URL}/v${electronVersion}/.`,
        'Offline, or behind a proxy that blocks those hosts, neither works (see the messages above).',
        'node_modules/better-sqlite3 was not touched: the tests and the CLI keep working.',
        'To fix it: run this script once on a machine with internet access (it writes',
        `${path.relative(root, outDir) || outDir}/), or unpack node-v${electronVersion}-headers.tar.gz from`,
        `${HEADERS_URL}/v${electronVersion}/ and pass --nodedir <that folder> (or ELECTRON_HEADERS_DIR).`,
        'Without this build the desktop app cannot open its history database (ABI mismatch).',
      ]);
    }

    if (abi && arch === process.arch) {
      const check = checkAbi(built, abi);
      if (!check.ok) fail([`The built addon is not an Electron ${electronVersion} addon: ${check.why}`]);
      console.log(`electron-native: ABI check: ${check.why}`);
    }

    mkdirSync(outDir, { recursive: true });
    copyFileSync(built, path.join(outDir, 'better_sqlite3.node'));
    writeFileSync(
      path.join(outDir, 'build-info.json'),
      JSON.stringify(
        {
          electron: electronVersion,
          abi,
          platform: process.platform,
          arch,
          betterSqlite3: sqlitePkg.version,
          how,
          builtAt: new Date().toISOString(),
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`electron-native: ${how}: wrote ${path.join(outDir, 'better_sqlite3.node')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  if (!(e instanceof Failure)) throw e;
  console.error(['', 'electron-native: FAILED', ...e.lines.map((l) => `  ${l}`), ''].join('\n'));
  process.exitCode = 1;
}
