/** Picks the transport for this page: the Electron bridge when the preload installed it, else web mode. */
import { BRIDGE_GLOBAL } from '../../../src-main/contract/index.ts';
import type { PreloadApi } from '../../../src-main/contract/index.ts';
import { Client } from './client.ts';
import { ElectronTransport } from './electron-transport.ts';
import { socketUrl, takeToken } from './token.ts';
import type { Transport } from './transport.ts';
import { WebSocketTransport } from './ws-transport.ts';
import type { SocketLike } from './ws-transport.ts';

export { Client, ClientError, errorMessage, isClientError } from './client.ts';
export type { ClientErrorCode } from './client.ts';
export type { ConnectionState, ConnectionStatus, Transport } from './transport.ts';
export { TransportError } from './transport.ts';

export interface BrowserTransport {
  transport: Transport;
  /** Web mode without a token: the server will refuse us; the UI says how to get one. */
  missingToken: boolean;
}

export function createBrowserTransport(win: Window = window): BrowserTransport {
  const bridge = (win as unknown as Record<string, unknown>)[BRIDGE_GLOBAL] as PreloadApi | undefined;
  if (bridge && typeof bridge === 'object' && bridge.commands) {
    return { transport: new ElectronTransport(bridge), missingToken: false };
  }
  const token = takeToken(win.location.href, win.sessionStorage, win.history);
  const url = socketUrl(win.location.href, token);
  const transport = new WebSocketTransport({
    url,
    // The DOM WebSocket has the members SocketLike names; its handler types are just wider.
    createSocket: (u) => new WebSocket(u) as unknown as SocketLike,
    description: `WebSocket ${win.location.host}`,
  });
  return { transport, missingToken: token === null };
}

export function createClient(win: Window = window): { client: Client; missingToken: boolean } {
  const { transport, missingToken } = createBrowserTransport(win);
  return { client: new Client(transport), missingToken };
}
