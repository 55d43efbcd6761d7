/**
 * Hash routes (#/train, #/runs/<id>): they survive a reload and need no server support, which
 * matters for app://studio/ in Electron as much as for the web server.
 */
/** 'compare' has no entry in the navigation: its id is the compared run ids joined by commas. */
export const PAGES = ['datasets', 'train', 'runs', 'latent', 'export', 'compute', 'compare'] as const;
export type Page = (typeof PAGES)[number];

export interface Route {
  page: Page;
  /** Selected item, e.g. a run id on the runs page. */
  id: string | null;
}

export const DEFAULT_ROUTE: Route = { page: 'datasets', id: null };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const page = parts[0] as Page | undefined;
  if (!page || !(PAGES as readonly string[]).includes(page)) return DEFAULT_ROUTE;
  const id = parts[1] !== undefined ? decodeURIComponent(parts[1]) : null;
  return { page, id };
}

export function routeHash(r: Route): string {
  return r.id ? `#/${r.page}/${encodeURIComponent(r.id)}` : `#/${r.page}`;
}
