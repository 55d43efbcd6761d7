/**
 * Web mode's file upload (see src-main/server/upload.ts): PUT each file to
 * /upload/<uploadId>/<relative path> with the session token, a few at a time, then POST .../done
 * for the absolute folder the server stored them in. Pure apart from the injected fetch.
 */
import type { BlobLike, UploadFile } from './sources.ts';

export const UPLOAD_TOKEN_HEADER = 'x-vae-token';

/** The slice of fetch used here (a test passes a fake). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: BlobLike | string; signal?: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export interface UploadProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface UploadOptions {
  fetch: FetchLike;
  token: string;
  /** Origin prefix, '' for the page's own. */
  base?: string;
  uploadId?: string;
  concurrency?: number;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}

export interface UploadResult {
  uploadId: string;
  root: string;
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/** Each segment percent-encoded, so names with spaces, '#', '?' or non-ASCII survive the URL. */
export function encodeUploadPath(rel: string): string {
  return rel.split('/').map(encodeURIComponent).join('/');
}

export function newUploadId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID().replace(/-/g, '');
  let s = '';
  for (let i = 0; i < 24; i++) s += Math.floor(Math.random() * 36).toString(36);
  return s;
}

async function failure(res: { status: number; json(): Promise<unknown> }, what: string): Promise<UploadError> {
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    if (body?.error?.message) message = body.error.message;
  } catch {
    /* not JSON */
  }
  return new UploadError(`${what}: ${message}`, res.status);
}

/** Uploads the files; on any failure removes what was uploaded and rethrows. */
export async function uploadFiles(files: UploadFile[], o: UploadOptions): Promise<UploadResult> {
  const uploadId = o.uploadId ?? newUploadId();
  const base = o.base ?? '';
  const headers = { [UPLOAD_TOKEN_HEADER]: o.token };
  const totalBytes = files.reduce((s, f) => s + f.file.size, 0);
  const progress: UploadProgress = { files: 0, totalFiles: files.length, bytes: 0, totalBytes };
  o.onProgress?.({ ...progress });
  let next = 0;
  let failed: Error | null = null;
  const worker = async (): Promise<void> => {
    while (failed === null && next < files.length) {
      const f = files[next++]!;
      if (o.signal?.aborted) throw new UploadError('the upload was cancelled', 0);
      const init: Parameters<FetchLike>[1] = { method: 'PUT', headers, body: f.file };
      if (o.signal) init.signal = o.signal;
      const res = await o.fetch(`${base}/upload/${uploadId}/${encodeUploadPath(f.path)}`, init);
      if (!res.ok) throw await failure(res, f.path);
      progress.files += 1;
      progress.bytes += f.file.size;
      o.onProgress?.({ ...progress });
    }
  };
  const n = Math.max(1, Math.min(o.concurrency ?? 4, files.length));
  try {
    await Promise.all(
      Array.from({ length: n }, () =>
        worker().catch((e: unknown) => {
          failed ??= e instanceof Error ? e : new Error(String(e));
        }),
      ),
    );
    if (failed) throw failed;
    const res = await o.fetch(`${base}/upload/${uploadId}/done`, { method: 'POST', headers });
    if (!res.ok) throw await failure(res, 'finishing the upload');
    const body = (await res.json()) as { root?: unknown };
    if (typeof body.root !== 'string') throw new UploadError('the server did not say where the upload is', res.status);
    return { uploadId, root: body.root };
  } catch (e) {
    await discardUpload(uploadId, o).catch(() => {});
    throw e;
  }
}

/** Removes an upload's folder on the server (after its import, or when the dialog closes). */
export async function discardUpload(uploadId: string, o: Pick<UploadOptions, 'fetch' | 'token' | 'base'>): Promise<void> {
  const res = await o.fetch(`${o.base ?? ''}/upload/${uploadId}`, { method: 'DELETE', headers: { [UPLOAD_TOKEN_HEADER]: o.token } });
  if (!res.ok && res.status !== 404) throw await failure(res, 'removing the upload');
}
