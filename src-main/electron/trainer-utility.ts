/**
 * The Electron TrainerLauncher: each training run gets its own utilityProcess running
 * out/main/trainer.js (the CLI and tests use child_process.fork instead). A utility process is a
 * Chromium service with Node inside: it needs no RunAsNode fuse, shows up in app.getAppMetrics()
 * under its serviceName, and its crash never takes the app down. Only `import type` from 'electron'.
 */
import type { UtilityProcess, utilityProcess as UtilityProcessModule } from 'electron';
import type { FromTrainer, ToTrainer, TrainerHandle, TrainerLauncher } from '../trainer/protocol.ts';

export const TRAINER_SERVICE_NAME = 'VAE trainer';

export type UtilityForker = Pick<typeof UtilityProcessModule, 'fork'>;
/** The part of UtilityProcess the handle uses. */
export type UtilityChild = Pick<UtilityProcess, 'postMessage' | 'kill' | 'pid' | 'on' | 'once'>;

export interface UtilityLauncherOptions {
  /** Environment of the trainer (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Arguments given to the trainer as process.argv. */
  args?: string[];
  /**
   * Ends a process at once. utilityProcess.kill() sends SIGTERM, which a trainer busy in a long
   * synchronous kernel only sees after it; the TrainerHandle contract asks for SIGKILL.
   */
  killPid?: (pid: number) => void;
}

const defaultKillPid = (pid: number): void => {
  process.kill(pid, 'SIGKILL');
};

/** Wraps one utility process as a TrainerHandle. Exported for tests. */
export function utilityTrainerHandle(child: UtilityChild, killPid: ((pid: number) => void) | null): TrainerHandle {
  const messageListeners: ((msg: FromTrainer) => void)[] = [];
  const exitListeners: ((code: number | null, signal: string | null) => void)[] = [];
  let exited: { code: number | null; signal: string | null } | null = null;
  let spawned = false;
  let killed = false;
  // Messages sent before 'spawn' are kept and delivered in order once the process runs.
  const pending: ToTrainer[] = [];

  child.once('spawn', () => {
    spawned = true;
    for (const msg of pending.splice(0)) child.postMessage(msg);
  });
  child.on('message', (msg: unknown) => {
    for (const cb of messageListeners) cb(msg as FromTrainer);
  });
  child.once('exit', (code: number) => {
    // A utility process reports only an exit code; when we killed it, report it the way
    // child_process does for a signal death so both launchers look the same to the supervisor.
    exited = killed ? { code: null, signal: 'SIGKILL' } : { code, signal: null };
    pending.length = 0;
    for (const cb of exitListeners.splice(0)) cb(exited.code, exited.signal);
  });

  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      if (exited) return;
      if (spawned) child.postMessage(msg);
      else pending.push(msg);
    },
    onMessage(cb) {
      messageListeners.push(cb);
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
      if (exited || killed) return;
      killed = true;
      const pid = child.pid;
      if (pid !== undefined && killPid && process.platform !== 'win32') {
        try {
          killPid(pid);
          return;
        } catch {
          // Already gone, or not ours to signal: fall back to Electron's own kill.
        }
      }
      child.kill();
    },
  };
}

export function createUtilityLauncher(
  utility: UtilityForker,
  trainerPath: string,
  options: UtilityLauncherOptions = {},
): TrainerLauncher {
  return () => {
    const child = utility.fork(trainerPath, options.args ?? [], {
      serviceName: TRAINER_SERVICE_NAME,
      env: options.env ?? process.env,
      stdio: 'inherit',
    });
    return utilityTrainerHandle(child, options.killPid ?? defaultKillPid);
  };
}
