/**
 * The app:// protocol: the renderer's files are served from out/renderer as app://studio/..., never
 * through file:// (which would give the page the whole disk as its origin). Pure Node: no 'electron'
 * import, so the handler and its path-traversal guard are tested with real files in plain Node.
 *
 * The guard does not trust the URL parser to have removed dot segments (Chromium does for standard
 * schemes, but a bug or a future change there must not open the disk): the path is decoded once,
 * split, and refused when any segment is empty, '.', '..', or holds a backslash, a colon, or a NUL;
 * the joined path must stay inside the root, and so must its realpath (symlinks that escape).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const APP_SCHEME = 'app';
export const APP_HOST = 'studio';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** True for app://studio/... URLs (any path), false for anything else or an unparsable string. */
export function isAppUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST && parsed.username === '' && parsed.password === '' && parsed.port === '';
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  // WebAssembly.instantiateStreaming refuses any other type (tfjs-backend-wasm in the renderer).
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

export function mimeTypeFor(filePath: string): string {
  return MIME[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

export type PathCheck = { ok: true; segments: string[] } | { ok: false; status: 400 | 403; reason: string };

/**
 * Turns a URL pathname (still percent-encoded) into safe relative path segments, or refuses it.
 * '/' maps to the index file.
 */
export function checkRequestPath(pathname: string, index = 'index.html'): PathCheck {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  if (decoded.includes('\0')) return { ok: false, status: 403, reason: 'NUL in path' };
  // A backslash is a separator on Windows: '..\\' would climb there even though it is one segment here.
  if (decoded.includes('\\')) return { ok: false, status: 403, reason: 'backslash in path' };
  if (!decoded.startsWith('/')) return { ok: false, status: 403, reason: 'relative path' };
  if (decoded === '/') return { ok: true, segments: [index] };
  const segments = decoded.slice(1).split('/');
  for (const seg of segments) {
    // Empty segments come from '//' (an absolute path after the host) or a trailing slash.
    if (seg === '') return { ok: false, status: 403, reason: 'empty path segment' };
    if (seg === '.' || seg === '..') return { ok: false, status: 403, reason: 'dot segment' };
    // 'C:' (a drive), 'file:stream' (NTFS alternate data streams).
    if (seg.includes(':')) return { ok: false, status: 403, reason: 'colon in path' };
  }
  return { ok: true, segments };
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export interface AppProtocolOptions {
  /** The Content-Security-Policy header sent with every response (see security.ts). */
  contentSecurityPolicy?: string;
  /** The file served for app://studio/ (default index.html). */
  index?: string;
}

/** The part of a fetch Request the handler reads (a real Request satisfies it). */
export type AppRequest = Pick<Request, 'url' | 'method'>;
export type AppProtocolHandler = (request: AppRequest) => Promise<Response>;

/**
 * Builds the handler given to protocol.handle('app', ...). Serves regular files under rootDir for
 * app://studio/<path>; 404 for anything missing, 403 for a path that tries to leave the root.
 */
export function createAppProtocolHandler(rootDir: string, options: AppProtocolOptions = {}): AppProtocolHandler {
  const root = path.resolve(rootDir);
  const index = options.index ?? 'index.html';
  let realRoot: Promise<string> | null = null;
  const baseHeaders = (): Record<string, string> => {
    const h: Record<string, string> = {
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
      'cross-origin-opener-policy': 'same-origin',
    };
    if (options.contentSecurityPolicy) h['content-security-policy'] = options.contentSecurityPolicy;
    return h;
  };
  const refuse = (status: number, text: string): Response =>
    new Response(text, { status, headers: { ...baseHeaders(), 'content-type': 'text/plain; charset=utf-8' } });

  return async (request) => {
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'method not allowed');
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return refuse(400, 'bad url');
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return refuse(404, 'not found');

    const check = checkRequestPath(url.pathname, index);
    if (!check.ok) return refuse(check.status, check.status === 400 ? 'bad request' : 'forbidden');
    const candidate = path.join(root, ...check.segments);
    if (!isInside(root, candidate)) return refuse(403, 'forbidden');

    realRoot ??= fs.realpath(root).catch(() => root);
    let real: string;
    try {
      real = await fs.realpath(candidate);
    } catch {
      return refuse(404, 'not found');
    }
    // A symlink inside the root that points outside it would otherwise be followed.
    if (!isInside(await realRoot, real)) return refuse(403, 'forbidden');

    let body: Buffer;
    try {
      const stat = await fs.stat(real);
      if (!stat.isFile()) return refuse(404, 'not found');
      body = method === 'HEAD' ? Buffer.alloc(0) : await fs.readFile(real);
      const headers = {
        ...baseHeaders(),
        'content-type': mimeTypeFor(real),
        'content-length': String(stat.size),
      };
      return new Response(method === 'HEAD' ? null : new Uint8Array(body.buffer, body.byteOffset, body.byteLength), {
        status: 200,
        headers,
      });
    } catch {
      return refuse(404, 'not found');
    }
  };
}
