import type { ConnectionStatus } from '../api/transport.ts';

/**
 * Calls `cb` each time the link comes back after having been connected and lost (not on the
 * first connection: the views load through the queued first requests). Events sent while the
 * link was down are lost, so views use this to reload what they show.
 */
export function onReconnect(
  source: { status: ConnectionStatus; onStatus(l: (s: ConnectionStatus) => void): () => void },
  cb: () => void,
): () => void {
  let everConnected = source.status.state === 'connected';
  let lost = false;
  return source.onStatus((s) => {
    if (s.state === 'connected') {
      if (everConnected && lost) cb();
      everConnected = true;
      lost = false;
    } else if (everConnected) {
      lost = true;
    }
  });
}
