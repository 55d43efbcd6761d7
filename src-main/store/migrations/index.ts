/**
 * The ordered list of schema migrations: entry i brings a database from version i to i + 1
 * (`PRAGMA user_version`). One file per migration, named NNN-name.ts, so that each stays frozen and
 * reviewable on its own and its before/after can be tested alone; this list is the only place
 * that orders them. Append, never reorder or edit a released entry.
 */
import type { Migration } from '../migrate.ts';
import { migration001 } from './001-initial.ts';
import { migration002 } from './002-metrics-extra.ts';
import { migration003 } from './003-run-notes.ts';

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003];

/** The schema version this build writes and understands; a newer database is refused. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;
