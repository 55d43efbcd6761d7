/** Step and epoch metrics, and the checkpoint rows, of each run. */
import type Database from 'better-sqlite3';
import { StudioError } from '../contract/index.ts';
import type { CheckpointInfo, EpochPoint, StepPoint } from '../contract/index.ts';
import { realOrNaN, translateConstraints } from './sql.ts';

export interface MetricsRepo {
  /** Stores the points in one transaction; a step already stored is replaced. */
  appendSteps(runId: string, points: readonly StepPoint[]): void;
  /** Stores (or replaces) one epoch's metrics. */
  appendEpoch(runId: string, point: EpochPoint): void;
  /**
   * The run's steps, at most `maxPoints` of them. When the run has more, the steps before the
   * last one are grouped into `maxPoints - 1` equal-width ranges of step numbers and each
   * non-empty range becomes one point whose every field (step and epoch included, so not
   * necessarily whole numbers) is the mean over its rows; the last step follows unchanged, so a
   * chart ends exactly where training is. A mean over a range holding a NaN is NaN: a divergence
   * is never averaged away. `total` is the number of stored steps.
   */
  steps(runId: string, maxPoints: number): { points: StepPoint[]; total: number };
  /** Every epoch's metrics, in epoch order. */
  epochs(runId: string): EpochPoint[];
  /**
   * Deletes the steps after `step` and the epochs after `epoch` (one transaction): a run resumed
   * from a checkpoint drops what it recorded past that checkpoint before training it again.
   */
  truncateAfter(runId: string, step: number, epoch: number): { steps: number; epochs: number };
}

export interface CheckpointsRepo {
  /** Records a checkpoint file; a second one for the same epoch replaces the row. */
  add(c: CheckpointInfo): void;
  /** In epoch order. */
  list(runId: string): CheckpointInfo[];
  /** Deletes the rows of checkpoints after `epoch` (not their files). */
  removeAfter(runId: string, epoch: number): number;
}

interface StepRow {
  step: number;
  epoch: number;
  loss: number | null;
  recon: number | null;
  kl: number | null;
  neg_elbo: number | null;
  samples_per_sec: number | null;
  time_ms: number;
  beta: number | null;
  lr: number | null;
  grad_norm: number | null;
}

export interface EpochRow {
  epoch: number;
  step: number;
  loss: number | null;
  recon: number | null;
  kl: number | null;
  neg_elbo: number | null;
  val_neg_elbo: number | null;
  val_recon: number | null;
  val_kl: number | null;
  bits_per_dim: number | null;
  duration_ms: number;
  /** JSON object of the optional EpochPoint fields (migration 2); NULL for older rows. */
  extra: string | null;
}

export const epochColumns = [
  'epoch',
  'step',
  'loss',
  'recon',
  'kl',
  'neg_elbo',
  'val_neg_elbo',
  'val_recon',
  'val_kl',
  'bits_per_dim',
  'duration_ms',
  'extra',
] as const satisfies readonly (keyof EpochRow)[];

const STEP_COLUMNS = 'step, epoch, loss, recon, kl, neg_elbo, samples_per_sec, time_ms, beta, lr, grad_norm';

/** The optional EpochPoint fields, stored together in the `extra` JSON column. */
const EPOCH_EXTRA_KEYS = [
  'valBitsPerDim',
  'klPerDim',
  'activeUnits',
  'collapseWarning',
  'sigma',
  'beta',
  'lr',
  'stopReason',
] as const satisfies readonly (keyof EpochPoint)[];

/** The optional step fields are left out (not undefined) when NULL: a run recorded before they existed. */
function toStepPoint(r: StepRow): StepPoint {
  const p: StepPoint = {
    step: r.step,
    epoch: r.epoch,
    loss: realOrNaN(r.loss),
    recon: realOrNaN(r.recon),
    kl: realOrNaN(r.kl),
    negElbo: realOrNaN(r.neg_elbo),
    samplesPerSec: realOrNaN(r.samples_per_sec),
    timeMs: r.time_ms,
  };
  if (r.beta !== null) p.beta = r.beta;
  if (r.lr !== null) p.lr = r.lr;
  if (r.grad_norm !== null) p.gradNorm = r.grad_norm;
  return p;
}

function epochExtraJson(p: EpochPoint): string | null {
  const extra: Record<string, unknown> = {};
  for (const k of EPOCH_EXTRA_KEYS) if (p[k] !== undefined) extra[k] = p[k];
  return Object.keys(extra).length > 0 ? JSON.stringify(extra) : null;
}

/** Validation values are null when the run has no validation split (a NaN one also reads as null). */
export function toEpochPoint(r: EpochRow): EpochPoint {
  return {
    epoch: r.epoch,
    step: r.step,
    loss: realOrNaN(r.loss),
    recon: realOrNaN(r.recon),
    kl: realOrNaN(r.kl),
    negElbo: realOrNaN(r.neg_elbo),
    valNegElbo: r.val_neg_elbo,
    valRecon: r.val_recon,
    valKl: r.val_kl,
    bitsPerDim: realOrNaN(r.bits_per_dim),
    durationMs: r.duration_ms,
    ...(r.extra ? pickExtra(JSON.parse(r.extra) as Record<string, unknown>) : {}),
  };
}

function pickExtra(extra: Record<string, unknown>): Partial<EpochPoint> {
  const out: Record<string, unknown> = {};
  for (const k of EPOCH_EXTRA_KEYS) if (extra[k] !== undefined) out[k] = extra[k];
  return out as Partial<EpochPoint>;
}

/** Mean of a column over a bucket, NULL (read as NaN) when any row of it is NULL (a stored NaN). */
const mean = (c: string): string => `CASE WHEN count(${c}) = count(*) THEN avg(${c}) END AS ${c}`;

export function metricsRepo(db: Database.Database): MetricsRepo {
  const insertStep = db.prepare(`
    INSERT OR REPLACE INTO step_metrics (run_id, ${STEP_COLUMNS})
    VALUES (@runId, @step, @epoch, @loss, @recon, @kl, @negElbo, @samplesPerSec, @timeMs, @beta, @lr, @gradNorm)`);
  const insertEpoch = db.prepare(`
    INSERT OR REPLACE INTO epoch_metrics (run_id, ${epochColumns.join(', ')})
    VALUES (@runId, @epoch, @step, @loss, @recon, @kl, @negElbo, @valNegElbo, @valRecon, @valKl, @bitsPerDim, @durationMs, @extra)`);
  const stats = db.prepare<[string], { total: number; lo: number | null; hi: number | null }>(
    `SELECT count(*) AS total, min(step) AS lo, max(step) AS hi FROM step_metrics WHERE run_id = ?`,
  );
  const allSteps = db.prepare<[string], StepRow>(
    `SELECT ${STEP_COLUMNS} FROM step_metrics WHERE run_id = ? ORDER BY step`,
  );
  // Bucket b holds the steps in [lo + b*w, lo + (b+1)*w) with w = (hi - lo) / buckets: the
  // integer division (both operands INTEGER; bound JS numbers arrive as REAL, hence the casts)
  // floor((step - lo) * buckets / (hi - lo)) is in [0, buckets) for every step < hi.
  const bucketed = db.prepare<{ runId: string; lo: number; hi: number; buckets: number }, StepRow>(`
    SELECT avg(step) AS step, avg(epoch) AS epoch, ${['loss', 'recon', 'kl', 'neg_elbo', 'samples_per_sec', 'beta', 'lr', 'grad_norm'].map(mean).join(', ')},
           avg(time_ms) AS time_ms
    FROM step_metrics
    WHERE run_id = @runId AND step < @hi
    GROUP BY (step - CAST(@lo AS INTEGER)) * CAST(@buckets AS INTEGER) / (CAST(@hi AS INTEGER) - CAST(@lo AS INTEGER))
    ORDER BY 1`);
  const oneStep = db.prepare<[string, number], StepRow>(
    `SELECT ${STEP_COLUMNS} FROM step_metrics WHERE run_id = ? AND step = ?`,
  );
  const epochs = db.prepare<[string], EpochRow>(
    `SELECT ${epochColumns.join(', ')} FROM epoch_metrics WHERE run_id = ? ORDER BY epoch`,
  );

  const deleteSteps = db.prepare<[string, number]>(`DELETE FROM step_metrics WHERE run_id = ? AND step > ?`);
  const deleteEpochs = db.prepare<[string, number]>(`DELETE FROM epoch_metrics WHERE run_id = ? AND epoch > ?`);
  const truncateTx = db.transaction((runId: string, step: number, epoch: number) => ({
    steps: deleteSteps.run(runId, step).changes,
    epochs: deleteEpochs.run(runId, epoch).changes,
  }));
  const appendStepsTx = db.transaction((runId: string, points: readonly StepPoint[]) => {
    for (const p of points) insertStep.run({ runId, ...pickStep(p) });
  });
  // One snapshot for the count and the rows, so a concurrent append cannot make them disagree.
  const stepsTx = db.transaction((runId: string, maxPoints: number) => {
    const { total, lo, hi } = stats.get(runId)!;
    if (total <= maxPoints || lo === null || hi === null) return { points: allSteps.all(runId).map(toStepPoint), total };
    const buckets = maxPoints - 1;
    const rows = buckets > 0 ? bucketed.all({ runId, lo, hi, buckets }) : [];
    rows.push(oneStep.get(runId, hi)!);
    return { points: rows.map(toStepPoint), total };
  });

  return {
    appendSteps(runId, points) {
      if (points.length === 0) return;
      translateConstraints(() => appendStepsTx.immediate(runId, points), { foreignKey: `no run ${runId}` });
    },
    appendEpoch(runId, p) {
      translateConstraints(
        () =>
          insertEpoch.run({
            runId,
            epoch: p.epoch,
            step: p.step,
            loss: p.loss,
            recon: p.recon,
            kl: p.kl,
            negElbo: p.negElbo,
            valNegElbo: p.valNegElbo,
            valRecon: p.valRecon,
            valKl: p.valKl,
            bitsPerDim: p.bitsPerDim,
            durationMs: p.durationMs,
            extra: epochExtraJson(p),
          }),
        { foreignKey: `no run ${runId}` },
      );
    },
    steps(runId, maxPoints) {
      if (!Number.isInteger(maxPoints) || maxPoints < 1) {
        throw new StudioError('INVALID_INPUT', `maxPoints must be a positive integer, got ${maxPoints}`, 'maxPoints');
      }
      return stepsTx(runId, maxPoints);
    },
    epochs: (runId) => epochs.all(runId).map(toEpochPoint),
    truncateAfter: (runId, step, epoch) => truncateTx.immediate(runId, step, epoch),
  };
}

/** Only the contract's fields reach the named parameters (a point may carry extra keys). */
function pickStep(p: StepPoint) {
  return {
    step: p.step,
    epoch: p.epoch,
    loss: p.loss,
    recon: p.recon,
    kl: p.kl,
    negElbo: p.negElbo,
    samplesPerSec: p.samplesPerSec,
    timeMs: p.timeMs,
    beta: p.beta ?? null,
    lr: p.lr ?? null,
    gradNorm: p.gradNorm ?? null,
  };
}

export function checkpointsRepo(db: Database.Database): CheckpointsRepo {
  const insert = db.prepare(`
    INSERT OR REPLACE INTO checkpoints (run_id, epoch, step, path, bytes, created_at)
    VALUES (@runId, @epoch, @step, @path, @bytes, @createdAt)`);
  const list = db.prepare<[string], { run_id: string; epoch: number; step: number; path: string; bytes: number; created_at: number }>(
    `SELECT run_id, epoch, step, path, bytes, created_at FROM checkpoints WHERE run_id = ? ORDER BY epoch`,
  );
  const removeAfter = db.prepare<[string, number]>(`DELETE FROM checkpoints WHERE run_id = ? AND epoch > ?`);
  return {
    removeAfter: (runId, epoch) => removeAfter.run(runId, epoch).changes,
    add(c) {
      translateConstraints(
        () =>
          insert.run({ runId: c.runId, epoch: c.epoch, step: c.step, path: c.path, bytes: c.bytes, createdAt: c.createdAt }),
        { foreignKey: `no run ${c.runId}` },
      );
    },
    list: (runId) =>
      list.all(runId).map((r) => ({
        runId: r.run_id,
        epoch: r.epoch,
        step: r.step,
        path: r.path,
        bytes: r.bytes,
        createdAt: r.created_at,
      })),
  };
}
