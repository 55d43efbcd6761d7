/**
 * The Node launcher of trainer processes (CLI, web mode, tests): child_process.fork of the trainer
 * entry. Electron uses its own launcher built on utilityProcess, with the same TrainerHandle shape.
 *
 * Which file is forked:
 *  - running from TypeScript sources (this module is fork.ts, e.g. under tsx): trainer/main.ts with
 *    the tsx loader (`--import tsx`);
 *  - running from a bundle: `trainer.js` (or .mjs / .cjs) next to the bundle that contains this code,
 *    or one folder up when this code landed in a split chunk (the electron-vite build emits
 *    out/main/trainer.js beside out/main/index.js, chunks in out/main/chunks/);
 *  - running from per-file compiled JS (this module is fork.js): the sibling main.js.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromTrainer, ToTrainer, TrainerHandle } from './protocol.ts';

export interface ForkTrainerOptions {
  /** The trainer entry file; found next to this module when omitted (see above). */
  entry?: string;
  /** Node options of the child; `--import tsx` for a .ts entry when omitted. */
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** The entry file and Node options that a trainer started from this module needs. */
export function resolveTrainerEntry(moduleUrl: string = import.meta.url): { entry: string; execArgv: string[] } {
  return resolveEntry('trainer', moduleUrl);
}

/**
 * The same resolution for any process entry of this folder: 'trainer' (main.ts, bundled as
 * trainer.js) or 'probe' (probe.ts, bundled as probe.js; `vae-studio doctor` runs one per backend).
 */
export function resolveEntry(kind: 'trainer' | 'probe', moduleUrl: string = import.meta.url): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(moduleUrl);
  const dir = path.dirname(here);
  const source = kind === 'trainer' ? 'main' : 'probe';
  if (here.endsWith('.ts')) return { entry: path.join(dir, `${source}.ts`), execArgv: ['--import', tsxLoader()] };
  const names = [`${kind}.js`, `${kind}.mjs`, `${kind}.cjs`];
  const candidates = [...names.map((n) => path.join(dir, n)), ...names.map((n) => path.join(dir, '..', n))];
  if (/^fork\.[cm]?js$/.test(path.basename(here))) candidates.push(path.join(dir, path.basename(here).replace(/^fork/, source)));
  const found = candidates.find((file) => fs.existsSync(file));
  if (found) return { entry: path.resolve(found), execArgv: [] };
  throw new Error(`${kind} entry not found: looked for ${candidates.join(', ')}`);
}

/** The tsx ESM loader as an absolute URL, so the child finds it whatever its working directory. */
function tsxLoader(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

/** Starts a trainer process; satisfies TrainerLauncher (called with no arguments). */
export function forkTrainer(opts: ForkTrainerOptions = {}): TrainerHandle {
  const resolved = opts.entry ? { entry: opts.entry, execArgv: opts.entry.endsWith('.ts') ? ['--import', tsxLoader()] : [] } : resolveTrainerEntry();
  const child: ChildProcess = fork(resolved.entry, [], {
    execArgv: opts.execArgv ?? resolved.execArgv,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });

  let exited: { code: number | null; signal: string | null } | null = null;
  const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  const finish = (code: number | null, signal: string | null) => {
    if (exited) return;
    exited = { code, signal };
    for (const cb of exitListeners.splice(0)) cb(code, signal);
  };
  child.on('exit', (code, signal) => finish(code, signal));
  // 'error' fires when the process could not be spawned (then no 'exit' follows) or a send failed.
  child.on('error', () => {
    if (child.pid === undefined) finish(1, null);
  });

  return {
    get pid() {
      return child.pid;
    },
    send(msg: ToTrainer) {
      if (!child.connected) return;
      try {
        child.send(msg);
      } catch {
        // The channel closed between the check and the send: the exit callback reports the end.
      }
    },
    onMessage(cb: (msg: FromTrainer) => void) {
      child.on('message', (m) => cb(m as FromTrainer));
    },
    onExit(cb) {
      if (exited) {
        const { code, signal } = exited;
        queueMicrotask(() => cb(code, signal));
      } else {
        exitListeners.push(cb);
      }
    },
    kill() {
      if (exited) return;
      child.kill('SIGKILL');
    },
  };
}
