#!/usr/bin/env node
/**
 * `npm start`: build the desktop app with electron-vite and launch it in Electron. When Electron
 * cannot run on this machine (its binary cannot be downloaded, there is no display, or it dies as
 * it starts), say why and serve the same studio in the browser instead (`vae-studio serve`), so the
 * command does something useful everywhere.
 *
 *   npm start [-- --data-dir DIR] [-- --web] [-- --port N]
 *     --data-dir DIR  where the run history lives (both modes)
 *     --web           skip Electron, go straight to web mode
 *     --port N, --host H   web mode only
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');
/** An Electron that exits with an error sooner than this after launch counts as "could not start". */
const STARTUP_GRACE_MS = 8000;

function parseArgs(argv) {
  const opts = { dataDir: undefined, web: false, serveArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    if (key === '--data-dir') opts.dataDir = path.resolve(value() ?? '.');
    else if (key === '--web') opts.web = true;
    else if (key === '--port' || key === '--host') opts.serveArgs.push(key, value());
    else if (key === '--allow-remote') opts.serveArgs.push(key);
    else {
      console.error(`start: unknown option ${a} (known: --data-dir DIR, --web, --port N, --host H)`);
      process.exit(2);
    }
  }
  return opts;
}

const say = (msg) => console.log(`\n[vae-studio] ${msg}`);

/** Runs a node script to completion with inherited output; returns its exit code. */
function runNode(args, opts = {}) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) console.error(r.error.message);
  return r.status ?? 1;
}

/** Where the electron package would run its binary from (same rules as its index.js). */
function electronBinary() {
  const pathFile = path.join(electronDir, 'path.txt');
  const exe = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const bin = override ? path.join(override, exe || 'electron') : exe ? path.join(electronDir, 'dist', exe) : null;
  return bin && existsSync(bin) ? bin : null;
}

/** Why Electron cannot be used here, or null. May download the binary (Electron 45 fetches it lazily). */
function electronUnavailable() {
  if (!existsSync(path.join(electronDir, 'package.json'))) return 'the electron package is not installed';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  }
  if (!electronBinary()) {
    say('The Electron binary is not here yet; downloading it (once)...');
    const code = runNode([path.join(electronDir, 'install.js')], { timeout: 10 * 60_000 });
    if (code !== 0 || !electronBinary()) {
      return 'the Electron binary could not be downloaded (offline, or github.com unreachable; see above)';
    }
  }
  return null;
}

/** Launches Electron on the built app. Resolves {started: true, code} or {started: false, reason}. */
function launchElectron(dataDir) {
  return new Promise((resolve) => {
    const args = [path.join(electronDir, 'cli.js'), '.'];
    if (dataDir) args.push(`--data-dir=${dataDir}`);
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    const forward = (sig) => () => child.kill(sig);
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const done = (result) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(result);
    };
    child.on('error', (e) => done({ started: false, reason: `Electron could not be started: ${e.message}` }));
    child.on('exit', (code, signal) => {
      const quick = Date.now() - t0 < STARTUP_GRACE_MS;
      if (quick && code !== 0 && signal === null) {
        const rootHint =
          process.platform === 'linux' && process.getuid?.() === 0
            ? ' (as root, Chromium refuses to start without --no-sandbox: run as a normal user)'
            : '';
        done({ started: false, reason: `Electron exited with code ${code} as it started${rootHint}` });
      } else {
        done({ started: true, code: code ?? 1 });
      }
    });
  });
}

async function webMode(opts, rendererBuilt) {
  if (!rendererBuilt || !existsSync(path.join(root, 'out', 'renderer', 'index.html'))) {
    say('Building the renderer for web mode...');
    const code = runNode([path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.renderer.config.ts']);
    if (code !== 0) return code;
  }
  const args = [path.join(root, 'bin', 'vae-studio.js')];
  if (opts.dataDir) args.push('--data-dir', opts.dataDir);
  args.push('serve', ...opts.serveArgs);
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1))));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let reason = opts.web ? 'web mode was asked for (--web)' : electronUnavailable();
  let built = false;
  if (!reason) {
    say('Building the desktop app (electron-vite build)...');
    const code = runNode([path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']);
    if (code !== 0) {
      say('The build failed (see above).');
      return code;
    }
    built = true;
    say('Starting VAE Studio...');
    const r = await launchElectron(opts.dataDir);
    if (r.started) return r.code;
    reason = r.reason;
  }
  say(`Not using Electron: ${reason}.\n[vae-studio] Falling back to web mode: the same studio, served on 127.0.0.1 for your browser.`);
  return webMode(opts, built);
}

process.exitCode = await main();
