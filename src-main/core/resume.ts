/**
 * Exact resume: everything the training loop needs to continue from a checkpoint as if it had never
 * stopped. A run is a deterministic function of (seed, config, backend) as long as the loop restores
 *   - the weights of the encoder and decoder,
 *   - the optimiser state (tf Optimizer getWeights/setWeights: the iteration count and, for Adam,
 *     the first and second moments; Adam's bias-correction powers are recomputed from the count),
 *   - the state of every random stream the loop draws from after the split (shuffle, noise, ...),
 *   - the step counter, the epoch counter and the loop's own carried values (early stopping...),
 * all of which a checkpoint written with `optimizer` and `state` holds (checkpoint.ts).
 *
 * The loop's side (train.ts) is two small hooks: `resume?: ResumeState` in, applied with
 * applyResumeState() once the model and optimiser exist; and at each epoch end a LoopState passed to
 * writeCheckpoint together with the optimiser.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { TrainConfig } from '../contract/config.ts';
import {
  NonFiniteStateError,
  readCheckpointMeta,
  readModelWeights,
  readOptimizerState,
  type LoopState,
  type StatefulOptimizer,
} from './checkpoint.ts';
import { Rng } from './rng.ts';
import type { Tf } from './tf.ts';

export interface ResumeState {
  /** The checkpoint folder this state was read from. */
  path: string;
  /** Epochs completed at the checkpoint: the loop continues with epoch + 1. */
  epoch: number;
  /** Steps completed at the checkpoint: the next step is step + 1. */
  step: number;
  /** The config the run was trained with (the checkpoint's own copy). */
  config: TrainConfig;
  loop: LoopState;
  encoderWeights: Tensor[];
  decoderWeights: Tensor[];
  optimizer: { className: string; weights: { name: string; tensor: Tensor }[] };
  /** Frees the tensors above (safe after applyResumeState, which copies what it keeps). */
  dispose(): void;
}

/** Thrown by the training loop when the loss stops being finite (NaN or Inf). */
export class TrainingDivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

/** Reads a resumable checkpoint. Throws a clear error for a checkpoint that lacks the state to resume. */
export async function loadResumeState(tf: Tf, dir: string): Promise<ResumeState> {
  const meta = await readCheckpointMeta(dir);
  if (!meta.state || !meta.optimizer) {
    throw new Error(
      `the checkpoint ${dir} (format ${meta.version}) has no optimizer or loop state, so training cannot continue from it exactly; ` +
        'it can still be evaluated and exported',
    );
  }
  const encoderWeights = await readModelWeights(tf, dir, 'encoder');
  const decoderWeights = await readModelWeights(tf, dir, 'decoder');
  const optimizer = await readOptimizerState(tf, dir, meta);
  const all = [...encoderWeights, ...decoderWeights, ...(optimizer?.weights.map((w) => w.tensor) ?? [])];
  return {
    path: dir,
    epoch: meta.epoch,
    step: meta.step,
    config: meta.config,
    loop: meta.state,
    encoderWeights,
    decoderWeights,
    optimizer: optimizer!,
    dispose() {
      for (const t of all) if (!t.isDisposed) t.dispose();
    },
  };
}

function setModelWeights(model: LayersModel, weights: Tensor[], what: string): void {
  const current = model.weights;
  if (current.length !== weights.length) {
    throw new Error(`the checkpoint's ${what} has ${weights.length} weight tensors, the model ${current.length}: the architecture differs`);
  }
  current.forEach((w, i) => {
    const a = w.shape.join('x');
    const b = weights[i]!.shape.join('x');
    if (a !== b) throw new Error(`the checkpoint's ${what} weight ${i} (${w.originalName}) has shape ${b}, the model ${a}`);
  });
  model.setWeights(weights);
}

/**
 * Puts a checkpoint's weights and optimiser state into a freshly built model and optimiser, and
 * returns the loop's random streams restored by name. The model must have the checkpoint's
 * architecture and the optimiser its class (both come from the same config).
 */
export async function applyResumeState(
  s: ResumeState,
  target: { encoder: LayersModel; decoder: LayersModel; optimizer: StatefulOptimizer },
): Promise<{ rng: Record<string, Rng> }> {
  setModelWeights(target.encoder, s.encoderWeights, 'encoder');
  setModelWeights(target.decoder, s.decoderWeights, 'decoder');
  const cls = target.optimizer.getClassName();
  if (cls !== s.optimizer.className) {
    throw new Error(`the checkpoint's optimizer is ${s.optimizer.className}, the run's ${cls}`);
  }
  // setWeights keeps its own variables (tensor.variable()), so ours can be freed by dispose().
  await target.optimizer.setWeights(s.optimizer.weights);
  const rng: Record<string, Rng> = {};
  for (const [name, state] of Object.entries(s.loop.rng)) rng[name] = Rng.fromState(state);
  return { rng };
}

/** The loop state to store at an epoch end, from the loop's named random streams. */
export function captureLoopState(elapsedMs: number, rng: Record<string, Rng>, extra: Record<string, unknown> = {}): LoopState {
  const states: LoopState['rng'] = {};
  for (const [name, r] of Object.entries(rng)) states[name] = r.getState();
  return { elapsedMs, rng: states, extra: structuredClone(extra) };
}

/** Whether a failure is the loss (or the weights) becoming NaN/Inf rather than a bug or an I/O error. */
export function isDivergence(err: unknown): boolean {
  return err instanceof TrainingDivergedError || err instanceof NonFiniteStateError;
}

/**
 * The message a failed run records. For a divergence it names the last good checkpoint, which is
 * kept (a NaN never overwrites a checkpoint: writeCheckpoint refuses non-finite state), so the user
 * knows what is left to evaluate, export or resume from.
 */
export function describeFailure(
  err: unknown,
  lastCheckpoint: { epoch: number; step: number; path: string } | null,
): { message: string; diverged: boolean } {
  const base = err instanceof Error ? err.message : String(err);
  if (!isDivergence(err)) return { message: base, diverged: false };
  const tail = lastCheckpoint
    ? ` The last good checkpoint is epoch ${lastCheckpoint.epoch} (step ${lastCheckpoint.step}), kept at ${lastCheckpoint.path}.`
    : ' No checkpoint had been written yet.';
  return { message: `${base.replace(/\.?$/, '.')}${tail}`, diverged: true };
}
