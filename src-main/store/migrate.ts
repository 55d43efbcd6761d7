/**
 * The migration runner. A database's schema version is its `PRAGMA user_version`; migration N
 * brings it from N - 1 to N. Each migration runs in its own IMMEDIATE transaction together with
 * the `user_version` bump, so a failure leaves the database exactly at the previous version, and
 * a crash between two migrations leaves a consistent, resumable state.
 */
import type Database from 'better-sqlite3';
import { StudioError } from '../contract/index.ts';

export interface Migration {
  /** 1-based; equals the migration's position in the list plus one. */
  readonly version: number;
  readonly name: string;
  /** Runs inside the transaction; must not touch `user_version` or transaction state itself. */
  up(db: Database.Database): void;
}

export function userVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies every migration above the database's version, in order.
 *
 * Foreign keys are switched off around each migration (the pragma is a no-op inside a
 * transaction, so it is done outside): SQLite's table-rebuild procedure for schema changes that
 * ALTER TABLE cannot do (https://sqlite.org/lang_altertable.html, "making other kinds of table
 * schema changes") drops and recreates tables, which with enforcement on would cascade deletes.
 * `PRAGMA foreign_key_check` then runs before the commit so a migration cannot leave dangling
 * references behind.
 *
 * Safe against another process migrating the same file at the same time: the version is read
 * again under the write lock and a migration that someone else already applied is skipped.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[],
): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new StudioError('INTERNAL', `migration "${m.name}" is at position ${i + 1} but says version ${m.version}`);
    }
  });
  const target = migrations.length;
  const from = userVersion(db);
  if (from > target) throw newerError(db.name, from, target);

  for (const m of migrations) {
    if (m.version <= from) continue;
    const fkOn = db.pragma('foreign_keys', { simple: true }) === 1;
    if (fkOn) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        const current = userVersion(db);
        if (current >= m.version) return; // applied meanwhile by another process
        if (current !== m.version - 1) {
          throw new StudioError('INTERNAL', `cannot apply migration ${m.version} to a database at version ${current}`);
        }
        if (current === 0) refuseForeignTables(db);
        m.up(db);
        const dangling = db.pragma('foreign_key_check') as { table: string; parent: string }[];
        if (dangling.length > 0) {
          const first = dangling[0]!;
          throw new StudioError(
            'INTERNAL',
            `migration ${m.version} (${m.name}) left ${dangling.length} rows in ${first.table} pointing at missing ${first.parent} rows`,
          );
        }
        // The version is part of the same transaction: it commits or rolls back with the schema.
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } finally {
      if (fkOn) db.pragma('foreign_keys = ON');
    }
  }
  return { from, to: Math.max(from, userVersion(db)) };
}

export function newerError(file: string, version: number, supported: number): StudioError {
  return new StudioError(
    'DB_NEWER',
    `The run history ${file} has schema version ${version}, but this VAE Studio supports up to version ` +
      `${supported}. It was written by a newer VAE Studio; update the studio to open it. The file was left untouched.`,
  );
}

/** A version-0 file that already holds tables is somebody else's database: never build ours into it. */
export function refuseForeignTables(db: Database.Database): void {
  const names = db
    .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)
    .pluck()
    .all() as string[];
  if (names.length > 0) {
    throw new StudioError(
      'CONFLICT',
      `${db.name} is not a VAE Studio history (version 0 but it already has tables: ${names.join(', ')}); ` +
        'choose another data folder.',
    );
  }
}
