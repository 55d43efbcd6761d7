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
  /**
   * The steps of the run in [fromStep, toStep] (inclusive; a bound left out is open), at most
   * `maxPoints` of them. When the range holds more, its first and last stored steps come back
   * unchanged and the steps strictly between them are grouped into `maxPoints - 2` equal-width
   * ranges of step numbers, each non-empty one becoming one point of means as in steps(). The
   * rows are read by a range scan of the primary key (run_id, step), so the cost follows the
   * range, not the run. `covered` says which stored steps the range holds: the first, the last
   * (null when it holds none) and how many; `lastOfRun` is the run's last stored step (0 when
   * none), read from the index where a count of the run's steps would read every row. A bound
   * that is not a whole number from 1, or a range that ends before it starts, is INVALID_INPUT
   * naming the field.
   */
  stepsInRange(runId: string, maxPoints: number, range: StepRange): { points: StepPoint[]; covered: CoveredRange; lastOfRun: number };
  /** Every epoch's metrics, in epoch order; with a range, only the epochs whose last step is in it. */
  epochs(runId: string, range?: StepRange): EpochPoint[];
  /**
   * Deletes the steps after `step` and the epochs after `epoch` (one transaction): a run resumed
   * from a checkpoint drops what it recorded past that checkpoint before training it again.
   */
  truncateAfter(runId: string, step: number, epoch: number): { steps: number; epochs: number };
}

/** Inclusive bounds on the step number; a bound left out is open. */
export interface StepRange {
  fromStep?: number | undefined;
  toStep?: number | undefined;
}

/** The stored steps a range holds: its first and last step (null when none) and how many. */
export interface CoveredRange {
  fromStep: number | null;
  toStep: number | null;
  count: number;
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
  // The means of one range of steps [from, to): a search of the primary key, no sort.
  const bucketMean = db.prepare<{ runId: string; from: number; to: number }, StepRow & { n: number }>(`
    SELECT count(*) AS n, avg(step) AS step, avg(epoch) AS epoch,
           ${['loss', 'recon', 'kl', 'neg_elbo', 'samples_per_sec', 'beta', 'lr', 'grad_norm'].map(mean).join(', ')},
           avg(time_ms) AS time_ms
    FROM step_metrics
    WHERE run_id = @runId AND step >= @from AND step < @to`);
  // The range forms: each WHERE is `run_id = ? AND step <op> ?`, a search of the primary key.
  const rangeStats = db.prepare<{ runId: string; from: number; to: number }, { count: number; lo: number | null; hi: number | null }>(
    `SELECT count(*) AS count, min(step) AS lo, max(step) AS hi FROM step_metrics WHERE run_id = @runId AND step BETWEEN @from AND @to`,
  );
  const rangeSteps = db.prepare<{ runId: string; from: number; to: number }, StepRow>(
    `SELECT ${STEP_COLUMNS} FROM step_metrics WHERE run_id = @runId AND step BETWEEN @from AND @to ORDER BY step`,
  );
  // max() of the key's second column: one descent of the b-tree, not a count of the rows.
  const lastStep = db.prepare<[string], { hi: number | null }>(`SELECT max(step) AS hi FROM step_metrics WHERE run_id = ?`);
  const oneStep = db.prepare<[string, number], StepRow>(
    `SELECT ${STEP_COLUMNS} FROM step_metrics WHERE run_id = ? AND step = ?`,
  );
  const epochs = db.prepare<[string], EpochRow>(
    `SELECT ${epochColumns.join(', ')} FROM epoch_metrics WHERE run_id = ? ORDER BY epoch`,
  );
  const epochsInRange = db.prepare<[string, number, number], EpochRow>(
    `SELECT ${epochColumns.join(', ')} FROM epoch_metrics WHERE run_id = ? AND step BETWEEN ? AND ? ORDER BY epoch`,
  );

  /**
   * The means over `buckets` equal-width ranges of step numbers covering [lo, hi), empty ones left
   * out: bucket b holds the steps s with floor((s - lo) * buckets / (hi - lo)) = b, that is
   * lo + ceil(b * (hi - lo) / buckets) <= s < lo + ceil((b + 1) * (hi - lo) / buckets). One range
   * search of the primary key per bucket reads the rows once, in key order; a GROUP BY on the
   * bucket number would sort every row through a temporary b-tree first (about twice as slow on a
   * million steps).
   */
  const bucketMeans = (runId: string, lo: number, hi: number, buckets: number): StepRow[] => {
    const rows: StepRow[] = [];
    let from = lo;
    for (let b = 1; b <= buckets; b++) {
      // b * (hi - lo) is an exact integer; a quotient with a fraction is never rounded onto an integer.
      const to = lo + Math.ceil((b * (hi - lo)) / buckets);
      if (to > from) {
        const r = bucketMean.get({ runId, from, to })!;
        if (r.n > 0) rows.push(r);
      }
      from = to;
    }
    return rows;
  };

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
    const rows = bucketMeans(runId, lo, hi, maxPoints - 1);
    rows.push(oneStep.get(runId, hi)!);
    return { points: rows.map(toStepPoint), total };
  });
  const rangeTx = db.transaction((runId: string, maxPoints: number, from: number, to: number) => {
    const { count, lo, hi } = rangeStats.get({ runId, from, to })!;
    const covered: CoveredRange = { fromStep: lo, toStep: hi, count };
    const lastOfRun = lastStep.get(runId)!.hi ?? 0;
    if (count <= maxPoints || lo === null || hi === null) {
      return { points: rangeSteps.all({ runId, from, to }).map(toStepPoint), covered, lastOfRun };
    }
    if (maxPoints === 1) return { points: [toStepPoint(oneStep.get(runId, hi)!)], covered, lastOfRun };
    // The first step, the steps between in maxPoints - 2 buckets, the last step.
    const rows = [oneStep.get(runId, lo)!, ...bucketMeans(runId, lo + 1, hi, maxPoints - 2), oneStep.get(runId, hi)!];
    return { points: rows.map(toStepPoint), covered, lastOfRun };
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
    stepsInRange(runId, maxPoints, { fromStep, toStep }) {
      if (!Number.isInteger(maxPoints) || maxPoints < 1) {
        throw new StudioError('INVALID_INPUT', `maxPoints must be a positive integer, got ${maxPoints}`, 'maxPoints');
      }
      for (const [field, v] of [['fromStep', fromStep], ['toStep', toStep]] as const) {
        if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) {
          throw new StudioError('INVALID_INPUT', `${field} must be a whole step number from 1, got ${v}`, field);
        }
      }
      if (fromStep !== undefined && toStep !== undefined && fromStep > toStep) {
        throw new StudioError('INVALID_INPUT', `fromStep (${fromStep}) is after toStep (${toStep})`, 'fromStep');
      }
      return rangeTx(runId, maxPoints, fromStep ?? Number.MIN_SAFE_INTEGER, toStep ?? Number.MAX_SAFE_INTEGER);
    },
    epochs: (runId, range) =>
      (range
        ? epochsInRange.all(runId, range.fromStep ?? Number.MIN_SAFE_INTEGER, range.toStep ?? Number.MAX_SAFE_INTEGER)
        : epochs.all(runId)
      ).map(toEpochPoint),
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
