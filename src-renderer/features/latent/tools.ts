/** Small helpers the explorer's tools share. */

/**
 * Wraps an async function so at most one call runs at a time; calls made meanwhile collapse into
 * one more call with the latest arguments (sliders decode at the rate the decoder answers).
 */
export function latestOnly<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => void {
  let running = false;
  let pending: A | null = null;
  const run = async (args: A): Promise<void> => {
    running = true;
    try {
      await fn(...args);
    } finally {
      running = false;
      if (pending) {
        const next = pending;
        pending = null;
        void run(next);
      }
    }
  };
  return (...args: A) => {
    if (running) pending = args;
    else void run(args);
  };
}

/** A file-name friendly stem for a run and epoch. */
export function fileStem(runId: string | null, epoch: number | null): string {
  return `latent-${(runId ?? 'run').slice(0, 8)}-epoch${epoch ?? 0}`;
}
