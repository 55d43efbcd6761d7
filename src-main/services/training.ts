/**
 * Supervises trainer processes: one per run. Persists what a trainer reports in batched
 * transactions (so a crash loses at most the last ~250 ms of steps), forwards progress to clients
 * at about 10 Hz, and turns every way a trainer can end into a recorded run status:
 *   done(completed|stopped) -> that status; failed -> 'failed' with its message;
 *   exit without either -> 'stopped' if a stop was asked for, else 'interrupted' (resumable later).
 * A run can be paused between two steps (its trainer keeps its process and memory) and resumed;
 * a run that trained for at least `finishedNoticeMs` and then completed or failed on its own (not
 * stopped by the user) is announced with 'runs.finished' (a desktop notification / toast).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { EvalResult, Events, RunStatus, StepPoint, TrainConfig } from '../contract/index.ts';
import { StudioError } from '../contract/index.ts';
import type { Store } from '../store/index.ts';
import type { DatasetSource, FromTrainer, ToTrainer, TrainerHandle, TrainerLauncher } from '../trainer/protocol.ts';

/** What an evaluation needs besides the run id (see protocol.ts 'eval'). */
export type EvalJob = Omit<Extract<ToTrainer, { type: 'eval' }>, 'type' | 'runId'>;

type Emit = <E extends keyof Events>(event: E, payload: Events[E]) => void;

export interface SupervisorOptions {
  store: Store;
  launcher: TrainerLauncher;
  emit: Emit;
  checkpointRoot: string;
  /** How often buffered steps are written and forwarded. */
  flushMs?: number;
  /** How long a trainer may take to honour 'stop' before it is killed. */
  stopGraceMs?: number;
  /**
   * Runs that trained at least this long (pauses not counted) are announced with 'runs.finished'
   * when they complete or fail. Default RUN_FINISHED_NOTICE_MS, or VAE_STUDIO_NOTIFY_AFTER_MS when
   * set (tests and the e2e studio lower it).
   */
  finishedNoticeMs?: number;
  now?: () => number;
}

/** A run shorter than this (30 s) ends without a notification: the person is still looking at it. */
export const RUN_FINISHED_NOTICE_MS = 30_000;

function defaultNoticeMs(): number {
  const env = Number(process.env['VAE_STUDIO_NOTIFY_AFTER_MS']);
  return process.env['VAE_STUDIO_NOTIFY_AFTER_MS'] && Number.isFinite(env) && env >= 0 ? env : RUN_FINISHED_NOTICE_MS;
}

interface ActiveRun {
  runId: string;
  handle: TrainerHandle;
  /** When this trainer started, and the time it spent paused (for the run's active duration). */
  launchedAt: number;
  pausedMs: number;
  /** Set while paused: when the pause began. */
  pausedSince: number | null;
  pending: StepPoint[];
  timer: NodeJS.Timeout;
  stopRequested: boolean;
  ended: boolean;
  killTimer: NodeJS.Timeout | null;
  settled: Promise<void>;
  resolveSettled: () => void;
}

export class TrainingSupervisor {
  readonly #o: Required<Omit<SupervisorOptions, 'now'>> & { now: () => number };
  readonly #active = new Map<string, ActiveRun>();
  /** Evaluation processes by a private key, so that close() can end them. */
  readonly #evals = new Map<number, TrainerHandle>();
  #evalSeq = 0;

  constructor(opts: SupervisorOptions) {
    this.#o = { flushMs: 100, stopGraceMs: 10_000, finishedNoticeMs: defaultNoticeMs(), now: Date.now, ...opts };
  }

  activeRunIds(): string[] {
    return [...this.#active.keys()];
  }

  isActive(runId: string): boolean {
    return this.#active.has(runId);
  }

  /**
   * Launches a trainer for an already created run row; with `resumeFrom` (a checkpoint folder) the
   * trainer continues from that checkpoint, keeping the run's original start time.
   */
  start(runId: string, config: TrainConfig, dataset: DatasetSource, opts: { resumeFrom?: string } = {}): void {
    const { store, launcher, emit } = this.#o;
    const checkpointDir = path.join(this.#o.checkpointRoot, runId);
    mkdirSync(checkpointDir, { recursive: true });
    let handle: TrainerHandle;
    try {
      handle = launcher();
    } catch (e) {
      const message = `could not start the trainer process: ${(e as Error).message}`;
      store.runs.update(runId, { status: 'failed', error: message, finishedAt: this.#o.now() });
      emit('training.status', { runId, status: 'failed', error: message });
      throw new StudioError('TRAINER_FAILED', message);
    }
    let resolveSettled!: () => void;
    const settled = new Promise<void>((r) => (resolveSettled = r));
    const run: ActiveRun = {
      runId,
      handle,
      launchedAt: this.#o.now(),
      pausedMs: 0,
      pausedSince: null,
      pending: [],
      timer: setInterval(() => this.#flush(run), this.#o.flushMs),
      stopRequested: false,
      ended: false,
      killTimer: null,
      settled,
      resolveSettled,
    };
    this.#active.set(runId, run);
    store.runs.update(
      runId,
      opts.resumeFrom
        ? { status: 'running', error: null, finishedAt: null, trainerPid: handle.pid ?? null }
        : { status: 'running', startedAt: this.#o.now(), trainerPid: handle.pid ?? null },
    );
    emit('training.status', { runId, status: 'running', error: null });
    emit('runs.changed', { runId });
    handle.onMessage((msg) => {
      try {
        this.#onMessage(run, msg);
      } catch (e) {
        // A message we cannot persist must not take main down; end the run clearly instead.
        this.#end(run, 'failed', `could not record trainer output: ${(e as Error).message}`);
        handle.kill();
      }
    });
    handle.onExit((code, signal) => this.#onExit(run, code, signal));
    handle.send({ type: 'start', runId, config, dataset, checkpointDir, ...(opts.resumeFrom ? { resumeFrom: opts.resumeFrom } : {}) });
  }

  /**
   * Evaluates a checkpoint in its own trainer process (tfjs lives only there). Progress is emitted
   * as runs.evalProgress; resolves with the trainer's result, rejects with TRAINER_FAILED and the
   * trainer's reason.
   */
  evaluate(runId: string, job: EvalJob): Promise<Omit<EvalResult, 'runId' | 'split' | 'createdAt'>> {
    const { launcher, emit } = this.#o;
    let handle: TrainerHandle;
    try {
      handle = launcher();
    } catch (e) {
      return Promise.reject(new StudioError('TRAINER_FAILED', `could not start the trainer process: ${(e as Error).message}`));
    }
    const key = ++this.#evalSeq;
    this.#evals.set(key, handle);
    return new Promise((resolve, reject) => {
      let result: Omit<EvalResult, 'runId' | 'split' | 'createdAt'> | null = null;
      let failure: string | null = null;
      handle.onMessage((msg) => {
        if (msg.type === 'evalProgress') emit('runs.evalProgress', { runId, phase: msg.phase, done: msg.done, total: msg.total });
        else if (msg.type === 'evalResult') result = msg.result;
        else if (msg.type === 'failed') failure = msg.message;
      });
      handle.onExit((code, signal) => {
        this.#evals.delete(key);
        if (result) resolve(result);
        else {
          const why = failure ?? (signal ? `the evaluation process was killed (${signal})` : `the evaluation process exited (code ${code}) without a result`);
          reject(new StudioError('TRAINER_FAILED', `evaluation of ${runId} failed: ${why}`));
        }
      });
      handle.send({ type: 'eval', runId, ...job });
    });
  }

  /**
   * Runs a named background job (trainer/jobs.ts) in its own trainer process and resolves with its
   * value. Progress goes to `onProgress`; aborting the signal kills the process and rejects with
   * CANCELLED. Closing the studio kills running jobs too.
   */
  runJob<T = unknown>(
    kind: string,
    payload: unknown,
    opts: { onProgress?: (phase: string, done: number, total: number) => void; signal?: AbortSignal } = {},
  ): Promise<T> {
    let handle: TrainerHandle;
    if (opts.signal?.aborted) return Promise.reject(new StudioError('CANCELLED', `${kind} was cancelled`));
    try {
      handle = this.#o.launcher();
    } catch (e) {
      return Promise.reject(new StudioError('TRAINER_FAILED', `could not start a worker process: ${(e as Error).message}`));
    }
    const key = ++this.#evalSeq;
    this.#evals.set(key, handle);
    return new Promise<T>((resolve, reject) => {
      let result: { value: unknown } | null = null;
      let failure: string | null = null;
      let cancelled = false;
      const onAbort = () => {
        cancelled = true;
        handle.kill();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      handle.onMessage((msg) => {
        if (msg.type === 'jobProgress') opts.onProgress?.(msg.phase, msg.done, msg.total);
        else if (msg.type === 'jobResult') result = { value: msg.value };
        else if (msg.type === 'failed') failure = msg.message;
      });
      handle.onExit((code, signal) => {
        this.#evals.delete(key);
        opts.signal?.removeEventListener('abort', onAbort);
        if (result) resolve(result.value as T);
        else if (cancelled) reject(new StudioError('CANCELLED', `${kind} was cancelled`));
        else {
          const why = failure ?? (signal ? `the worker process was killed (${signal})` : `the worker process exited (code ${code}) without a result`);
          reject(new StudioError('TRAINER_FAILED', `${kind} failed: ${why}`));
        }
      });
      handle.send({ type: 'job', kind, payload });
    });
  }

  /** Asks the trainer to stop after its current step; kills it if it does not end in time. */
  stop(runId: string): void {
    const run = this.#active.get(runId);
    if (!run) throw new StudioError('CONFLICT', `run ${runId} is not training`);
    if (run.stopRequested) return;
    run.stopRequested = true;
    // The trainer leaves its pause to stop (trainer/main.ts).
    this.#unpause(run);
    try {
      run.handle.send({ type: 'stop' });
    } catch {
      run.handle.kill();
    }
    run.killTimer = setTimeout(() => run.handle.kill(), this.#o.stopGraceMs);
  }

  /** Whether the run's trainer is paused (training.pause). */
  isPaused(runId: string): boolean {
    return (this.#active.get(runId)?.pausedSince ?? null) !== null;
  }

  /**
   * Holds the run's trainer between two steps (its process and memory stay) until resume() or
   * stop(). The time paused is left out of the run's elapsed time. CONFLICT when the run is not
   * training or is being stopped; pausing a paused run changes nothing.
   */
  pause(runId: string): void {
    const run = this.#active.get(runId);
    if (!run || run.ended) throw new StudioError('CONFLICT', `run ${runId} is not training`);
    if (run.stopRequested) throw new StudioError('CONFLICT', `run ${runId} is stopping`);
    if (run.pausedSince !== null) return;
    run.handle.send({ type: 'pause' });
    run.pausedSince = this.#o.now();
    this.#o.emit('training.status', { runId, status: 'running', error: null, paused: true });
    this.#o.emit('runs.changed', { runId });
  }

  /** Continues a paused run. CONFLICT when the run is not training; resuming a running run changes nothing. */
  resume(runId: string): void {
    const run = this.#active.get(runId);
    if (!run || run.ended) throw new StudioError('CONFLICT', `run ${runId} is not training`);
    if (run.pausedSince === null) return;
    run.handle.send({ type: 'resume' });
    this.#unpause(run);
    this.#o.emit('training.status', { runId, status: 'running', error: null, paused: false });
    this.#o.emit('runs.changed', { runId });
  }

  #unpause(run: ActiveRun): void {
    if (run.pausedSince === null) return;
    run.pausedMs += Math.max(0, this.#o.now() - run.pausedSince);
    run.pausedSince = null;
  }

  /** Resolves when the run's trainer has ended and its final status is recorded. */
  async waitFor(runId: string): Promise<void> {
    await this.#active.get(runId)?.settled;
  }

  async stopAll(): Promise<void> {
    for (const h of this.#evals.values()) h.kill();
    const ids = this.activeRunIds();
    for (const id of ids) this.stop(id);
    await Promise.all(ids.map((id) => this.waitFor(id)));
  }

  #onMessage(run: ActiveRun, msg: FromTrainer): void {
    const { store, emit } = this.#o;
    switch (msg.type) {
      case 'backend':
        store.runs.update(run.runId, {
          backend: msg.info.backend,
          device: msg.info.device,
          tfjsVersion: msg.info.tfjsVersion,
        });
        emit('training.status', { runId: run.runId, status: 'running', error: null, backend: msg.info });
        break;
      case 'steps':
        run.pending.push(...msg.points);
        break;
      case 'epoch':
        this.#flush(run);
        store.metrics.appendEpoch(run.runId, msg.point);
        emit('training.epoch', { runId: run.runId, point: msg.point });
        break;
      case 'checkpoint':
        store.checkpoints.add({
          runId: run.runId,
          epoch: msg.epoch,
          step: msg.step,
          path: msg.path,
          bytes: msg.bytes,
          createdAt: this.#o.now(),
        });
        break;
      case 'paused':
        // The trainer confirms that it holds (its steps before the hold are already here) or goes on.
        if (!run.ended && msg.paused === (run.pausedSince !== null)) {
          this.#flush(run);
          emit('training.status', { runId: run.runId, status: 'running', error: null, paused: msg.paused, held: msg.paused });
        }
        break;
      case 'done':
        this.#end(run, msg.status, null);
        break;
      case 'failed':
        this.#end(run, 'failed', msg.message);
        break;
    }
  }

  #flush(run: ActiveRun): void {
    if (run.pending.length === 0) return;
    const points = run.pending;
    run.pending = [];
    this.#o.store.metrics.appendSteps(run.runId, points);
    this.#o.emit('training.progress', { runId: run.runId, points });
  }

  #end(run: ActiveRun, status: RunStatus, error: string | null): void {
    if (run.ended) return;
    run.ended = true;
    this.#unpause(run);
    this.#flush(run);
    this.#o.store.runs.update(run.runId, { status, error, finishedAt: this.#o.now(), trainerPid: null });
    this.#o.emit('training.status', { runId: run.runId, status, error });
    this.#o.emit('runs.changed', { runId: run.runId });
    const durationMs = this.#o.now() - run.launchedAt - run.pausedMs;
    if ((status === 'completed' || status === 'failed') && !run.stopRequested && durationMs >= this.#o.finishedNoticeMs) {
      const name = this.#o.store.runs.get(run.runId)?.name ?? run.runId;
      this.#o.emit('runs.finished', { runId: run.runId, name, status, error, durationMs });
    }
  }

  #onExit(run: ActiveRun, code: number | null, signal: string | null): void {
    clearInterval(run.timer);
    if (run.killTimer) clearTimeout(run.killTimer);
    if (!run.ended) {
      if (run.stopRequested) this.#end(run, 'stopped', null);
      else {
        const how = signal ? `was killed (${signal})` : `exited unexpectedly (code ${code})`;
        this.#end(run, 'interrupted', `the trainer process ${how}; metrics up to its last report are kept`);
      }
    }
    this.#active.delete(run.runId);
    run.resolveSettled();
  }
}
