/**
 * Opening the history file: refusing a database from a newer studio, moving a corrupt one aside,
 * then the connection settings every process that shares the file (the app, web mode, the CLI)
 * must agree on, and the migrations.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { StudioError } from '../contract/index.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations/index.ts';
import { migrate, newerError, refuseForeignTables } from './migrate.ts';

/** How long a connection waits for another process's write lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/** SQLite's companion files of a database in WAL mode; they belong to it and move with it. */
const COMPANIONS = ['-wal', '-shm'] as const;

export interface OpenedDatabase {
  db: Database.Database;
  recovered: { movedTo: string; reason: string } | null;
}

export function openDatabase(file: string, nativeBinding: string | undefined, now: () => number): OpenedDatabase {
  let recovered: OpenedDatabase['recovered'] = null;
  const problem = inspect(file, nativeBinding);
  if (problem !== null) {
    const movedTo = moveAside(file, now());
    recovered = { movedTo, reason: problem };
  }

  const db = connect(file, nativeBinding, false);
  try {
    // Persistent, written into the file header: readers no longer block the writer and the
    // reverse, which the app, web mode and the CLI sharing one file rely on.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StudioError('INTERNAL', `${file}: could not switch to WAL journaling (got ${String(mode)})`);
    // Per connection. NORMAL is durable against application crashes in WAL mode and only loses
    // the last transactions on power loss, never consistency (https://sqlite.org/pragma.html#pragma_synchronous).
    db.pragma('synchronous = NORMAL');
    // better-sqlite3's own build already defaults to ON (SQLITE_DEFAULT_FOREIGN_KEYS=1); said here
    // so that cascades and RESTRICT do not depend on how the addon was compiled.
    db.pragma('foreign_keys = ON');
    migrate(db, MIGRATIONS);
  } catch (e) {
    db.close();
    throw e;
  }
  return { db, recovered };
}

function connect(file: string, nativeBinding: string | undefined, readonly: boolean): Database.Database {
  const options: Database.Options = { timeout: BUSY_TIMEOUT_MS, readonly, fileMustExist: readonly };
  if (nativeBinding !== undefined) options.nativeBinding = nativeBinding;
  return new Database(file, options);
}

/**
 * Looks at an existing file without changing it: a read-only connection never checkpoints nor
 * deletes a -wal file on close (a read-write one does, and on a file SQLite cannot read it would
 * throw away a WAL that may hold the newest runs). Returns why the file is unusable, or null.
 * Throws DB_NEWER for a database written by a newer studio.
 */
function inspect(file: string, nativeBinding: string | undefined): string | null {
  if (!fs.existsSync(file)) return null;
  let db: Database.Database | undefined;
  try {
    db = connect(file, nativeBinding, true);
    const version = db.pragma('user_version', { simple: true }) as number;
    // Checked before the integrity check: a newer studio's file is never ours to move.
    if (version > SCHEMA_VERSION) throw newerError(file, version, SCHEMA_VERSION);
    // Likewise somebody else's database: refused here, before WAL mode is written into its header.
    if (version === 0) refuseForeignTables(db);
    // quick_check: the O(N) structural check (pages, b-trees, records) without the index
    // cross-check of integrity_check, which would cost far more on a large metrics table.
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const messages = rows.map((r) => r.quick_check);
    if (messages.length === 1 && messages[0] === 'ok') return null;
    // SQLite's report can list every orphaned page: keep the start, on one line.
    const text = messages.join('; ').replace(/\s*\n\s*/g, '; ');
    return `quick_check failed: ${text.length > 300 ? `${text.slice(0, 300)}...` : text}`;
  } catch (e) {
    if (isCorruption(e)) return `${(e as { code: string }).code}: ${(e as Error).message}`;
    throw e;
  } finally {
    db?.close();
  }
}

function isCorruption(e: unknown): boolean {
  if (!(e instanceof Database.SqliteError)) return false;
  return e.code === 'SQLITE_NOTADB' || e.code.startsWith('SQLITE_CORRUPT');
}

/**
 * Renames the file and its -wal/-shm to `<file>.corrupt-<timestamp>` (+ the same suffixes, so
 * SQLite still pairs them if someone opens the moved copy). Never replaces an existing file:
 * a counter is added when the name is taken.
 */
function moveAside(file: string, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[:.]/g, '-');
  let target = `${file}.corrupt-${stamp}`;
  for (let n = 2; [target, ...COMPANIONS.map((s) => target + s)].some((p) => fs.existsSync(p)); n++) {
    target = `${file}.corrupt-${stamp}-${n}`;
  }
  try {
    fs.renameSync(file, target);
    for (const suffix of COMPANIONS) {
      if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, target + suffix);
    }
  } catch (e) {
    throw new StudioError(
      'DB_CORRUPT',
      `The run history ${file} is damaged and could not be moved aside to ${target}: ${(e as Error).message}`,
    );
  }
  return target;
}
