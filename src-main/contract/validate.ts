import type { z } from 'zod';
import { StudioError } from './errors.ts';

/** Parses with a schema and turns the first issue into an INVALID_INPUT error naming the field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'input'): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  const message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const full = keys.map((k) => (field ? `${field}.${k}` : k));
    throw new StudioError('INVALID_INPUT', `${what}: unknown field ${full.join(', ')}`, full[0]);
  }
  throw new StudioError('INVALID_INPUT', `${what}: ${field || '(root)'}: ${message}`, field || undefined);
}
