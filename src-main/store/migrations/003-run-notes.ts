/**
 * Migration 3: what a person adds to a run in the runs view.
 *
 * `notes` is free text; `tags` a JSON array of short strings (searched and filtered in the renderer,
 * a few hundred runs at most, so no tag table). Both default to empty for the runs that exist.
 * Frozen once released.
 */
import type { Migration } from '../migrate.ts';

export const migration003: Migration = {
  version: 3,
  name: 'run-notes',
  up(db) {
    db.exec(`
      ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
      ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags) AND json_type(tags) = 'array');
    `);
  },
};
