/**
 * The WebSocket wire format of web mode (the Electron transport uses ipcRenderer.invoke on one
 * channel per command instead). Client -> server: a request; server -> client: a reply to one
 * request, or an event.
 */
import type { Result } from './errors.ts';

export interface WireRequest {
  id: number;
  command: string;
  input: unknown;
}
export interface WireReply {
  id: number;
  result: Result<unknown>;
}
export interface WireEvent {
  event: string;
  payload: unknown;
}
export type WireMessage = WireReply | WireEvent;

/** Electron channel names: one per command, one per event. */
export const commandChannel = (name: string): string => `cmd:${name}`;
export const eventChannel = (name: string): string => `evt:${name}`;
