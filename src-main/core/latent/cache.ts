/**
 * The on-disk cache of the latent explorer, inside a run's folder (so deleting the run deletes it):
 *
 *   <runFolder>/latent/epoch-<N>/<split>-<maxSamples>/
 *     meta.json      the LatentEncoding (contract/latent.ts)
 *     source.json    the checkpoint it was computed from (its step and checkpoint.json mtime); a
 *                    checkpoint written again (a resumed run) makes the folder stale
 *     mu.f32, logvar.f32   row-major [count x latentDim] float32, little-endian
 *     negelbo.f32    per-sample -ELBO (beta = 1), nats
 *     index.i32      the dataset sample index of each row
 *     label.i32      the label id of each row (-1 unlabelled); absent for unlabelled datasets
 *     proj-<kind>.f32 / proj-<kind>.json   a 2-D projection: x then y (2 x count float32), and its facts
 *
 * An encoding folder is written under a temporary name and renamed into place, so a reader sees a
 * whole folder or none; a projection writes its .f32 first and its .json last (the .json marks it complete).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync, writeFileDurableSync } from '../fs-durable.ts';
import type { LatentSplit } from '../../contract/latent.ts';

export const LATENT_DIR = 'latent';

/** The cache folder of one encoding. */
export function encodingDir(runDir: string, epoch: number, split: LatentSplit, maxSamples: number): string {
  return path.join(runDir, LATENT_DIR, `epoch-${epoch}`, `${split}-${maxSamples}`);
}

/** The checkpoint an encoding was computed from. */
export interface EncodingSource {
  checkpoint: string;
  step: number;
  mtimeMs: number;
}

/** Identity of a checkpoint folder's current contents (its step and when checkpoint.json was written). */
export function checkpointSource(checkpointDir: string, step: number): EncodingSource {
  return { checkpoint: checkpointDir, step, mtimeMs: fs.statSync(path.join(checkpointDir, 'checkpoint.json')).mtimeMs };
}

const bytesOf = (a: Float32Array | Int32Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Writes a whole folder atomically: every file into `<dir>.tmp-<pid>-<n>`, then one rename. When
 * another writer got there first, its folder is kept and this one is dropped (same contents).
 */
export function writeFolderAtomic(dir: string, files: Record<string, string | Float32Array | Int32Array | Uint8Array>): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now().toString(36)}`;
  fs.mkdirSync(tmp);
  try {
    for (const [name, data] of Object.entries(files)) writeFileDurableSync(path.join(tmp, name), typeof data === 'string' ? data : bytesOf(data));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Writes a projection's coordinates and facts next to its encoding (the .json last). */
export function writeProjection(dir: string, name: string, x: Float32Array, y: Float32Array, facts: object): void {
  const xy = new Float32Array(x.length * 2);
  xy.set(x, 0);
  xy.set(y, x.length);
  for (const [file, data] of [
    [`${name}.f32`, bytesOf(xy)],
    [`${name}.json`, JSON.stringify(facts)],
  ] as const) {
    writeFileAtomicSync(path.join(dir, file), data, path.join(dir, `.${file}.tmp-${process.pid}`));
  }
}

/** A projection's coordinates and facts, or null when it was not computed (or not completely). */
export function readProjection<T>(dir: string, name: string, count: number): { x: Float32Array; y: Float32Array; facts: T } | null {
  let facts: T;
  try {
    facts = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8')) as T;
  } catch {
    return null;
  }
  const xy = readF32(path.join(dir, `${name}.f32`));
  if (xy.length !== 2 * count) return null;
  return { x: xy.subarray(0, count), y: xy.subarray(count), facts };
}

function readBytes(file: string): Buffer {
  return fs.readFileSync(file);
}

/** A little-endian float32 file as a Float32Array (copied to an aligned buffer). */
export function readF32(file: string): Float32Array {
  const b = readBytes(file);
  const out = new Float32Array(b.byteLength >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.byteLength));
  return out;
}

/** A little-endian int32 file as an Int32Array. */
export function readI32(file: string): Int32Array {
  const b = readBytes(file);
  const out = new Int32Array(b.byteLength >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.byteLength));
  return out;
}

/** base64 of a typed array's bytes (the contract's Base64F32 / Base64I32 / Base64U8). */
export function toBase64(a: Float32Array | Int32Array | Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}
