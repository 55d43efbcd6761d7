/**
 * The trainer process: runs exactly one training, possibly resumed from a checkpoint, or one
 * evaluation of a checkpoint (protocol.ts), and exits. Started by main with
 * Electron's utilityProcess in the app, or with child_process.fork (fork.ts) in the CLI, web mode
 * and tests; both transports are handled here. It owns tfjs and the backend choice, so killing it
 * frees all compute memory, and a crash in it never takes the app down.
 *
 * Exit codes: 0 whenever the outcome could be reported (done or failed), non-zero only when it
 * could not even report (no parent channel).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import { TrainConfigSchema, type TrainConfig } from '../contract/config.ts';
import { loadCheckpoint, readCheckpointMeta } from '../core/checkpoint.ts';
import { headSource, memorySource, openFileSource, toDataSource, type DataSource } from '../core/data-source.ts';
import { evaluateModel } from '../core/evaluate.ts';
import { createNativeLogWeights, decoderWeights } from '../core/ort/iwae.ts';
import { describeFailure, loadResumeState, type ResumeState } from '../core/resume.ts';
import { loadBuiltin } from '../core/sample-data.ts';
import { evaluationBatch, seedStreams, splitIndices, train, type TrainOptions } from '../core/train.ts';
import { checkpointSigma } from '../core/export/manifest.ts';
import { selectBackend } from './backend.ts';
import { runJob } from './jobs.ts';
import { previewIndices, previewsFolder, priorDraws, renderPreviews, writePreviews } from './previews.ts';
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

/**
 * Files above this many bytes are streamed from disk (one read per batch) instead of read whole:
 * VAE_STUDIO_STREAM_BYTES when set (tests use it to force streaming), else the smaller of 1 GiB
 * and a quarter of the machine's memory. fs.readFile could not hold more than 2 GiB anyway.
 */
function streamThreshold(): number {
  const env = Number(process.env.VAE_STUDIO_STREAM_BYTES);
  if (Number.isFinite(env) && env > 0) return env;
  return Math.min(2 ** 30, Math.floor(os.totalmem() / 4));
}

/** The data of a run: generated in memory, one uint8 copy of a small file, or a file streamed from disk. */
export async function loadDataset(source: DatasetSource): Promise<DataSource> {
  if (source.kind === 'builtin') return memorySource(loadBuiltin(source.name));
  const { path, count, width, height, channels } = source;
  const expected = count * width * height * channels;
  const size = (await fs.stat(path)).size;
  if (size !== expected) {
    throw new Error(`dataset file ${path} holds ${size} bytes, expected ${count} x ${height} x ${width} x ${channels} = ${expected}`);
  }
  if (size > streamThreshold()) return openFileSource(path, { count, width, height, channels });
  const buf = await fs.readFile(path);
  if (buf.byteLength !== expected) {
    throw new Error(`dataset file ${path} holds ${buf.byteLength} bytes, expected ${count} x ${height} x ${width} x ${channels} = ${expected}`);
  }
  return memorySource({ images: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), count, width, height, channels });
}

function describe(err: unknown): { message: string; stack?: string } {
  if (err instanceof Error) return err.stack ? { message: err.message, stack: err.stack } : { message: err.message };
  return { message: String(err) };
}

/** JSON with object keys sorted, so that two equal configs compare equal whatever their key order. */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : val,
  );
}

/** The newest checkpoint this run has on disk (the one resumed from, then each one written). */
let lastCheckpoint: { epoch: number; step: number; path: string } | null = null;

/**
 * Holds the training loop between two steps while paused (training.pause): the process and its
 * memory stay, 'resume' or 'stop' releases it. Acknowledged with a 'paused' message that leaves
 * after the steps flushed before the hold.
 */
class PauseGate {
  #held: Promise<void> | null = null;
  #release: (() => void) | null = null;
  #acked = false;
  constructor(private readonly ack: (paused: boolean) => void) {}

  pause(): void {
    if (this.#held) return;
    this.#acked = false;
    this.#held = new Promise<void>((r) => (this.#release = r));
  }

  resume(): void {
    if (!this.#held) return;
    const release = this.#release!;
    const acked = this.#acked;
    this.#held = null;
    this.#release = null;
    release();
    if (acked) this.ack(false);
  }

  /** TrainOptions.waitIfPaused. */
  wait = (): Promise<void> | undefined => {
    if (!this.#held) return undefined;
    if (!this.#acked) {
      this.#acked = true;
      // A microtask later: the loop flushes its buffered steps first (train.ts), so they arrive before the ack.
      void Promise.resolve().then(() => this.ack(true));
    }
    return this.#held;
  };
}

async function runTraining(
  channel: Channel,
  msg: Extract<ToTrainer, { type: 'start' }>,
  stopRequested: () => boolean,
  gate?: PauseGate,
): Promise<void> {
  const parsed = TrainConfigSchema.safeParse(msg.config);
  if (!parsed.success) throw new Error(`invalid training config: ${parsed.error.issues[0]?.message ?? 'unknown issue'}`);
  const config: TrainConfig = parsed.data;
  const { tf, info, ort, threads } = await selectBackend(config.backend, config);
  void channel.send({ type: 'backend', info });
  const loadedData = await loadDataset(msg.dataset);
  // Training never sees an official test split: it lies after trainCount (see DatasetSource).
  const data = msg.dataset.kind === 'file' && msg.dataset.trainCount ? headSource(toDataSource(loadedData), msg.dataset.trainCount) : loadedData;
  let resume: ResumeState | null = null;
  if (msg.resumeFrom) {
    resume = await loadResumeState(tf, msg.resumeFrom);
    lastCheckpoint = { epoch: resume.epoch, step: resume.step, path: msg.resumeFrom };
    if (canonicalJson(resume.config) !== canonicalJson(config)) {
      resume.dispose();
      throw new Error(`the checkpoint ${msg.resumeFrom} was written with another config than the run's; it cannot be resumed exactly`);
    }
  }
  const source = toDataSource(data);
  let previewSetup: { indices: Uint32Array; z: Float32Array } | undefined;
  try {
    const options: TrainOptions = {
      tf,
      ...(ort && threads ? { native: { ort, threads } } : {}),
      config,
      data,
      checkpointDir: msg.checkpointDir,
      shouldStop: stopRequested,
      ...(gate ? { waitIfPaused: gate.wait } : {}),
      // The fixed preview batch and prior draws (previews.ts), rendered on the live model each epoch.
      onEpochModel: async (m) => {
        const latentDim = config.model.latentDim;
        previewSetup ??= { indices: previewIndices(config, source.count), z: priorDraws(latentDim) };
        const { indices, z } = previewSetup;
        const px = await renderPreviews({ tf, encoder: m.encoder, decoder: m.decoder, config, data: source, latentDim, indices, z });
        const { width, height, channels } = source;
        const count = { reconstructions: indices.length, samples: z.length / latentDim };
        writePreviews(previewsFolder(msg.checkpointDir), { epoch: m.epoch, step: m.step, width, height, channels, latentDim, indices: Array.from(indices), count }, px);
        void channel.send({ type: 'previews', epoch: m.epoch });
      },
      onSteps: (points) => void channel.send({ type: 'steps', points }),
      onEpoch: (point) => void channel.send({ type: 'epoch', point }),
      onCheckpoint: (c) => {
        lastCheckpoint = { epoch: c.epoch, step: c.step, path: c.path };
        void channel.send({ type: 'checkpoint', epoch: c.epoch, step: c.step, path: c.path, bytes: c.bytes });
      },
      ...(resume ? { resume } : {}),
    };
    const status = await train(options);
    await channel.send({ type: 'done', status });
  } finally {
    resume?.dispose();
    data.close?.();
  }
}

/** The seeded validation hold-out of a run, exactly as its training drew it. */
function validationIndices(config: TrainConfig, count: number): Uint32Array {
  return splitIndices(count, config, seedStreams(config.seed).split).val;
}

async function runEval(channel: Channel, msg: Extract<ToTrainer, { type: 'eval' }>): Promise<void> {
  const t0 = performance.now();
  void channel.send({ type: 'evalProgress', phase: 'loading', done: 0, total: 1 });
  const meta = await readCheckpointMeta(msg.checkpoint);
  const config = meta.config;
  // With the run's config, 'onnxruntime' is considered too: it scores the IWAE samples natively.
  const { tf, info, ort, threads } = await selectBackend(msg.backend ?? config.backend, config);
  void channel.send({ type: 'backend', info });
  const loaded = await loadDataset(msg.dataset);
  const data = toDataSource(loaded);
  if (data.width !== meta.input.width || data.height !== meta.input.height || data.channels !== meta.input.channels) {
    throw new Error(
      `the dataset's images are ${data.width}x${data.height}x${data.channels}, the checkpoint's model takes ` +
        `${meta.input.width}x${meta.input.height}x${meta.input.channels}`,
    );
  }
  let indices: Uint32Array;
  // The hold-out is drawn from the training part only (an official test split lies after trainCount),
  // exactly as training drew it.
  const trainCount = msg.dataset.kind === 'file' && msg.dataset.trainCount ? msg.dataset.trainCount : data.count;
  if (msg.samples.kind === 'validation') indices = validationIndices(config, trainCount);
  else if (msg.samples.kind === 'range') {
    const { from, to } = msg.samples;
    indices = Uint32Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  } else indices = Uint32Array.from(msg.samples.indices);
  if (msg.maxSamples > 0 && indices.length > msg.maxSamples) indices = indices.slice(0, msg.maxSamples);
  if (indices.length === 0) throw new Error('the split holds no samples');
  const { encoder, decoder } = await loadCheckpoint(tf, msg.checkpoint);
  const native =
    ort && threads && msg.iwaeK > 0
      ? await createNativeLogWeights(
          ort,
          { model: config.model, shape: meta.input, likelihood: config.likelihood, gaussianSigma: checkpointSigma(meta), weights: decoderWeights(decoder) },
          threads,
        )
      : null;
  try {
    const m = await evaluateModel({
      ...(native ? { native } : {}),
      tf,
      encoder,
      decoder,
      likelihood: config.likelihood,
      gaussianSigma: checkpointSigma(meta),
      data,
      indices,
      modelInput: (u8, idx) => evaluationBatch(config, u8, idx, meta.dim),
      iwaeK: msg.iwaeK,
      iwaeSamples: msg.iwaeSamples,
      seed: msg.seed,
      onProgress: (p) => void channel.send({ type: 'evalProgress', ...p }),
    });
    await channel.send({
      type: 'evalResult',
      result: {
        checkpointEpoch: meta.epoch,
        checkpointStep: meta.step,
        ...m,
        seed: msg.seed,
        backend: info.backend,
        durationMs: performance.now() - t0,
      },
    });
  } finally {
    await native?.close();
    encoder.dispose();
    decoder.dispose();
    data.close?.();
  }
}

function main(): void {
  const channel = openChannel();
  if (!channel) {
    process.stderr.write('vae-studio trainer: no parent channel (start it with child_process.fork or utilityProcess)\n');
    process.exit(2);
  }
  let started = false;
  let stop = false;
  const gate = new PauseGate((paused) => void channel.send({ type: 'paused', paused }));

  const fail = async (err: unknown): Promise<never> => {
    try {
      const { message, diverged } = describeFailure(err, lastCheckpoint);
      const d = describe(err);
      await channel.send({ type: 'failed', message, ...(d.stack ? { stack: d.stack } : {}), diverged, lastCheckpoint });
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
      // A paused loop wakes up to see the stop.
      gate.resume();
    } else if (msg?.type === 'pause') {
      gate.pause();
    } else if (msg?.type === 'resume') {
      gate.resume();
    } else if (msg?.type === 'start' && !started) {
      started = true;
      runTraining(channel, msg, () => stop, gate).then(
        () => channel.exit(0),
        (err: unknown) => fail(err),
      );
    } else if (msg?.type === 'job' && !started) {
      started = true;
      runJob(msg.kind, msg.payload, {
        progress: (phase, done, total) => void channel.send({ type: 'jobProgress', phase, done, total }),
        backend: (info) => void channel.send({ type: 'backend', info }),
      }).then(
        async (value) => {
          await channel.send({ type: 'jobResult', value });
          await channel.exit(0);
        },
        (err: unknown) => fail(err),
      );
    } else if (msg?.type === 'eval' && !started) {
      started = true;
      runEval(channel, msg).then(
        () => channel.exit(0),
        (err: unknown) => fail(err),
      );
    }
  });
}

main();
