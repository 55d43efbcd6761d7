/**
 * What the Electron preload exposes on `window.vaeStudio` (contextBridge). One function per command,
 * an event subscription that returns its unsubscribe function, and the path of a dropped file (the
 * only way a renderer learns a file path; main checks it again).
 */
import type { CommandInput, CommandName, CommandOutput, EventName, Events } from './commands.ts';
import type { Result } from './errors.ts';

export type BridgeCommands = {
  [K in CommandName]: (input: CommandInput<K>) => Promise<Result<CommandOutput<K>>>;
};

export interface PreloadApi {
  commands: BridgeCommands;
  on<E extends EventName>(event: E, cb: (payload: Events[E]) => void): () => void;
  getPathForFile(file: File): string;
}

export const BRIDGE_GLOBAL = 'vaeStudio';
