/** Runs the real `vae-studio` command (bin/vae-studio.js) in a child process, as a user would. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/vae-studio.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `interruptWhen` sees stdout as it grows; the first time it answers true the process gets SIGINT
 * (what Ctrl+C sends). VAE_STUDIO_HOME is cleared so that only --data-dir chooses the history.
 */
export function runCli(args: string[], opts: { interruptWhen?: (stdout: string) => boolean } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VAE_STUDIO_HOME: '' } });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (opts.interruptWhen && !signalled && opts.interruptWhen(stdout)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON lines of a `--json` output. */
export const jsonLines = (s: string): Record<string, unknown>[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
