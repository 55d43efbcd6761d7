/**
 * Durable file writes: the bytes are fsynced before the file is closed, so that a rename that
 * publishes the file (write a temporary name, then rename over the real one) never exposes a torn
 * or empty file after a crash; and a folder fsync that makes the renames in it durable too.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';

/** Writes `data` to `file` (replacing it) and fsyncs it. */
export function writeFileDurableSync(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Replaces `file` atomically: `data` goes durably into `tmp` (default `<file>.tmp-<pid>`, which must
 * be in the same folder), which is then renamed over `file`. A crash leaves the old file or the new one.
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, tmp = `${file}.tmp-${process.pid}`): void {
  writeFileDurableSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Writes `data` to `file` (replacing it) and fsyncs it; returns the number of bytes written. */
export async function writeFileDurable(file: string, data: string | Uint8Array): Promise<number> {
  const fh = await fsp.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** fsyncs a folder (its entries: names created or renamed in it). Not possible on Windows; skipped there. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
