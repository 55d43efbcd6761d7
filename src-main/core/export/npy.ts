/**
 * Writing NumPy's .npy format, version 1.0 (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * the magic `\x93NUMPY`, the version bytes 1 and 0, the header length as uint16 little-endian, then
 * the header, an ASCII Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
 * padded with spaces and ended by '\n' so that the array data starts at a multiple of 64 bytes, then
 * the array in C order. numpy.load reads these files as they are.
 */

/** The dtypes the studio writes: float32 and int32 (little-endian) and int8 (no byte order: '|'). */
export type NpyDescr = '<f4' | '<i4' | '|i1';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93 N U M P Y
/** numpy aligns the data offset (magic + version + length + header) to this many bytes. */
export const NPY_ALIGN = 64;
/** numpy.lib.format.GROWTH_AXIS_MAX_DIGITS. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Python's repr of a shape tuple: `()`, `(5,)`, `(2, 3)`. */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The complete .npy v1.0 header (magic to the padding's final '\n') for an array of `shape`. */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Uint8Array {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`invalid .npy dimension ${s}`);
  }
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  const preamble = MAGIC.length + 2 + 2;
  // Like numpy.save (numpy >= 1.23), room for the first dimension to grow to 21 digits in place,
  // then spaces and '\n' so that preamble + header is a multiple of NPY_ALIGN: the bytes are the
  // ones numpy writes for the same array.
  const growth = shape.length > 0 ? Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length) : 0;
  const unpadded = preamble + dict.length + growth + 1;
  const total = Math.ceil(unpadded / NPY_ALIGN) * NPY_ALIGN;
  const headerLen = total - preamble;
  if (headerLen > 0xffff) throw new RangeError('the .npy header is too long for format version 1.0');
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerLen & 0xff;
  out[9] = headerLen >> 8;
  const text = dict + ' '.repeat(growth + total - unpadded) + '\n';
  for (let i = 0; i < text.length; i++) out[preamble + i] = text.charCodeAt(i);
  return out;
}

/** The array's bytes, little-endian (copied so the result never aliases a larger buffer). */
export function npyData(data: Float32Array | Int32Array | Int8Array): Uint8Array {
  if (data instanceof Int8Array) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  const f32 = data instanceof Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (f32) view.setFloat32(i * 4, data[i]!, true);
    else view.setInt32(i * 4, data[i]!, true);
  }
  return bytes;
}

/** A whole .npy file for `data` of `shape` (its element count must match). */
export function encodeNpy(data: Float32Array | Int32Array | Int8Array, shape: readonly number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new RangeError(`shape (${shape.join(', ')}) holds ${n} values, the data ${data.length}`);
  const header = npyHeader(data instanceof Float32Array ? '<f4' : data instanceof Int8Array ? '|i1' : '<i4', shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(npyData(data), header.length);
  return out;
}
