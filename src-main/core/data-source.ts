/**
 * How the training loop reads its data: by sample index, one batch at a time, as uint8 pixels.
 * Two implementations: one over an array already in memory (built-in datasets, files below the
 * streaming threshold: one uint8 copy) and one over a file (fs.readSync at each sample's offset),
 * so a dataset larger than memory streams from disk. Neither ever holds a float copy of the data.
 */
import fs from 'node:fs';

export interface ImageSetShape {
  count: number;
  width: number;
  height: number;
  channels: number;
}

export interface DataSource extends Readonly<ImageSetShape> {
  /**
   * The samples at `indices`, in that order: indices.length * width * height * channels bytes,
   * row-major HWC per sample, 0..255. Writes into `out` when given (it must be large enough) and
   * returns the filled prefix.
   */
  readBatch(indices: ArrayLike<number>, out?: Uint8Array): Uint8Array;
  /** Releases what the source holds open (a file descriptor); the in-memory one has nothing. */
  close?(): void;
}

/** A dataset already in memory: count * height * width * channels bytes. */
export interface InMemoryImages extends ImageSetShape {
  images: Uint8Array;
}

const sampleBytes = (s: ImageSetShape): number => s.width * s.height * s.channels;

function checkIndex(i: number, count: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`sample index ${i} is outside 0..${count - 1}`);
}

function outputFor(n: number, dim: number, out: Uint8Array | undefined): Uint8Array {
  if (!out) return new Uint8Array(n * dim);
  if (out.length < n * dim) throw new RangeError(`output buffer holds ${out.length} bytes, the batch needs ${n * dim}`);
  return out.subarray(0, n * dim);
}

export function memorySource(data: InMemoryImages): DataSource {
  const dim = sampleBytes(data);
  if (data.images.length < data.count * dim) {
    throw new Error(`dataset holds ${data.images.length} bytes, expected ${data.count} x ${dim}`);
  }
  const { images, count, width, height, channels } = data;
  return {
    count,
    width,
    height,
    channels,
    readBatch(indices, out) {
      const buf = outputFor(indices.length, dim, out);
      for (let r = 0; r < indices.length; r++) {
        const i = indices[r]!;
        checkIndex(i, count);
        buf.set(images.subarray(i * dim, (i + 1) * dim), r * dim);
      }
      return buf;
    },
  };
}

/** True for the in-memory form, so callers may hand either form to train(). */
export function isInMemory(data: DataSource | InMemoryImages): data is InMemoryImages {
  return (data as InMemoryImages).images instanceof Uint8Array;
}

export function toDataSource(data: DataSource | InMemoryImages): DataSource {
  return isInMemory(data) ? memorySource(data) : data;
}

/**
 * A dataset file of exactly count * height * width * channels bytes (row-major HWC per sample, no
 * header), read on demand. A batch's indices are visited in file order and runs of consecutive
 * samples are read with one readSync each, then scattered to their places in the batch; so a
 * sequential pass costs one system call per batch and a shuffled one about one per sample.
 */
export function openFileSource(file: string, shape: ImageSetShape): DataSource {
  const dim = sampleBytes(shape);
  const expected = shape.count * dim;
  const fd = fs.openSync(file, 'r');
  let closed = false;
  try {
    const size = fs.fstatSync(fd).size;
    if (size !== expected) {
      throw new Error(
        `dataset file ${file} holds ${size} bytes, expected ${shape.count} x ${shape.height} x ${shape.width} x ${shape.channels} = ${expected}`,
      );
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  let scratch = new Uint8Array(0);

  const readFully = (into: Uint8Array, offset: number, length: number, position: number) => {
    let done = 0;
    while (done < length) {
      const got = fs.readSync(fd, into, offset + done, length - done, position + done);
      if (got === 0) throw new Error(`dataset file ${file} ended early: wanted ${length} bytes at ${position}`);
      done += got;
    }
  };

  return {
    count: shape.count,
    width: shape.width,
    height: shape.height,
    channels: shape.channels,
    readBatch(indices, out) {
      if (closed) throw new Error(`dataset file ${file} is closed`);
      const n = indices.length;
      const buf = outputFor(n, dim, out);
      for (let r = 0; r < n; r++) checkIndex(indices[r]!, shape.count);
      // Batch positions in file order.
      const order = new Uint32Array(n);
      for (let r = 0; r < n; r++) order[r] = r;
      order.sort((a, b) => indices[a]! - indices[b]!);
      for (let k = 0; k < n; ) {
        let end = k + 1;
        while (end < n && indices[order[end]!]! === indices[order[end - 1]!]! + 1) end++;
        const first = indices[order[k]!]!;
        const run = end - k;
        if (run === 1) {
          readFully(buf, order[k]! * dim, dim, first * dim);
        } else {
          if (scratch.length < run * dim) scratch = new Uint8Array(run * dim);
          readFully(scratch, 0, run * dim, first * dim);
          for (let q = 0; q < run; q++) buf.set(scratch.subarray(q * dim, (q + 1) * dim), order[k + q]! * dim);
        }
        k = end;
      }
      return buf;
    },
    close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
    },
  };
}

/** The first `count` samples of a source (e.g. the training part before an official test split). */
export function headSource(src: DataSource, count: number): DataSource {
  if (!Number.isInteger(count) || count < 1 || count > src.count) {
    throw new Error(`cannot take the first ${count} of ${src.count} samples`);
  }
  if (count === src.count) return src;
  return {
    count,
    width: src.width,
    height: src.height,
    channels: src.channels,
    readBatch(indices, out) {
      for (let i = 0; i < indices.length; i++) {
        if (indices[i]! >= count) throw new Error(`sample ${indices[i]} is outside the first ${count} samples`);
      }
      return src.readBatch(indices, out);
    },
    ...(src.close ? { close: () => src.close!() } : {}),
  };
}
