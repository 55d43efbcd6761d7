/**
 * The web-mode session token. The server prints a URL with `?token=...`; the page keeps the token in
 * sessionStorage (so a reload in the same tab still connects) and removes it from the visible URL,
 * so it does not end up in screenshots, bookmarks or the history.
 */
export const TOKEN_PARAM = 'token';
export const TOKEN_STORAGE_KEY = 'vae-studio.token';

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}
export interface HistoryLike {
  replaceState(data: unknown, unused: string, url?: string): void;
}

/**
 * Returns the token from `href` (saving it) or, failing that, from storage; strips the token
 * from the address bar through `history`. `null` when neither has one.
 */
export function takeToken(href: string, storage: StorageLike, history: HistoryLike): string | null {
  const url = new URL(href);
  const fromUrl = url.searchParams.get(TOKEN_PARAM);
  if (fromUrl) {
    try {
      storage.setItem(TOKEN_STORAGE_KEY, fromUrl);
    } catch {
      /* storage may be disabled; the token still works for this page load */
    }
    url.searchParams.delete(TOKEN_PARAM);
    history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  try {
    return storage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}

/** ws:// or wss:// URL of the studio's socket on the page's own host. */
export function socketUrl(pageHref: string, token: string | null): string {
  const page = new URL(pageHref);
  const proto = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = token ? `?${TOKEN_PARAM}=${encodeURIComponent(token)}` : '';
  return `${proto}//${page.host}/ws${q}`;
}
