/**
 * Error codes and the Result shape every command answers with. Pure TypeScript: this file is shared
 * by main, the trainer, the CLI, the web server and the renderer.
 */
export const ERROR_CODES = [
  'INVALID_INPUT', // the input failed its schema; `field` names the offending path
  'UNKNOWN_COMMAND', // no such command in the contract
  'NOT_FOUND', // the id does not name a dataset / run
  'CONFLICT', // the request contradicts the current state (e.g. stopping a finished run)
  'CANCELLED', // the user cancelled the operation; nothing was left half-done
  'FORBIDDEN', // the caller is not trusted (wrong IPC sender, bad token or Origin)
  'TRAINER_FAILED', // the trainer process could not start or died
  'DB_NEWER', // the history database was written by a newer studio
  'DB_CORRUPT', // the history database could not be read; it was moved aside
  'EXPORT_VERIFY_FAILED', // an exported model, loaded by a real runtime, did not reproduce the studio's outputs; nothing was kept
  'INTERNAL', // a bug: the message says what happened
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppError {
  code: ErrorCode;
  message: string;
  /** Dotted path of the offending input field, for INVALID_INPUT. */
  field?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };

/** Thrown inside main-side code; the dispatcher turns it into `{ok: false, error}`. */
export class StudioError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  constructor(code: ErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
    this.field = field;
  }
  toJSON(): AppError {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: ErrorCode, message: string, field?: string): Result<never> {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

export function isStudioError(e: unknown): e is StudioError {
  return e instanceof StudioError;
}
