/**
 * Migration 1: the first schema of the run history.
 *
 * Frozen once released: a later change to the schema is a new migration file, never an edit here,
 * because databases already at version 1 will not run this again. For the same reason the status
 * list in the CHECK is written out rather than taken from RUN_STATUSES (a new status needs a new
 * migration that rebuilds `runs`).
 *
 * Every table is STRICT, so a value of the wrong type is refused instead of silently stored. Loss
 * columns are nullable on purpose: SQLite has no NaN and stores a bound NaN as NULL, and a diverging
 * run does produce NaN losses; the repositories read NULL back as NaN.
 */
import type { Migration } from '../migrate.ts';

export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE datasets (
        id          TEXT    NOT NULL PRIMARY KEY,
        name        TEXT    NOT NULL,
        kind        TEXT    NOT NULL CHECK (kind IN ('builtin', 'imported')),
        source      TEXT    NOT NULL,
        count       INTEGER NOT NULL CHECK (count >= 0),
        width       INTEGER NOT NULL CHECK (width > 0),
        height      INTEGER NOT NULL CHECK (height > 0),
        channels    INTEGER NOT NULL CHECK (channels > 0),
        labels      TEXT    CHECK (labels IS NULL OR json_valid(labels)),
        data_path   TEXT,
        fingerprint TEXT,
        created_at  INTEGER NOT NULL
      ) STRICT;

      -- datasets.list(): builtins first, then newest first. The ORDER BY must repeat these
      -- expressions exactly for the planner to walk the index instead of sorting.
      CREATE INDEX datasets_list ON datasets ((kind = 'builtin') DESC, created_at DESC, id);

      CREATE TABLE runs (
        id           TEXT    NOT NULL PRIMARY KEY,
        name         TEXT    NOT NULL,
        dataset_id   TEXT    NOT NULL REFERENCES datasets (id) ON DELETE RESTRICT,
        status       TEXT    NOT NULL
                     CHECK (status IN ('queued', 'running', 'completed', 'stopped', 'failed', 'interrupted')),
        config       TEXT    NOT NULL CHECK (json_valid(config)),
        seed         INTEGER NOT NULL,
        backend      TEXT,
        device       TEXT,
        app_version  TEXT    NOT NULL,
        tfjs_version TEXT,
        created_at   INTEGER NOT NULL,
        started_at   INTEGER,
        finished_at  INTEGER,
        error        TEXT,
        owner_pid    INTEGER,
        trainer_pid  INTEGER
      ) STRICT;

      -- runs.list(): newest first (rowid breaks ties in insertion order; every index carries it).
      CREATE INDEX runs_list ON runs (created_at);
      -- The child key of the datasets foreign key: without it every dataset delete scans runs.
      CREATE INDEX runs_dataset ON runs (dataset_id);
      -- markInterrupted() at startup looks only at the few active runs.
      CREATE INDEX runs_active ON runs (status) WHERE status IN ('queued', 'running');

      -- One row per reported training step. WITHOUT ROWID: the primary key is the storage order,
      -- so a run's steps are contiguous on disk and a range scan by (run_id, step) reads them in order.
      CREATE TABLE step_metrics (
        run_id          TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step            INTEGER NOT NULL,
        epoch           INTEGER NOT NULL,
        loss            REAL,
        recon           REAL,
        kl              REAL,
        neg_elbo        REAL,
        samples_per_sec REAL,
        time_ms         REAL    NOT NULL,
        PRIMARY KEY (run_id, step)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE epoch_metrics (
        run_id       TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        epoch        INTEGER NOT NULL,
        step         INTEGER NOT NULL,
        loss         REAL,
        recon        REAL,
        kl           REAL,
        neg_elbo     REAL,
        val_neg_elbo REAL,
        val_recon    REAL,
        val_kl       REAL,
        bits_per_dim REAL,
        duration_ms  REAL    NOT NULL,
        PRIMARY KEY (run_id, epoch)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE checkpoints (
        run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        epoch      INTEGER NOT NULL,
        step       INTEGER NOT NULL,
        path       TEXT    NOT NULL,
        bytes      INTEGER NOT NULL CHECK (bytes >= 0),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (run_id, epoch)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};
