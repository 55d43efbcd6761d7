/**
 * A scripted stand-in for the trainer process, for unit tests of the supervisor and the services.
 * (The real trainer process is exercised by the integration tests.)
 */
import { EventEmitter } from 'node:events';
import type { EpochPoint, StepPoint } from '../../src-main/contract/index.ts';
import type { FromTrainer, ToTrainer, TrainerHandle, TrainerLauncher } from '../../src-main/trainer/protocol.ts';

export class FakeTrainer implements TrainerHandle {
  readonly pid = 424242;
  readonly received: ToTrainer[] = [];
  killed = false;
  exited = false;
  readonly #ee = new EventEmitter();
  /** Called on each message main sends; lets a test script the trainer's answers. */
  onReceive: (msg: ToTrainer, t: FakeTrainer) => void = () => {};

  send(msg: ToTrainer): void {
    if (this.exited) throw new Error('channel closed');
    this.received.push(msg);
    queueMicrotask(() => this.onReceive(msg, this));
  }
  onMessage(cb: (msg: FromTrainer) => void): void {
    this.#ee.on('message', cb);
  }
  onExit(cb: (code: number | null, signal: string | null) => void): void {
    this.#ee.on('exit', cb);
  }
  kill(): void {
    this.killed = true;
    this.exit(null, 'SIGKILL');
  }
  emit(msg: FromTrainer): void {
    this.#ee.emit('message', msg);
  }
  exit(code: number | null, signal: string | null = null): void {
    if (this.exited) return;
    this.exited = true;
    this.#ee.emit('exit', code, signal);
  }
}

export function fakeLauncher(script?: (msg: ToTrainer, t: FakeTrainer) => void): TrainerLauncher & { trainers: FakeTrainer[] } {
  const trainers: FakeTrainer[] = [];
  const launch = (): FakeTrainer => {
    const t = new FakeTrainer();
    if (script) t.onReceive = script;
    trainers.push(t);
    return t;
  };
  return Object.assign(launch, { trainers });
}

export function step(step: number, epoch = 0, negElbo = 200 - step): StepPoint {
  return { step, epoch, loss: negElbo, recon: negElbo - 10, kl: 10, negElbo, samplesPerSec: 1000, timeMs: step * 10 };
}

export function epochPoint(epoch: number, step: number, negElbo = 150): EpochPoint {
  return {
    epoch,
    step,
    loss: negElbo,
    recon: negElbo - 10,
    kl: 10,
    negElbo,
    valNegElbo: negElbo + 1,
    valRecon: negElbo - 9,
    valKl: 10,
    bitsPerDim: negElbo / (784 * Math.LN2),
    durationMs: 1000,
  };
}

export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
