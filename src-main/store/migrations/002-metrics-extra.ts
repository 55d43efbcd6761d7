/**
 * Migration 2: the engine's richer metrics.
 *
 * Steps gain three REAL columns (the KL weight and learning rate the step used, the gradient norm
 * before clipping): columns, not JSON, because step charts downsample them with SQL means like the
 * losses. Epochs gain one JSON object `extra` for the optional per-epoch fields (validation
 * bits/dim, KL per latent dimension, active units, the collapse warning, sigma, beta, lr, the stop
 * reason): read whole with the epoch, never aggregated, and free to grow without a migration.
 * Rows written before this migration read these as absent (NULL). Frozen once released.
 */
import type { Migration } from '../migrate.ts';

export const migration002: Migration = {
  version: 2,
  name: 'metrics-extra',
  up(db) {
    db.exec(`
      ALTER TABLE step_metrics ADD COLUMN beta REAL;
      ALTER TABLE step_metrics ADD COLUMN lr REAL;
      ALTER TABLE step_metrics ADD COLUMN grad_norm REAL;
      ALTER TABLE epoch_metrics ADD COLUMN extra TEXT CHECK (extra IS NULL OR json_valid(extra));
    `);
  },
};
