/**
 * Typed IPC between the window and the studio: one ipcMain.handle channel per command
 * (`cmd:<name>`), one webContents.send channel per event (`evt:<name>`). Every invocation's sender
 * frame is checked before the studio sees it; the studio validates the input itself.
 * Only `import type` from 'electron': tests drive it with a fake ipcMain and fake frames.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { COMMAND_NAMES, EVENT_NAMES, commandChannel, eventChannel } from '../contract/index.ts';
import type { EventName, Result } from '../contract/index.ts';
import type { Studio } from '../services/studio-api.ts';
import { isAllowedNavigation } from './window.ts';

export type SenderCheck = (event: IpcMainInvokeEvent) => boolean;
export type IpcHost = Pick<IpcMain, 'handle' | 'removeHandler'>;

const forbidden = (): Result<never> => ({
  ok: false,
  error: { code: 'FORBIDDEN', message: 'this IPC sender is not the studio window' },
});

/**
 * Registers one handler per command. Returns a function that removes them all.
 * An untrusted sender gets {ok: false, error: {code: 'FORBIDDEN'}} and the studio is not called.
 */
export function registerIpc(
  ipcMain: IpcHost,
  studio: Pick<Studio, 'dispatch'>,
  isTrustedSender: SenderCheck,
): () => void {
  const channels: string[] = [];
  for (const name of COMMAND_NAMES) {
    const channel = commandChannel(name);
    ipcMain.handle(channel, async (event, input: unknown): Promise<Result<unknown>> => {
      let trusted: boolean;
      try {
        trusted = isTrustedSender(event) === true;
      } catch {
        trusted = false;
      }
      if (!trusted) return forbidden();
      try {
        return await studio.dispatch(name, input);
      } catch (e) {
        // dispatch promises never to throw; if it does anyway, the renderer still gets a Result.
        return { ok: false, error: { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) } };
      }
    });
    channels.push(channel);
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}

export interface SenderCheckOptions {
  /** The web contents of our window(s); a sender that is not one of them is refused. */
  windows: () => readonly Pick<WebContents, 'id'>[];
  /** Origins trusted besides app://studio (the electron-vite dev server in development). */
  extraOrigins?: readonly string[];
}

/**
 * The sender must be the top frame (no parent) of one of our windows, showing an app://studio page.
 * senderFrame is null when the frame navigated or was destroyed in the meantime: refused.
 */
export function createSenderCheck(opts: SenderCheckOptions): SenderCheck {
  const extra = opts.extraOrigins ?? [];
  return (event) => {
    const frame = event.senderFrame;
    if (!frame) return false;
    if (frame.parent !== null) return false;
    if (!isAllowedNavigation(frame.url, extra)) return false;
    const senderId = event.sender?.id;
    return opts.windows().some((w) => w.id === senderId);
  };
}

export type EventSink = Pick<WebContents, 'send' | 'isDestroyed' | 'getURL'>;

/**
 * Forwards every studio event to the given windows (evt:<name>). A window that is gone, or that shows
 * anything but our own page, is skipped. Returns the unsubscribe function.
 */
export function forwardStudioEvents(
  studio: Pick<Studio, 'subscribe'>,
  targets: () => readonly EventSink[],
  extraOrigins: readonly string[] = [],
): () => void {
  const known = new Set<string>(EVENT_NAMES);
  return studio.subscribe((event: EventName, payload: unknown) => {
    if (!known.has(event)) return;
    const channel = eventChannel(event);
    for (const t of targets()) {
      if (t.isDestroyed()) continue;
      if (!isAllowedNavigation(t.getURL(), extraOrigins)) continue;
      t.send(channel, payload);
    }
  });
}
