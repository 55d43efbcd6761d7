/**
 * Web mode: the studio served on loopback over HTTP (the built renderer) and a WebSocket (commands
 * and events). It is how the UI runs on machines without a display and how it is tested.
 *
 * Security: binds 127.0.0.1 unless told otherwise; the WebSocket requires the random session token
 * printed with the URL and an Origin equal to the page's own; the Host header must name this
 * server (defeats DNS rebinding); static files are confined to the renderer folder.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WireMessage, WireRequest } from '../contract/index.ts';
import type { Studio } from '../services/studio-api.ts';
import { createUploadHandler, sweepUploads, UPLOAD_PREFIX } from './upload.ts';
import type { UploadLimits } from './upload.ts';

export interface ServerOptions {
  studio: Studio;
  staticDir: string;
  host?: string;
  port?: number;
  /** Allow binding to a non-loopback address (the token still guards the API). */
  allowRemote?: boolean;
  token?: string;
  /** The studio's data folder: enables browser uploads into <dataDir>/uploads (see upload.ts). */
  dataDir?: string;
  uploadLimits?: Partial<UploadLimits>;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
    "connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Resolves a URL path inside root, or null when it would leave it (traversal, symlinks out). */
export function resolveStatic(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const rel = decoded === '/' || decoded === '' ? 'index.html' : decoded.replace(/^\/+/, '');
  const realRoot = realpathSync(root);
  const candidate = path.resolve(realRoot, rel);
  if (candidate !== realRoot && !candidate.startsWith(realRoot + path.sep)) return null;
  if (!existsSync(candidate)) return candidate; // a 404, still inside
  const real = realpathSync(candidate);
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
  return real;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.allowRemote) {
    throw new Error(`refusing to listen on ${host}: web mode serves loopback only unless --allow-remote is given`);
  }
  if (!existsSync(path.join(opts.staticDir, 'index.html'))) {
    throw new Error(`the renderer is not built (${opts.staticDir}/index.html is missing): run "npm run build:renderer"`);
  }
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let port = opts.port ?? 0;

  const allowedHost = (h: string | undefined): boolean => {
    if (!h) return false;
    if (opts.allowRemote) return true;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
    if (!m) return false;
    const name = m[1]!.replace(/^\[|\]$/g, '');
    return isLoopback(name) && Number(m[2] ?? 80) === port;
  };

  const uploadsDir = opts.dataDir === undefined ? null : path.join(opts.dataDir, 'uploads');
  if (uploadsDir) sweepUploads(uploadsDir);
  const uploads = uploadsDir ? createUploadHandler({ dir: uploadsDir, ...(opts.uploadLimits ? { limits: opts.uploadLimits } : {}) }) : null;

  /** Same rules as the WebSocket: this server's Host, the page's own Origin, the session token. */
  const refusal = (req: http.IncomingMessage, given: string): { status: number; why: string } | null => {
    if (!allowedHost(req.headers.host)) return { status: 421, why: 'bad host' };
    const origin = req.headers.origin;
    const okOrigin = origin !== undefined && allowedHost(origin.replace(/^https?:\/\//, '')) && origin === `http://${req.headers.host}`;
    if (!sameToken(given, token)) return { status: 403, why: 'bad token' };
    if (!okOrigin) return { status: 403, why: 'bad origin' };
    return null;
  };

  const server = http.createServer((req, res) => {
    try {
      if (uploads && (req.url ?? '').startsWith(UPLOAD_PREFIX)) {
        const header = req.headers['x-vae-token'];
        const no = refusal(req, typeof header === 'string' ? header : '');
        if (no) {
          res.writeHead(no.status, { 'Content-Type': 'application/json; charset=utf-8', Connection: 'close' });
          res.end(JSON.stringify({ error: { code: 'FORBIDDEN', message: no.why } }));
          req.resume();
          return;
        }
        void uploads.handle(req, res);
        return;
      }
      serveStatic(req, res);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`internal error: ${(e as Error).message}`);
    }
  });

  const serveStatic = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (!allowedHost(req.headers.host)) {
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end('misdirected request');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveStatic(opts.staticDir, new URL(req.url ?? '/', 'http://x').pathname);
    if (file === null) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('forbidden');
      return;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Cache-Control': file.endsWith('index.html') ? 'no-store' : 'public, max-age=3600',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const origin = req.headers.origin;
    const okOrigin = origin !== undefined && allowedHost(origin.replace(/^https?:\/\//, '')) && origin === `http://${req.headers.host}`;
    const okToken = sameToken(url.searchParams.get('token') ?? '', token);
    if (url.pathname !== '/ws' || !allowedHost(req.headers.host) || !okOrigin || !okToken) {
      const why = !okToken ? 'bad token' : !okOrigin ? 'bad origin' : 'bad host';
      socket.write(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}`);
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const clients = new Set<WebSocket>();
  const send = (ws: WebSocket, msg: WireMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const unsubscribe = opts.studio.subscribe((event, payload) => {
    for (const ws of clients) send(ws, { event, payload });
  });

  wss.on('connection', (ws: WebSocket) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', async (data) => {
      let req: WireRequest;
      try {
        req = JSON.parse(String(data)) as WireRequest;
        if (typeof req !== 'object' || req === null || typeof req.id !== 'number' || typeof req.command !== 'string') {
          throw new Error('expected {id: number, command: string, input}');
        }
      } catch (e) {
        send(ws, { id: -1, result: { ok: false, error: { code: 'INVALID_INPUT', message: `malformed request: ${(e as Error).message}` } } });
        return;
      }
      const result = await opts.studio.dispatch(req.command, req.input);
      send(ws, { id: req.id, result });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}/?token=${token}`,
    token,
    port,
    host,
    async close() {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      const closing = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections(); // keep-alive sockets would hold close() open
      await closing;
    },
  };
}

export interface WebStudioOptions {
  dataDir: string;
  staticDir: string;
  port?: number;
  host?: string;
  allowRemote?: boolean;
}

/** A studio with Node trainer processes behind a web server: what `vae-studio serve` runs. */
export async function startWebStudio(opts: WebStudioOptions): Promise<RunningServer & { studio: Studio }> {
  const { createStudio } = await import('../services/studio.ts');
  const { forkTrainer } = await import('../trainer/fork.ts');
  const studio = createStudio({ dataDir: opts.dataDir, mode: 'web', launcher: forkTrainer });
  try {
    const server = await startServer({ studio, staticDir: opts.staticDir, dataDir: opts.dataDir, ...pick(opts) });
    return {
      ...server,
      studio,
      async close() {
        await server.close();
        await studio.close();
      },
    };
  } catch (e) {
    await studio.close();
    throw e;
  }
}

function pick(o: WebStudioOptions): Partial<ServerOptions> {
  const out: Partial<ServerOptions> = {};
  if (o.port !== undefined) out.port = o.port;
  if (o.host !== undefined) out.host = o.host;
  if (o.allowRemote !== undefined) out.allowRemote = o.allowRemote;
  return out;
}
