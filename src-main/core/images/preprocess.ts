/**
 * Preprocessing of decoded images into the studio's stored form: alpha flattened on a background
 * colour, resized to a square by one of three modes, and converted to grey or RGB. Pure JavaScript
 * on small uint8 arrays (the decoder hands over images already shrunk near the target size, or small
 * PNGs up to 4x it), so it costs tens to hundreds of microseconds per image (28x28 -> 64x64 grey
 * ~40 us, 64x64 -> 28x28 RGB ~120 us here) and is exactly reproducible across platforms.
 */
import type { Preprocess } from '../../contract/datasets.ts';

/** A decoded image: uint8, row-major HWC; 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export interface RawImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export type Rgb = [number, number, number];

export function parseColour(hex: string): Rgb {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`"${hex}" is not a colour like #000000`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** ITU-R BT.601 luma (the weights JPEG/JFIF use for Y), rounded. */
export function luma(r: number, g: number, b: number): number {
  return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
}

const isGrey = (c: Rgb) => c[0] === c[1] && c[1] === c[2];

/**
 * Composites alpha over `bg` (out = c * a + bg * (1 - a)); images without alpha pass through. Grey
 * with alpha stays grey when the background is grey, else becomes RGB.
 */
export function flatten(img: RawImage, bg: Rgb): RawImage {
  const { width, height, channels, data } = img;
  if (channels === 1 || channels === 3) return img;
  const n = width * height;
  const outCh = channels === 4 || !isGrey(bg) ? 3 : 1;
  const out = new Uint8Array(n * outCh);
  for (let i = 0; i < n; i++) {
    const a = data[i * channels + channels - 1]!;
    const inv = 255 - a;
    for (let c = 0; c < outCh; c++) {
      const v = channels === 4 ? data[i * 4 + c]! : data[i * 2]!;
      out[i * outCh + c] = Math.round((v * a + bg[c]! * inv) / 255);
    }
  }
  return { width, height, channels: outCh, data: out };
}

/** Grey -> RGB by replication, RGB -> grey by luma. */
export function convertChannels(img: RawImage, to: 1 | 3): RawImage {
  if (img.channels === to) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * to);
  const d = img.data;
  if (to === 3) for (let i = 0; i < n; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = d[i]!;
  else for (let i = 0; i < n; i++) out[i] = luma(d[i * 3]!, d[i * 3 + 1]!, d[i * 3 + 2]!);
  return { width: img.width, height: img.height, channels: to, data: out };
}

/**
 * Sampling positions and weights for one axis: a triangle (tent) filter whose support widens with
 * the shrink factor, so downscaling averages every source pixel (no aliasing) and upscaling is
 * bilinear. Pixel centres at i + 0.5 on both sides. Every output gets the same number of taps `k`
 * (the most any output needs; the others are padded with weight 0 at index 0, which adds exactly
 * nothing), so the loops below have fixed trip counts and the common 2-tap case is unrolled.
 */
interface Taps {
  k: number;
  /** dst * k source indices (clamped to the edge) and float32 weights that sum to 1 per output. */
  index: Int32Array;
  weight: Float32Array;
}
const tapsCache = new Map<number, Taps>();
function axisTaps(src: number, dst: number): Taps {
  // Imports resize thousands of same-sized images: the taps depend only on the two sizes.
  const key = src * 65536 + dst;
  let t = tapsCache.get(key);
  if (!t) {
    t = computeTaps(src, dst);
    if (tapsCache.size > 256) tapsCache.clear();
    tapsCache.set(key, t);
  }
  return t;
}

function computeTaps(src: number, dst: number): Taps {
  const scale = src / dst;
  const support = Math.max(1, scale);
  const per: { index: number[]; weight: number[] }[] = [];
  let k = 1;
  for (let o = 0; o < dst; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const lo = Math.ceil(centre - support);
    const hi = Math.floor(centre + support);
    const index: number[] = [];
    const weight: number[] = [];
    let sum = 0;
    for (let j = lo; j <= hi; j++) {
      const w = 1 - Math.abs(j - centre) / support;
      if (w <= 0) continue;
      index.push(Math.min(src - 1, Math.max(0, j)));
      weight.push(w);
      sum += w;
    }
    per.push({ index, weight: weight.map((w) => w / sum) });
    k = Math.max(k, index.length);
  }
  const index = new Int32Array(dst * k);
  const weight = new Float32Array(dst * k);
  per.forEach((p, o) => {
    index.set(p.index, o * k);
    weight.set(p.weight, o * k);
  });
  return { k, index, weight };
}

/**
 * Resamples to width x height (separable tent filter); the same size returns the input. Sums are
 * float32, rounded after every term in tap order (Math.fround), so results are bit-identical on
 * every platform; the final value is rounded half to even and clamped by a Uint8ClampedArray store.
 */
export function resample(img: RawImage, width: number, height: number): RawImage {
  if (img.width === width && img.height === height) return img;
  const ch = img.channels;
  const src = img.data;
  const sw = img.width;
  const sh = img.height;
  const fr = Math.fround;
  // Horizontal pass: every source row to `width` columns.
  const { k: kx, index: xi, weight: xw } = axisTaps(sw, width);
  const mid = new Float32Array(width * sh * ch);
  let m = 0;
  for (let y = 0; y < sh; y++) {
    const row = y * sw * ch;
    for (let x = 0; x < width; x++) {
      const k0 = x * kx;
      if (kx === 2) {
        const a = row + xi[k0]! * ch;
        const b = row + xi[k0 + 1]! * ch;
        const wa = xw[k0]!;
        const wb = xw[k0 + 1]!;
        for (let c = 0; c < ch; c++) mid[m++] = fr(fr(src[a + c]! * wa) + src[b + c]! * wb);
      } else if (ch === 1) {
        let s = 0;
        for (let k = k0; k < k0 + kx; k++) s = fr(s + src[row + xi[k]!]! * xw[k]!);
        mid[m++] = s;
      } else if (ch === 3) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        for (let k = k0; k < k0 + kx; k++) {
          const p = row + xi[k]! * 3;
          const w = xw[k]!;
          s0 = fr(s0 + src[p]! * w);
          s1 = fr(s1 + src[p + 1]! * w);
          s2 = fr(s2 + src[p + 2]! * w);
        }
        mid[m++] = s0;
        mid[m++] = s1;
        mid[m++] = s2;
      } else {
        for (let c = 0; c < ch; c++) {
          let s = 0;
          for (let k = k0; k < k0 + kx; k++) s = fr(s + src[row + xi[k]! * ch + c]! * xw[k]!);
          mid[m++] = s;
        }
      }
    }
  }
  // Vertical pass: `height` rows, each a weighted sum of intermediate rows.
  const { k: ky, index: yi, weight: yw } = axisTaps(sh, height);
  const line = width * ch;
  const out = new Uint8Array(width * height * ch);
  // A clamped view rounds (half to even) and clamps to 0..255 on store.
  const clamped = new Uint8ClampedArray(out.buffer);
  const acc = new Float32Array(ky === 2 ? 0 : line);
  for (let y = 0; y < height; y++) {
    const k0 = y * ky;
    const o = y * line;
    if (ky === 2) {
      const a = yi[k0]! * line;
      const b = yi[k0 + 1]! * line;
      const wa = yw[k0]!;
      const wb = yw[k0 + 1]!;
      for (let i = 0; i < line; i++) clamped[o + i] = fr(fr(mid[a + i]! * wa) + mid[b + i]! * wb);
    } else {
      // Row by row into a float32 accumulator (each store rounds to float32, as fround does).
      acc.fill(0);
      for (let k = k0; k < k0 + ky; k++) {
        const r = yi[k]! * line;
        const w = yw[k]!;
        for (let i = 0; i < line; i++) acc[i] = acc[i]! + mid[r + i]! * w;
      }
      for (let i = 0; i < line; i++) clamped[o + i] = acc[i]!;
    }
  }
  return { width, height, channels: ch, data: out };
}

/** The size an image is scaled to before cropping (crop) or padding (pad) to a `size` square. */
export function scaledSize(width: number, height: number, size: number, mode: Preprocess['resize']): { width: number; height: number } {
  if (mode === 'fit') return { width: size, height: size };
  const k = mode === 'crop' ? size / Math.min(width, height) : size / Math.max(width, height);
  const w = Math.round(width * k);
  const h = Math.round(height * k);
  return mode === 'crop'
    ? { width: Math.max(size, w), height: Math.max(size, h) }
    : { width: Math.min(size, Math.max(1, w)), height: Math.min(size, Math.max(1, h)) };
}

/** Resizes to a `size` square: stretched (fit), scaled to cover and centre-cropped (crop), or scaled to fit and centred on `bg` (pad). */
export function toSquare(img: RawImage, size: number, mode: Preprocess['resize'], bg: Rgb): RawImage {
  const s = scaledSize(img.width, img.height, size, mode);
  const r = resample(img, s.width, s.height);
  if (r.width === size && r.height === size) return r;
  const ch = r.channels;
  const out = new Uint8Array(size * size * ch);
  if (mode === 'crop') {
    const x0 = Math.floor((r.width - size) / 2);
    const y0 = Math.floor((r.height - size) / 2);
    for (let y = 0; y < size; y++) {
      const from = ((y + y0) * r.width + x0) * ch;
      out.set(r.data.subarray(from, from + size * ch), y * size * ch);
    }
  } else {
    const fill = ch === 1 ? [isGrey(bg) ? bg[0] : luma(...bg)] : bg;
    for (let i = 0; i < size * size; i++) for (let c = 0; c < ch; c++) out[i * ch + c] = fill[c]!;
    const x0 = Math.floor((size - r.width) / 2);
    const y0 = Math.floor((size - r.height) / 2);
    for (let y = 0; y < r.height; y++) out.set(r.data.subarray(y * r.width * ch, (y + 1) * r.width * ch), ((y + y0) * size + x0) * ch);
  }
  return { width: size, height: size, channels: ch, data: out };
}

export interface Prepared {
  /** size * size * channels bytes. */
  data: Uint8Array;
  /**
   * 1 or 3. With `channels` 'auto' an image whose pixels all have r = g = b comes back grey, so
   * the caller can store a grey dataset until the first image with colour.
   */
  channels: 1 | 3;
}

/**
 * The grey plane of an RGB image whose pixels all have r = g = b (sharp's output for grey PNGs, and
 * what many writers store grey images as); null at the first pixel with colour.
 */
function greyPlane(img: RawImage): RawImage | null {
  const d = img.data;
  const n = img.width * img.height;
  const g = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const v = d[j]!;
    if (v !== d[j + 1] || v !== d[j + 2]) return null;
    g[i] = v;
  }
  return { width: img.width, height: img.height, channels: 1, data: g };
}

/** One image to its stored form: flattened on `bg`, resized to a `size` square, grey or RGB. */
export function prepareImage(img: RawImage, size: number, p: Pick<Preprocess, 'resize' | 'channels'>, bg: Rgb): Prepared {
  let x = flatten(img, bg);
  // Resizing works per channel, so three equal channels resize to three equal channels: a grey
  // image in RGB is resized as its one plane (a third of the work) with the same bytes as result.
  // (For 'grayscale' the plane is also its luma: round(0.299 v + 0.587 v + 0.114 v) = v.)
  if (x.channels === 3) x = greyPlane(x) ?? x;
  if (p.channels === 'grayscale') x = convertChannels(x, 1);
  else if (x.channels === 1 && p.resize === 'pad' && !isGrey(bg)) {
    // Grey stays one channel unless padding on a colour background puts colour in.
    const s = scaledSize(x.width, x.height, size, 'pad');
    if (s.width !== size || s.height !== size) x = convertChannels(x, 3);
  }
  x = toSquare(x, size, p.resize, bg);
  if (p.channels === 'grayscale') return { data: x.data, channels: 1 };
  if (p.channels === 'rgb') return { data: convertChannels(x, 3).data, channels: 3 };
  if (x.channels === 3) {
    const g = greyPlane(x);
    return g ? { data: g.data, channels: 1 } : { data: x.data, channels: 3 };
  }
  return { data: x.data, channels: 1 };
}
