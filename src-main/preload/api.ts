/**
 * The window bridge, as a factory with its Electron surface injected: index.ts passes the real
 * ipcRenderer / webUtils / contextBridge, tests pass fakes. Only `import type` from 'electron'.
 *
 * What crosses into the page: one function per command (generated from COMMAND_NAMES, each invoking
 * its own `cmd:<name>` channel), `on(event, cb)` returning its unsubscribe, and getPathForFile. Never
 * ipcRenderer itself, and never the IPC event object (its `sender` is the ipcRenderer).
 */
import type { ContextBridge, IpcRenderer, WebUtils } from 'electron';
import { BRIDGE_GLOBAL } from '../contract/bridge.ts';
import type { BridgeCommands, PreloadApi } from '../contract/bridge.ts';
import { COMMAND_NAMES, EVENT_NAMES } from '../contract/names.ts';
import type { CommandName, EventName, Events } from '../contract/commands.ts';
import { commandChannel, eventChannel } from '../contract/wire.ts';

export type BridgeIpc = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>;
export type BridgeFiles = Pick<WebUtils, 'getPathForFile'>;

export function createPreloadApi(ipc: BridgeIpc, files: BridgeFiles): PreloadApi {
  const commands = {} as Record<CommandName, (input: unknown) => Promise<unknown>>;
  for (const name of COMMAND_NAMES) {
    const channel = commandChannel(name);
    commands[name] = (input: unknown) => ipc.invoke(channel, input);
  }
  const events = new Set<string>(EVENT_NAMES);

  return {
    commands: Object.freeze(commands) as unknown as BridgeCommands,
    on<E extends EventName>(event: E, cb: (payload: Events[E]) => void): () => void {
      if (!events.has(event)) throw new Error(`unknown event: ${String(event)}`);
      if (typeof cb !== 'function') throw new TypeError('on(event, cb): cb must be a function');
      const channel = eventChannel(event);
      const listener = (_ipcEvent: unknown, payload: Events[E]): void => cb(payload);
      ipc.on(channel, listener);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        ipc.removeListener(channel, listener);
      };
    },
    getPathForFile(file: File): string {
      return files.getPathForFile(file);
    },
  };
}

export interface BridgeDeps {
  contextBridge: Pick<ContextBridge, 'exposeInMainWorld'>;
  ipcRenderer: BridgeIpc;
  webUtils: BridgeFiles;
}

/** Puts the api on window.vaeStudio (in the page's world, not the preload's). */
export function exposeBridge(deps: BridgeDeps): PreloadApi {
  const api = createPreloadApi(deps.ipcRenderer, deps.webUtils);
  deps.contextBridge.exposeInMainWorld(BRIDGE_GLOBAL, api);
  return api;
}
