/**
 * Web-mode uploads: a browser cannot hand the studio a file path, so in web mode the page uploads
 * the dropped or picked files into `<dataDir>/uploads/<uploadId>/` and imports that folder.
 *
 *   PUT    /upload/<uploadId>/<relative path>   body = the file's bytes (streamed to disk)
 *   POST   /upload/<uploadId>/done              -> { root, files, bytes }  (the absolute folder)
 *   DELETE /upload/<uploadId>                   removes the folder
 *
 * Every request carries the session token in `x-vae-token`; the caller (index.ts) also checks Host
 * and Origin exactly as for the WebSocket. Relative paths are untrusted: '..', '.', empty segments,
 * absolute paths, NUL and other control characters, backslashes and drive letters are refused, and
 * the resolved file must stay inside the upload's folder. Sizes are capped per file and per upload
 * while streaming (a missing or lying Content-Length does not get past the cap). Uploads older than
 * a day are swept when the server starts.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';

export interface UploadLimits {
  /** Largest single file, bytes. */
  maxFileBytes: number;
  /** Largest upload (all its files), bytes. */
  maxUploadBytes: number;
  /** Most files in one upload. */
  maxFiles: number;
}

/** Generous for image folders and benchmark arrays; a whole disk is not. */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxFileBytes: 4 * 1024 ** 3,
  maxUploadBytes: 32 * 1024 ** 3,
  maxFiles: 500_000,
};

export const UPLOAD_MAX_AGE_MS = 24 * 60 * 60 * 1000;
export const UPLOAD_PREFIX = '/upload/';
const ID_RE = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_DEPTH = 64;
const MAX_SEGMENT_BYTES = 255;

export interface UploadHandlerOptions {
  /** The folder uploads live in: `<dataDir>/uploads`. Created when needed. */
  dir: string;
  limits?: Partial<UploadLimits>;
}

interface UploadEntry {
  bytes: number;
  files: number;
  done: boolean;
  /** Paths written (or being written), relative, to refuse a second write of the same file. */
  paths: Set<string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits and checks an upload's relative path (already taken from the URL, still percent-encoded).
 * Returns the decoded segments or throws a 400 naming the reason.
 */
export function parseUploadPath(encoded: string): string[] {
  if (encoded === '') throw new HttpError(400, 'INVALID_INPUT', 'empty path');
  if (encoded.startsWith('/')) throw new HttpError(400, 'INVALID_INPUT', 'absolute path');
  const raw = encoded.split('/');
  if (raw.length > MAX_DEPTH) throw new HttpError(400, 'INVALID_INPUT', `path deeper than ${MAX_DEPTH} folders`);
  return raw.map((s) => {
    let seg: string;
    try {
      seg = decodeURIComponent(s);
    } catch {
      throw new HttpError(400, 'INVALID_INPUT', 'malformed percent-encoding');
    }
    checkSegment(seg);
    return seg;
  });
}

function checkSegment(seg: string): void {
  if (seg === '' || seg === '.' || seg === '..') throw new HttpError(400, 'INVALID_INPUT', `path segment "${seg}" is not allowed`);
  // Control characters (NUL included) never belong in a name; a backslash is a separator on Windows.
  if ([...seg].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw new HttpError(400, 'INVALID_INPUT', 'control character in path');
  if (seg.includes('\\') || seg.includes('/')) throw new HttpError(400, 'INVALID_INPUT', 'backslash or slash inside a path segment');
  if (/^[A-Za-z]:/.test(seg)) throw new HttpError(400, 'INVALID_INPUT', 'drive letter in path');
  if (Buffer.byteLength(seg) > MAX_SEGMENT_BYTES) throw new HttpError(400, 'INVALID_INPUT', 'path segment longer than 255 bytes');
}

/** Removes uploads whose folder was last touched more than `maxAgeMs` ago; returns their ids. */
export function sweepUploads(dir: string, maxAgeMs = UPLOAD_MAX_AGE_MS, now = Date.now()): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    try {
      if (now - statSync(p).mtimeMs > maxAgeMs) {
        rmSync(p, { recursive: true, force: true });
        removed.push(name);
      }
    } catch {
      /* gone meanwhile, or unreadable: leave it */
    }
  }
  return removed;
}

/**
 * Streams the request body into a new file. `onBytes` counts each chunk and may refuse to go on;
 * the request is then unpiped (not destroyed, so the refusal can still be answered).
 */
function receive(req: http.IncomingMessage, target: string, onBytes: (n: number) => HttpError | null): Promise<void> {
  return new Promise((resolve, reject) => {
    // 'wx': never follow or replace something that appeared at the path meanwhile.
    const out = createWriteStream(target, { flags: 'wx' });
    let failed = false;
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      req.unpipe(gate);
      gate.destroy();
      out.destroy();
      out.once('close', () => reject(e));
    };
    const gate = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        const refusal = onBytes(chunk.length);
        if (refusal) fail(refusal);
        else cb(null, chunk);
      },
    });
    req.once('aborted', () => fail(new HttpError(400, 'INVALID_INPUT', 'the upload was aborted')));
    req.once('error', fail);
    gate.once('error', fail);
    out.once('error', fail);
    out.once('close', () => {
      if (!failed) resolve();
    });
    req.pipe(gate).pipe(out);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

export interface UploadHandler {
  /** Serves one request whose path starts with /upload/ (already authorised by the caller). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  /** The folder of an upload (whether or not it exists). */
  folder(uploadId: string): string;
}

export function createUploadHandler(opts: UploadHandlerOptions): UploadHandler {
  const limits: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...opts.limits };
  const root = path.resolve(opts.dir);
  const uploads = new Map<string, UploadEntry>();

  const folder = (id: string): string => path.join(root, id);

  const entryFor = (id: string): UploadEntry => {
    let e = uploads.get(id);
    if (!e) {
      e = { bytes: 0, files: 0, done: false, paths: new Set() };
      uploads.set(id, e);
    }
    return e;
  };

  async function put(id: string, rel: string, req: http.IncomingMessage): Promise<{ path: string; bytes: number }> {
    const segments = parseUploadPath(rel);
    const entry = entryFor(id);
    if (entry.done) throw new HttpError(409, 'CONFLICT', 'this upload is finished; start a new one');
    const key = segments.join('/');
    if (entry.paths.has(key)) throw new HttpError(409, 'CONFLICT', `"${key}" was already uploaded`);
    if (entry.files + 1 > limits.maxFiles) throw new HttpError(413, 'TOO_LARGE', `more than ${limits.maxFiles} files in one upload`);
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared)) {
      if (declared > limits.maxFileBytes) throw new HttpError(413, 'TOO_LARGE', `file larger than ${limits.maxFileBytes} bytes`);
      if (entry.bytes + declared > limits.maxUploadBytes) throw new HttpError(413, 'TOO_LARGE', `upload larger than ${limits.maxUploadBytes} bytes`);
    }
    const base = folder(id);
    const target = path.join(base, ...segments);
    // Belt and braces: the segment checks already keep it inside.
    if (!target.startsWith(base + path.sep)) throw new HttpError(400, 'INVALID_INPUT', 'path leaves the upload folder');
    entry.paths.add(key);
    entry.files += 1;
    let written = 0;
    try {
      try {
        mkdirSync(path.dirname(target), { recursive: true });
      } catch (e) {
        throw new HttpError(409, 'CONFLICT', `cannot create the folder of "${key}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (existsSync(target)) throw new HttpError(409, 'CONFLICT', `"${key}" exists`);
      await receive(req, target, (n) => {
        written += n;
        entry.bytes += n;
        if (written > limits.maxFileBytes) return new HttpError(413, 'TOO_LARGE', `file larger than ${limits.maxFileBytes} bytes`);
        if (entry.bytes > limits.maxUploadBytes) return new HttpError(413, 'TOO_LARGE', `upload larger than ${limits.maxUploadBytes} bytes`);
        return null;
      });
      return { path: key, bytes: written };
    } catch (e) {
      entry.bytes -= written;
      entry.files -= 1;
      entry.paths.delete(key);
      try {
        if (written > 0 || existsSync(target)) unlinkSync(target);
      } catch {
        /* nothing was created */
      }
      throw e;
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const pathname = (req.url ?? '/').split('?')[0]!.split('#')[0]!;
      const rest = pathname.slice(UPLOAD_PREFIX.length);
      const slash = rest.indexOf('/');
      const id = slash === -1 ? rest : rest.slice(0, slash);
      const sub = slash === -1 ? '' : rest.slice(slash + 1);
      if (!ID_RE.test(id)) throw new HttpError(400, 'INVALID_INPUT', 'the upload id must be 8-64 letters, digits, - or _');
      if (req.method === 'PUT' && sub !== '') {
        json(res, 201, await put(id, sub, req));
      } else if (req.method === 'POST' && sub === 'done') {
        const entry = uploads.get(id);
        if (!entry || entry.files === 0) throw new HttpError(404, 'NOT_FOUND', 'no files were uploaded under this id');
        entry.done = true;
        json(res, 200, { root: folder(id), files: entry.files, bytes: entry.bytes });
      } else if (req.method === 'DELETE' && sub === '') {
        const existed = uploads.delete(id) || existsSync(folder(id));
        rmSync(folder(id), { recursive: true, force: true });
        if (!existed) throw new HttpError(404, 'NOT_FOUND', 'no such upload');
        json(res, 200, { deleted: true });
      } else {
        res.setHeader('Allow', 'PUT, POST, DELETE');
        throw new HttpError(405, 'INVALID_INPUT', `${req.method} is not supported here`);
      }
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 'INTERNAL', (e as Error).message);
      // The body may still be arriving: say so and close rather than read gigabytes we refuse.
      if (!req.complete) res.setHeader('Connection', 'close');
      json(res, err.status, { error: { code: err.code, message: err.message } });
      if (!req.complete) req.resume();
    }
  }

  return { handle, folder };
}

/** A fresh upload id (the page may also pick its own, within ID_RE). */
export function newUploadId(): string {
  return randomBytes(12).toString('base64url');
}
