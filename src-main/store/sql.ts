/** Small helpers shared by the repositories: value mapping and SQLite error translation. */
import Database from 'better-sqlite3';
import { StudioError } from '../contract/index.ts';

/** SQLite has no NaN (a bound NaN is stored as NULL): loss columns read NULL back as NaN. */
export function realOrNaN(v: number | null): number {
  return v === null ? Number.NaN : v;
}

/**
 * Runs `fn`, turning constraint violations into the studio's error codes: a missing parent row
 * (foreign key) is NOT_FOUND, a duplicate key is CONFLICT. Anything else is rethrown as is.
 */
export function translateConstraints<T>(fn: () => T, messages: { foreignKey: string; unique?: string }): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Database.SqliteError) {
      if (e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') throw new StudioError('NOT_FOUND', messages.foreignKey);
      if ((e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE') && messages.unique) {
        throw new StudioError('CONFLICT', messages.unique);
      }
    }
    throw e;
  }
}
