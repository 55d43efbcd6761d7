/** App-wide state: the connection, app info for the status bar, and the current route. */
import type { AppInfo } from '../../../src-main/contract/index.ts';
import { errorMessage } from '../api/client.ts';
import type { Client } from '../api/client.ts';
import type { ConnectionStatus } from '../api/transport.ts';
import { onReconnect } from '../util/reconnect.ts';
import { parseRoute, routeHash } from '../util/route.ts';
import type { Page, Route } from '../util/route.ts';

export class AppState {
  readonly client: Client;
  readonly missingToken: boolean;
  connection = $state.raw<ConnectionStatus>({ state: 'connecting', attempts: 0, retryInMs: null });
  info = $state.raw<AppInfo | null>(null);
  infoError = $state<string | null>(null);
  route = $state.raw<Route>(parseRoute(location.hash));
  /** Notices main reported at startup (recovered history, interrupted runs) that were dismissed. */
  dismissed = $state<string[]>([]);
  notices = $derived((this.info?.notices ?? []).filter((n) => !this.dismissed.includes(n)));

  constructor(client: Client, missingToken: boolean) {
    this.client = client;
    this.missingToken = missingToken;
    this.connection = client.status;
    client.onStatus((s) => (this.connection = s));
    onReconnect(client, () => void this.loadInfo());
    window.addEventListener('hashchange', () => (this.route = parseRoute(location.hash)));
    // The desktop app's native notification of a finished run, clicked: open the run.
    client.on('app.open', (e) => this.go(e.page, e.id));
    void this.loadInfo();
  }

  get connected(): boolean {
    return this.connection.state === 'connected';
  }

  async loadInfo(): Promise<void> {
    try {
      this.info = await this.client.call('app.info', {});
      this.infoError = null;
    } catch (e) {
      this.infoError = errorMessage(e);
    }
  }

  dismiss(notice: string): void {
    this.dismissed = [...this.dismissed, notice];
  }

  go(page: Page, id: string | null = null): void {
    const r = { page, id };
    const hash = routeHash(r);
    if (location.hash !== hash) location.hash = hash;
    this.route = r;
  }
}
