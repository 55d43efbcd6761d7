/**
 * Backend probing inside the desktop app. A packaged app has the runAsNode fuse off, so it cannot
 * fork itself as Node; each probe (out/main/probe.js) runs in an Electron utility process instead,
 * one per backend, and prints its report on stdout as under Node.
 */
import type { UtilityProcess, utilityProcess as UtilityProcessModule } from 'electron';
import type { ProbeReport, ProbeTarget } from '../contract/index.ts';
import { failedProbe, readProbeOutput } from '../trainer/probes.ts';

export type ProbeForker = Pick<typeof UtilityProcessModule, 'fork'>;
type ProbeChild = Pick<UtilityProcess, 'stdout' | 'stderr' | 'once' | 'kill'>;

export function createUtilityProber(utility: ProbeForker, probePath: string, timeoutMs = 60_000) {
  const one = (target: ProbeTarget): Promise<ProbeReport> =>
    new Promise((resolve) => {
      let child: ProbeChild;
      try {
        child = utility.fork(probePath, [target], { serviceName: `VAE backend probe (${target})`, stdio: 'pipe' });
      } catch (e) {
        resolve(failedProbe(target, `the probe could not start: ${(e as Error).message}`));
        return;
      }
      let out = '';
      let err = '';
      child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
      const timer = setTimeout(() => {
        child.kill();
        resolve(failedProbe(target, `the probe did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      child.once('exit', (code: number) => {
        clearTimeout(timer);
        resolve(readProbeOutput(target, out, err, code, null));
      });
    });
  return (targets: readonly ProbeTarget[]): Promise<ProbeReport[]> => Promise.all(targets.map(one));
}
