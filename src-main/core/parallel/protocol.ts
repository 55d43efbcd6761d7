/**
 * Messages between the trainer's main thread (engine.ts) and its replica worker threads
 * (replica.ts). Gradients do not travel in messages: every participant writes its shard's gradient
 * into its own slot of one SharedArrayBuffer, and each then sums all slots itself (objective.ts
 * sumSlots), so the only per-step traffic is the shard's input rows and a few numbers.
 */
import type { TrainConfig } from '../../contract/config.ts';
import type { ImageShape } from '../vae.ts';

/** A tensor's values and shape, as it crosses a thread boundary. */
export interface PlainTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export type ToReplica =
  | {
      type: 'init';
      config: TrainConfig;
      shape: ImageShape;
      initSeed: number;
      /** This replica's slot in `gradients` (the main thread is slot 0). */
      slot: number;
      /** participants * total float32 values (total = the flat parameter count). */
      gradients: SharedArrayBuffer;
      /** Encoder then decoder weights (LayersModel.getWeights order), then log-sigma when learned. */
      weights: PlainTensor[];
      /** The main optimiser's getWeights(): its iteration count and moments (unused with `fused`). */
      optimizer: PlainTensor[];
      /**
       * Sharded Adam (fused-adam.ts) instead of a tfjs optimiser per replica: the shared weight and
       * moment vectors (total float32 values each), the optimiser's constants and iteration count.
       */
      fused: FusedShared | null;
    }
  /** Phase 1 with free bits: the KL sums per latent dimension of the shard. The rows are kept for 'grad'. */
  | { type: 'kl'; x: Float32Array; eps: Float32Array; rows: number }
  /** The shard's gradient into this replica's slot; x / eps absent means the rows of the last 'kl'. */
  | { type: 'grad'; x?: Float32Array; eps?: Float32Array; rows: number; nTotal: number; beta: number; mask: Float32Array | null }
  /** Sum the first `participants` slots and apply the update, as the main thread does. */
  | { type: 'apply'; participants: number; lr: number }
  /** Sharded Adam, step 1: sum this replica's parameter slice over the first `participants` slots. */
  | { type: 'reduce'; participants: number }
  /** Sharded Adam, step 2: update this replica's slice of the shared weights and moments. */
  | { type: 'update'; scale: number; lr: number }
  /** Sharded Adam, step 3: copy the whole shared weight vector into the model. */
  | { type: 'load' }
  /** Reply with the replica's weights (tests check that replicas stay identical). */
  | { type: 'weights' };

export type FromReplica =
  | { type: 'ready' }
  | { type: 'kl'; sums: Float32Array }
  | { type: 'grad'; reconSum: number; klSum: number }
  | { type: 'reduce'; sq: number }
  | { type: 'updated' }
  | { type: 'weights'; weights: PlainTensor[] }
  | { type: 'error'; message: string };

/** The state of the sharded Adam, shared by every participant. */
export interface FusedShared {
  weights: SharedArrayBuffer;
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Elements below this index are model weights (decayed); log-sigma lies past it. */
  decayEnd: number;
  iterations: number;
  /** Participants owning parameter slices (fused-adam.ts paramSlices): main + every worker. */
  participants: number;
}
