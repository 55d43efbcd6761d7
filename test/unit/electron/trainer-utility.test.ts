import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import {
  TRAINER_SERVICE_NAME,
  createUtilityLauncher,
  utilityTrainerHandle,
} from '../../../src-main/electron/trainer-utility.ts';
import type { UtilityChild, UtilityForker } from '../../../src-main/electron/trainer-utility.ts';
import type { FromTrainer, ToTrainer } from '../../../src-main/trainer/protocol.ts';

/** Behaves like Electron's UtilityProcess: pid after 'spawn', postMessage, 'message', 'exit'(code). */
class FakeUtility extends EventEmitter {
  pid: number | undefined = undefined;
  posted: unknown[] = [];
  killCalls = 0;
  postMessage(msg: unknown) {
    if (this.pid === undefined) throw new Error('posted before spawn');
    this.posted.push(msg);
  }
  kill() {
    this.killCalls++;
    return true;
  }
  spawn(pid = 4242) {
    this.pid = pid;
    this.emit('spawn');
  }
  exit(code: number) {
    this.pid = undefined;
    this.emit('exit', code);
  }
}

const start: ToTrainer = {
  type: 'start',
  runId: 'r1',
  config: {} as never,
  dataset: { kind: 'builtin', name: 'digits' },
  checkpointDir: '/tmp/ck',
};

describe('utilityProcess trainer launcher', () => {
  test('forks the trainer script as the "VAE trainer" service', () => {
    const forks: [string, string[], Record<string, unknown>][] = [];
    const child = new FakeUtility();
    const forker = {
      fork: (p: string, args: string[], opts: Record<string, unknown>) => {
        forks.push([p, args, opts]);
        return child;
      },
    };
    const launch = createUtilityLauncher(forker as unknown as UtilityForker, '/app/out/main/trainer.js', {
      env: { A: '1' },
    });
    const handle = launch();
    assert.equal(forks.length, 1);
    assert.equal(forks[0]![0], '/app/out/main/trainer.js');
    assert.equal(forks[0]![2]['serviceName'], TRAINER_SERVICE_NAME);
    assert.equal(TRAINER_SERVICE_NAME, 'VAE trainer');
    assert.deepEqual(forks[0]![2]['env'], { A: '1' });
    child.spawn(99);
    assert.equal(handle.pid, 99);
  });

  test('messages sent before spawn are delivered in order once it runs; later ones at once', () => {
    const child = new FakeUtility();
    const h = utilityTrainerHandle(child as unknown as UtilityChild, null);
    assert.equal(h.pid, undefined);
    h.send(start);
    h.send({ type: 'stop' });
    assert.deepEqual(child.posted, []);
    child.spawn();
    assert.deepEqual(child.posted, [start, { type: 'stop' }]);
    h.send({ type: 'stop' });
    assert.equal(child.posted.length, 3);
  });

  test('trainer messages reach every onMessage listener', () => {
    const child = new FakeUtility();
    const h = utilityTrainerHandle(child as unknown as UtilityChild, null);
    const a: FromTrainer[] = [];
    const b: FromTrainer[] = [];
    h.onMessage((m) => a.push(m));
    h.onMessage((m) => b.push(m));
    child.spawn();
    const msg: FromTrainer = { type: 'done', status: 'completed' };
    child.emit('message', msg);
    assert.deepEqual(a, [msg]);
    assert.deepEqual(b, [msg]);
  });

  test('exit is reported once, with the code; late listeners still hear it', async () => {
    const child = new FakeUtility();
    const h = utilityTrainerHandle(child as unknown as UtilityChild, null);
    const exits: [number | null, string | null][] = [];
    h.onExit((c, s) => exits.push([c, s]));
    child.spawn();
    child.exit(3);
    child.emit('exit', 4); // a second 'exit' must not be reported again
    assert.deepEqual(exits, [[3, null]]);
    const late = await new Promise<[number | null, string | null]>((resolve) => h.onExit((c, s) => resolve([c, s])));
    assert.deepEqual(late, [3, null]);
    h.send({ type: 'stop' }); // after exit: dropped, no throw
  });

  test('kill() sends SIGKILL to the pid and reports a signal death', () => {
    const child = new FakeUtility();
    const killed: number[] = [];
    const h = utilityTrainerHandle(child as unknown as UtilityChild, (pid) => killed.push(pid));
    const exits: [number | null, string | null][] = [];
    h.onExit((c, s) => exits.push([c, s]));
    child.spawn(77);
    h.kill();
    h.kill();
    if (process.platform === 'win32') assert.equal(child.killCalls, 1);
    else assert.deepEqual(killed, [77]);
    child.exit(137);
    assert.deepEqual(exits, [[null, 'SIGKILL']]);
  });

  test('kill() falls back to UtilityProcess.kill() when signalling fails or there is no pid yet', () => {
    const child = new FakeUtility();
    const h = utilityTrainerHandle(child as unknown as UtilityChild, () => {
      throw new Error('ESRCH');
    });
    child.spawn(5);
    h.kill();
    assert.equal(child.killCalls, 1);

    const unspawned = new FakeUtility();
    const h2 = utilityTrainerHandle(unspawned as unknown as UtilityChild, () => assert.fail('no pid to signal'));
    h2.kill();
    assert.equal(unspawned.killCalls, 1);
  });
});
