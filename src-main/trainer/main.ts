/**
 * The trainer process: runs exactly one training (protocol.ts) and exits. Started by main with
 * Electron's utilityProcess in the app, or with child_process.fork (fork.ts) in the CLI, web mode
 * and tests; both transports are handled here. It owns tfjs and the backend choice, so killing it
 * frees all compute memory, and a crash in it never takes the app down.
 *
 * Exit codes: 0 whenever the outcome could be reported (done or failed), non-zero only when it
 * could not even report (no parent channel).
 */
import fs from 'node:fs/promises';
import { TrainConfigSchema, type TrainConfig } from '../contract/config.ts';
import { loadBuiltin } from '../core/sample-data.ts';
import { train, type TrainData } from '../core/train.ts';
import { selectBackend } from './backend.ts';
import type { DatasetSource, FromTrainer, ToTrainer } from './protocol.ts';

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

interface Channel {
  /** Resolves once the message has been handed to the channel. */
  send(msg: FromTrainer): Promise<void>;
  onMessage(cb: (msg: unknown) => void): void;
  /** Waits for queued messages to leave, then exits. */
  exit(code: number): Promise<never>;
}

// Ctrl+C in a terminal signals the whole process group, the trainer included. The supervisor decides
// what an interrupt means (stop after the current step, keep the checkpoint), so the trainer ignores it
// and waits for 'stop' or for its parent to go away.
process.on('SIGINT', () => {});

function openChannel(): Channel | null {
  const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (parentPort) {
    return {
      send: async (msg) => parentPort.postMessage(msg),
      onMessage: (cb) => parentPort.on('message', (e) => cb(e.data)),
      // postMessage has no completion callback; give the port a moment to deliver the last message.
      exit: (code) => new Promise<never>(() => setTimeout(() => process.exit(code), 100)),
    };
  }
  if (typeof process.send === 'function') {
    // The parent went away: nobody can stop or read this training any more.
    process.on('disconnect', () => process.exit(0));
    return {
      send: (msg) =>
        new Promise<void>((resolve) => {
          if (!process.connected) return resolve();
          process.send!(msg, undefined, {}, () => resolve());
        }),
      onMessage: (cb) => process.on('message', cb),
      exit: async (code) => process.exit(code),
    };
  }
  return null;
}

async function loadDataset(source: DatasetSource): Promise<TrainData> {
  if (source.kind === 'builtin') return loadBuiltin(source.name);
  const { path, count, width, height, channels } = source;
  const expected = count * width * height * channels;
  const buf = await fs.readFile(path);
  if (buf.byteLength !== expected) {
    throw new Error(`dataset file ${path} holds ${buf.byteLength} bytes, expected ${count} x ${height} x ${width} x ${channels} = ${expected}`);
  }
  return { images: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), count, width, height, channels };
}

function describe(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) return err.stack ? { message: err.message, stack: err.stack } : { message: err.message };
  return { message: String(err) };
}

async function runTraining(channel: Channel, msg: Extract<ToTrainer, { type: 'start' }>, stopRequested: () => boolean): Promise<void> {
  const parsed = TrainConfigSchema.safeParse(msg.config);
  if (!parsed.success) throw new Error(`invalid training config: ${parsed.error.issues[0]?.message ?? 'unknown issue'}`);
  const config: TrainConfig = parsed.data;
  const { tf, info } = await selectBackend(config.backend);
  void channel.send({ type: 'backend', info });
  const data = await loadDataset(msg.dataset);
  const status = await train({
    tf,
    config,
    data,
    checkpointDir: msg.checkpointDir,
    shouldStop: stopRequested,
    onSteps: (points) => void channel.send({ type: 'steps', points }),
    onEpoch: (point) => void channel.send({ type: 'epoch', point }),
    onCheckpoint: (c) => void channel.send({ type: 'checkpoint', epoch: c.epoch, step: c.step, path: c.path, bytes: c.bytes }),
  });
  await channel.send({ type: 'done', status });
}

function main(): void {
  const channel = openChannel();
  if (!channel) {
    process.stderr.write('vae-studio trainer: no parent channel (start it with child_process.fork or utilityProcess)\n');
    process.exit(2);
  }
  let started = false;
  let stop = false;

  const fail = async (err: unknown): Promise<never> => {
    try {
      await channel.send({ type: 'failed', ...describe(err) });
    } catch {
      return process.exit(1);
    }
    return channel.exit(0);
  };
  process.on('uncaughtException', (err) => void fail(err));
  process.on('unhandledRejection', (err) => void fail(err));

  channel.onMessage((raw) => {
    const msg = raw as ToTrainer;
    if (msg?.type === 'stop') {
      stop = true;
    } else if (msg?.type === 'start' && !started) {
      started = true;
      runTraining(channel, msg, () => stop).then(
        () => channel.exit(0),
        (err: unknown) => fail(err),
      );
    }
  });
}

main();
