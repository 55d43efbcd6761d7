import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createUtilityProber } from '../../../src-main/electron/probe-utility.ts';
import type { ProbeForker } from '../../../src-main/electron/probe-utility.ts';

/** A utility process double that prints what `script` says for its target, then exits. */
function fakeUtility(script: (target: string) => { stdout?: string; stderr?: string; code?: number; hang?: boolean }) {
  const forks: { path: string; args: string[]; options: unknown }[] = [];
  const utility = {
    fork(path: string, args: string[], options: unknown) {
      forks.push({ path, args, options });
      const child = Object.assign(new EventEmitter(), { stdout: new PassThrough(), stderr: new PassThrough(), killed: false, kill: () => true });
      const s = script(args[0]!);
      setImmediate(() => {
        if (s.stdout) child.stdout.write(s.stdout);
        if (s.stderr) child.stderr.write(s.stderr);
        if (!s.hang) setImmediate(() => child.emit('exit', s.code ?? 0));
      });
      return child;
    },
  } as unknown as ProbeForker;
  return { utility, forks };
}

const report = (target: string, ok: boolean) =>
  JSON.stringify({ target, ok, reason: ok ? null : 'nope', backend: ok ? target : null, device: ok ? 'CPU' : null, tfjsVersion: ok ? '4.22.0' : null, node: 'v', platform: 'linux', arch: 'x64', utilShimInstalled: false, ms: 1 });

test('each backend is probed in its own utility process, and its last report line is read', async () => {
  const { utility, forks } = fakeUtility((t) => ({ stdout: `banner {not json\n${report(t, t === 'wasm')}\n` }));
  const probe = createUtilityProber(utility, '/app/out/main/probe.js');
  const r = await probe(['tensorflow-gpu', 'wasm']);
  assert.deepEqual(forks.map((f) => [f.path, f.args[0]]), [
    ['/app/out/main/probe.js', 'tensorflow-gpu'],
    ['/app/out/main/probe.js', 'wasm'],
  ]);
  assert.deepEqual(r.map((x) => [x.target, x.ok]), [
    ['tensorflow-gpu', false],
    ['wasm', true],
  ]);
  assert.equal((forks[0]!.options as { stdio: string }).stdio, 'pipe', 'stdout must be readable');
});

test('a probe that dies without a report, or hangs, is reported with the reason', async () => {
  const { utility } = fakeUtility((t) => (t === 'cpu' ? { stderr: 'Segmentation fault\n', code: 139 } : { hang: true }));
  const probe = createUtilityProber(utility, '/p.js', 50);
  const [cpu, wasm] = await probe(['cpu', 'wasm']);
  assert.equal(cpu!.ok, false);
  assert.match(cpu!.reason ?? '', /exited with code 139 without a report: Segmentation fault/);
  assert.match(wasm!.reason ?? '', /did not answer within/);
});
