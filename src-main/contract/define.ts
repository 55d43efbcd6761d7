/** How a command of the contract is declared: its zod input and (as a phantom) its output type. */
import type { z } from 'zod';

export interface CommandDef<I extends z.ZodType, O> {
  input: I;
  /** Phantom: carries the output type only. */
  readonly output?: O;
}

export function command<I extends z.ZodType>(input: I) {
  return { returns: <O>(): CommandDef<I, O> => ({ input }) };
}
