/**
 * The real trainer process, forked from TypeScript sources exactly as the CLI and web mode do,
 * training on the built-in digits with the backend that loads on this machine.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { TrainConfigSchema, type TrainConfigInput } from '../../src-main/contract/config.ts';
import { generateDigits } from '../../src-main/core/sample-data.ts';
import { forkTrainer, resolveTrainerEntry } from '../../src-main/trainer/fork.ts';
import type { DatasetSource, FromTrainer, TrainerHandle } from '../../src-main/trainer/protocol.ts';
import { tmpDir } from '../helpers/tmp.ts';

interface Outcome {
  messages: FromTrainer[];
  code: number | null;
  signal: string | null;
}

/** Starts a trainer and resolves when it exits; `react` may send stop or kill along the way. */
function runTrainer(
  config: TrainConfigInput,
  dataset: DatasetSource,
  checkpointDir: string,
  react: (msg: FromTrainer, h: TrainerHandle, all: FromTrainer[]) => void = () => {},
): Promise<Outcome> {
  const h = forkTrainer();
  const messages: FromTrainer[] = [];
  return new Promise((resolve) => {
    h.onMessage((m) => {
      messages.push(m);
      react(m, h, messages);
    });
    h.onExit((code, signal) => resolve({ messages, code, signal }));
    h.send({ type: 'start', runId: 'run-1', config: TrainConfigSchema.parse(config), dataset, checkpointDir });
  });
}

const of = <T extends FromTrainer['type']>(o: Outcome, type: T) => o.messages.filter((m): m is Extract<FromTrainer, { type: T }> => m.type === type);

describe('trainer process', { timeout: 120_000 }, () => {
  test('trains the sample digits: backend, steps, epochs, checkpoints, done', async () => {
    const dir = tmpDir();
    const o = await runTrainer({ maxSamples: 512, epochs: 2, batchSize: 64, backend: 'auto' }, { kind: 'builtin', name: 'digits' }, dir);
    assert.equal(o.code, 0);
    assert.equal(o.messages[0]?.type, 'backend');
    const [backend] = of(o, 'backend');
    assert.ok(backend);
    assert.ok(['tensorflow', 'onnxruntime'].includes(backend.info.backend), `backend ${backend.info.backend}`);
    if (backend.info.backend !== 'tensorflow') {
      // Without the native tensorflow packages (as here) the reason is recorded, and onnxruntime
      // (native CPU steps, evaluation in tfjs wasm) is next in line; nothing below it was tried.
      const tfSkip = backend.info.skipped.find((s) => s.backend === 'tensorflow');
      assert.ok(tfSkip && tfSkip.reason.includes('tfjs-node'), JSON.stringify(backend.info.skipped));
      assert.equal(backend.info.backend, 'onnxruntime');
      assert.deepEqual(
        backend.info.skipped.map((s) => s.backend),
        ['tensorflow'],
        JSON.stringify(backend.info.skipped),
      );
      assert.match(backend.info.device, /ONNX Runtime \d+\.\d+\.\d+ native kernels/);
      assert.match(backend.info.device, /evaluation on tfjs WebAssembly/);
    }
    assert.equal(backend.info.tfjsVersion, '4.22.0');
    assert.ok(backend.info.device.length > 0);

    // 512 samples, 10 % held out -> 461 training samples -> 8 steps of 64 per epoch.
    const steps = of(o, 'steps').flatMap((m) => m.points);
    assert.deepEqual(
      steps.map((s) => s.step),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    // How many steps share a message depends on the machine's speed (batched every ~100 ms); none is empty.
    assert.ok(of(o, 'steps').every((m) => m.points.length > 0), 'no empty step batches');
    const epochs = of(o, 'epoch').map((m) => m.point);
    assert.deepEqual(
      epochs.map((e) => [e.epoch, e.step]),
      [
        [1, 8],
        [2, 16],
      ],
    );
    assert.ok(epochs[1]!.negElbo < epochs[0]!.negElbo);
    assert.ok(epochs.every((e) => e.valNegElbo !== null && Number.isFinite(e.valNegElbo)));

    const cps = of(o, 'checkpoint');
    assert.deepEqual(
      cps.map((c) => [c.epoch, c.step, c.path]),
      [
        [1, 8, path.join(dir, 'epoch-1')],
        [2, 16, path.join(dir, 'epoch-2')],
      ],
    );
    for (const c of cps) {
      for (const f of ['checkpoint.json', 'encoder/model.json', 'encoder/weights.bin', 'decoder/model.json', 'decoder/weights.bin']) {
        assert.ok(fs.existsSync(path.join(c.path, f)), `${c.path}/${f}`);
      }
      assert.ok(c.bytes > 4 * 600_000, `checkpoint of ~1.3M float32 weights is ${c.bytes} bytes`);
    }
    assert.deepEqual(o.messages.at(-1), { type: 'done', status: 'completed' });
  });

  test('stop mid-way ends promptly with done/stopped', async () => {
    const dir = tmpDir();
    let stopSentAt = 0;
    let stepsAtStop = 0;
    const o = await runTrainer({ epochs: 1000, batchSize: 64, backend: 'auto' }, { kind: 'builtin', name: 'digits' }, dir, (m, h, all) => {
      if (m.type === 'steps' && stopSentAt === 0) {
        stopSentAt = performance.now();
        stepsAtStop = all.filter((x) => x.type === 'steps').flatMap((x) => (x.type === 'steps' ? x.points : [])).length;
        h.send({ type: 'stop' });
      }
    });
    const latency = performance.now() - stopSentAt;
    assert.equal(o.code, 0);
    assert.deepEqual(o.messages.at(-1), { type: 'done', status: 'stopped' });
    const total = of(o, 'steps').flatMap((m) => m.points).length;
    assert.ok(total >= stepsAtStop && total < stepsAtStop + 50, `${total} steps after stopping at ${stepsAtStop}`);
    assert.ok(latency < 10_000, `stop took ${latency} ms`);
  });

  test('trains from a raw uint8 file, and reports a wrongly sized file as failed', async () => {
    const dir = tmpDir();
    const d = generateDigits({ count: 200, seed: 9 });
    const file = path.join(dir, 'data.u8');
    fs.writeFileSync(file, d.images);
    const ok = await runTrainer(
      { epochs: 1, batchSize: 50, model: { hidden: [64], latentDim: 2 }, backend: 'cpu' },
      { kind: 'file', path: file, count: 200, width: 28, height: 28, channels: 1 },
      path.join(dir, 'ckpt'),
    );
    assert.equal(of(ok, 'backend')[0]?.info.backend, 'cpu');
    assert.equal(of(ok, 'epoch').length, 1);
    assert.deepEqual(ok.messages.at(-1), { type: 'done', status: 'completed' });

    const bad = await runTrainer(
      { epochs: 1, backend: 'cpu' },
      { kind: 'file', path: file, count: 300, width: 28, height: 28, channels: 1 },
      path.join(dir, 'ckpt2'),
    );
    assert.equal(bad.code, 0);
    const last = bad.messages.at(-1);
    assert.equal(last?.type, 'failed');
    assert.match(last.type === 'failed' ? last.message : '', /holds 156800 bytes, expected .* = 235200/);
    assert.ok(last.type === 'failed' && last.stack?.includes('loadDataset'));
  });

  test('a killed trainer reports its exit through onExit', async () => {
    const dir = tmpDir();
    const o = await runTrainer({ epochs: 1000, backend: 'auto' }, { kind: 'builtin', name: 'digits' }, dir, (m, h) => {
      if (m.type === 'backend') h.kill();
    });
    assert.equal(o.code, null);
    assert.equal(o.signal, 'SIGKILL');
    assert.ok(!o.messages.some((m) => m.type === 'done' || m.type === 'failed'));
  });

  test('a trainer whose parent channel closes exits on its own', async () => {
    // Without a start message it would wait forever; losing the channel (the parent died) must end it.
    const { entry, execArgv } = resolveTrainerEntry();
    const child = fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    await new Promise<void>((resolve) => child.once('spawn', () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    child.disconnect();
    assert.deepEqual(await exited, [0, null]);
  });
});

describe('resolveTrainerEntry', () => {
  const touch = (file: string) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
  };
  const url = (file: string) => pathToFileURL(file).href;

  test('from sources it forks main.ts through the tsx loader', () => {
    const r = resolveTrainerEntry(url('/x/src-main/trainer/fork.ts'));
    assert.equal(r.entry, path.join('/x/src-main/trainer', 'main.ts'));
    assert.equal(r.execArgv[0], '--import');
    assert.match(r.execArgv[1]!, /tsx/);
  });

  test('from a bundle it finds trainer.js beside it or one folder up (split chunks)', () => {
    const dir = tmpDir();
    touch(path.join(dir, 'out/main/trainer.js'));
    assert.equal(resolveTrainerEntry(url(path.join(dir, 'out/main/index.js'))).entry, path.join(dir, 'out/main/trainer.js'));
    assert.equal(resolveTrainerEntry(url(path.join(dir, 'out/main/chunks/fork-abc.js'))).entry, path.join(dir, 'out/main/trainer.js'));
    assert.deepEqual(resolveTrainerEntry(url(path.join(dir, 'out/main/index.js'))).execArgv, []);
  });

  test('from per-file compiled JS it finds main.js beside fork.js, and says what it looked for otherwise', () => {
    const dir = tmpDir();
    touch(path.join(dir, 'trainer/main.js'));
    assert.equal(resolveTrainerEntry(url(path.join(dir, 'trainer/fork.js'))).entry, path.join(dir, 'trainer/main.js'));
    assert.throws(() => resolveTrainerEntry(url(path.join(dir, 'elsewhere/index.js'))), /trainer entry not found: looked for .*trainer\.js/);
  });
});
