#!/usr/bin/env node
/**
 * Draws the VAE Studio icon: a correlated 2-D Gaussian (the latent prior) glowing through a latent
 * grid that bulges around it, with its 1, 2 and 3 sigma contours. Writes resources/icon.png
 * (512x512 RGBA, encoded here with node:zlib) and resources/icon.svg from the same parameters.
 *
 *   node scripts/make-icon.mjs [outDir]
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 512;
const RADIUS = 112; // corner radius of the tile (about 22 %, like platform icon grids)
const C = SIZE / 2;
const SCALE = 200; // pixels per latent unit
// Covariance of the drawn Gaussian: unit variances with correlation RHO, so its contours are
// ellipses tilted 45 degrees with semi-axes sqrt(1 +/- RHO) * SIGMA.
const SIGMA = 0.36;
const RHO = 0.45;
const LENS = 0.42; // how much the grid bulges (magnification at the centre = 1 / (1 - LENS))
const LENS_WIDTH = 0.5;
const GRID = 0.25; // grid spacing in latent units

const BG_TOP = [0x1d, 0x17, 0x4a];
const BG_BOTTOM = [0x07, 0x1c, 0x33];
// A plasma-like ramp for the density: deep violet -> magenta -> orange -> warm yellow.
const RAMP = [
  [0.0, [0x3a, 0x0c, 0x8c]],
  [0.35, [0xa2, 0x1d, 0xb0]],
  [0.6, [0xe8, 0x4f, 0x8a]],
  [0.82, [0xfb, 0x9b, 0x3f]],
  [1.0, [0xfd, 0xf0, 0x9a]],
];

const clamp01 = (x) => Math.min(1, Math.max(0, x));
const smooth = (e0, e1, x) => {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
};
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);

function ramp(t) {
  t = clamp01(t);
  for (let i = 1; i < RAMP.length; i++) {
    const [t1, c1] = RAMP[i];
    const [t0, c0] = RAMP[i - 1];
    if (t <= t1) return mix(c0, c1, (t - t0) / (t1 - t0));
  }
  return RAMP[RAMP.length - 1][1];
}

/** Mahalanobis distance squared of latent point (x, y) under the correlated Gaussian. */
function quad(x, y) {
  const det = 1 - RHO * RHO;
  return (x * x - 2 * RHO * x * y + y * y) / (det * SIGMA * SIGMA);
}

/** Screen (latent-scaled) point -> grid coordinate: a lens that magnifies the centre. */
function lens(x, y) {
  const r2 = x * x + y * y;
  const k = 1 - LENS * Math.exp(-r2 / (2 * LENS_WIDTH * LENS_WIDTH));
  return [x * k, y * k];
}

/** Signed distance to the rounded tile (negative inside). */
function tileSdf(px, py) {
  const h = SIZE / 2 - 8; // 8 px margin so the tile does not touch the canvas edge
  const qx = Math.abs(px - C) - (h - RADIUS);
  const qy = Math.abs(py - C) - (h - RADIUS);
  const ox = Math.max(qx, 0);
  const oy = Math.max(qy, 0);
  return Math.hypot(ox, oy) + Math.min(Math.max(qx, qy), 0) - RADIUS;
}

/** Distance (in the grid's own units) from v to the nearest multiple of GRID. */
const gridDist = (v) => {
  const f = v / GRID;
  return Math.abs(f - Math.round(f)) * GRID;
};

function shade(px, py) {
  const inside = clamp01(0.5 - tileSdf(px, py)); // 1 px antialiased edge
  if (inside <= 0) return [0, 0, 0, 0];
  const x = (px - C) / SCALE;
  const y = -(py - C) / SCALE;

  // Background: vertical gradient plus a faint vignette.
  let col = mix(BG_TOP, BG_BOTTOM, py / SIZE);
  const vignette = 1 - 0.35 * smooth(0.6, 1.5, Math.hypot(x, y));
  col = col.map((v) => v * vignette);

  // The Gaussian glow.
  const q = quad(x, y);
  const density = Math.exp(-q / 2);
  // The glow is drawn a little wider than the density itself, so the 2-sigma ring sits in its halo.
  const halo = Math.exp(-q / 3.2);
  const glow = smooth(0.0, 0.9, halo);
  col = mix(col, ramp(0.25 + 0.75 * density ** 0.8), clamp01(glow * 1.05));

  // Latent grid, warped by the lens: line width kept ~1.6 px by dividing by the local gradient.
  const [u, v] = lens(x, y);
  const e = 1 / SCALE;
  const [ux, vx] = lens(x + e, y);
  const [uy, vy] = lens(x, y + e);
  const gu = Math.hypot((ux - u) / e, (uy - u) / e) / SCALE; // grid units per pixel
  const gv = Math.hypot((vx - v) / e, (vy - v) / e) / SCALE;
  const du = gridDist(u) / gu;
  const dv = gridDist(v) / gv;
  const line = Math.max(1 - smooth(0.4, 1.3, du), 1 - smooth(0.4, 1.3, dv));
  const gridFade = 1 - smooth(1.0, 1.45, Math.max(Math.abs(u), Math.abs(v)));
  col = mix(col, [0xd8, 0xe4, 0xff], line * 0.16 * gridFade);

  // Sample points at the grid crossings, brighter where the prior puts mass.
  const cu = Math.round(u / GRID) * GRID;
  const cv = Math.round(v / GRID) * GRID;
  const dDot = Math.hypot((u - cu) / gu, (v - cv) / gv);
  const dotR = 2.8 + 3.6 * Math.exp(-quad(x, y) / 3.2);
  const dot = 1 - smooth(dotR - 0.8, dotR + 0.6, dDot);
  col = mix(col, [0xf4, 0xf7, 0xff], dot * (0.25 + 0.6 * gridFade) * gridFade);

  // 1, 2 and 3 sigma contours: |sqrt(q) - k| in pixels via the gradient of sqrt(q).
  const s = Math.sqrt(q);
  const sx = Math.sqrt(quad(x + e, y));
  const sy = Math.sqrt(quad(x, y + e));
  const gs = Math.hypot((sx - s) / e, (sy - s) / e) / SCALE;
  for (const [k, a] of [[1, 0.8], [2, 0.45]]) {
    const d = Math.abs(s - k) / gs;
    col = mix(col, [0xff, 0xff, 0xff], (1 - smooth(0.5, 1.6, d)) * a);
  }
  return [...col, 255 * inside];
}

function render() {
  const SS = 3; // 3x3 supersampling
  const rgba = Buffer.alloc(SIZE * SIZE * 4);
  for (let py = 0; py < SIZE; py++) {
    for (let px = 0; px < SIZE; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const [cr, cg, cb, ca] = shade(px + (sx + 0.5) / SS, py + (sy + 0.5) / SS);
          // Premultiply so the antialiased edge does not darken.
          r += cr * ca;
          g += cg * ca;
          b += cb * ca;
          a += ca;
        }
      }
      const o = (py * SIZE + px) * 4;
      if (a > 0) {
        rgba[o] = Math.round(r / a);
        rgba[o + 1] = Math.round(g / a);
        rgba[o + 2] = Math.round(b / a);
      }
      rgba[o + 3] = Math.round(a / (SS * SS));
    }
  }
  return rgba;
}

// --- PNG (RFC 2083): signature, IHDR, one IDAT of zlib-deflated filtered rows, IEND ---------------
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type: RGBA
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  // Filter 1 (Sub) on every row: smooth gradients compress far better than unfiltered.
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = 1;
    for (let i = 0; i < stride; i++) {
      const left = i >= 4 ? rgba[y * stride + i - 4] : 0;
      raw[o + 1 + i] = (rgba[y * stride + i] - left) & 0xff;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- SVG: the same picture as vectors ------------------------------------------------------------
const hex = (c) => '#' + c.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
const f = (n) => Number(n.toFixed(2));
const toScreen = (x, y) => [f(C + x * SCALE), f(C - y * SCALE)];

/** Inverse of the lens along a ray (monotone for these parameters): bisection on the radius. */
function unlens(u, v) {
  const ru = Math.hypot(u, v);
  if (ru === 0) return [0, 0];
  let lo = 0;
  let hi = 4;
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    const k = 1 - LENS * Math.exp(-(mid * mid) / (2 * LENS_WIDTH * LENS_WIDTH));
    if (mid * k < ru) lo = mid;
    else hi = mid;
  }
  const r = (lo + hi) / 2;
  return [(u / ru) * r, (v / ru) * r];
}

function svg() {
  const h = SIZE / 2 - 8;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">`);
  parts.push('<title>VAE Studio</title>');
  parts.push('<defs>');
  parts.push(`<linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(BG_TOP)}"/><stop offset="1" stop-color="${hex(BG_BOTTOM)}"/></linearGradient>`);
  // Radial stops sampled from the same density -> colour mapping as the PNG.
  const stops = [];
  for (let i = 0; i <= 12; i++) {
    const rr = (i / 12) * 3.2; // Mahalanobis radius
    const density = Math.exp(-(rr * rr) / 2);
    const alpha = clamp01(smooth(0, 0.9, Math.exp(-(rr * rr) / 3.2)) * 1.05);
    stops.push(`<stop offset="${f(rr / 3.2)}" stop-color="${hex(ramp(0.25 + 0.75 * density ** 0.8))}" stop-opacity="${f(alpha)}"/>`);
  }
  parts.push(`<radialGradient id="blob" cx="0" cy="0" r="1" gradientUnits="userSpaceOnUse">${stops.join('')}</radialGradient>`);
  // The PNG's vignette: darkening from 0 at 0.6 latent units to 35 % at 1.5.
  parts.push(
    `<radialGradient id="vignette" cx="${C}" cy="${C}" r="${1.5 * SCALE}" gradientUnits="userSpaceOnUse"><stop offset="0.4" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.35"/></radialGradient>`,
  );
  parts.push(`<clipPath id="tile"><rect x="8" y="8" width="${2 * h}" height="${2 * h}" rx="${RADIUS}"/></clipPath>`);
  parts.push('</defs>');
  parts.push('<g clip-path="url(#tile)">');
  parts.push(`<rect x="8" y="8" width="${2 * h}" height="${2 * h}" fill="url(#bg)"/>`);
  parts.push(`<rect x="8" y="8" width="${2 * h}" height="${2 * h}" fill="url(#vignette)"/>`);
  // Principal axes of the covariance: eigenvalues 1 +/- RHO along the diagonals, times SIGMA^2.
  const a1 = Math.sqrt(1 + RHO) * SIGMA * SCALE;
  const a2 = Math.sqrt(1 - RHO) * SIGMA * SCALE;
  const blobT = `translate(${C} ${C}) rotate(-45) scale(${f(a1 * 3.2)} ${f(a2 * 3.2)})`;
  parts.push(`<circle r="1" fill="url(#blob)" transform="${blobT}"/>`);
  // Warped grid lines as polylines.
  const lines = [];
  const span = 1.5;
  for (let g = -span; g <= span + 1e-9; g += GRID) {
    for (const vertical of [true, false]) {
      const pts = [];
      for (let t = -span; t <= span + 1e-9; t += 0.02) {
        const [x, y] = vertical ? unlens(g, t) : unlens(t, g);
        pts.push(toScreen(x, y).join(','));
      }
      lines.push(`<polyline points="${pts.join(' ')}"/>`);
    }
  }
  parts.push(`<g fill="none" stroke="#d8e4ff" stroke-opacity="0.16" stroke-width="1.6">${lines.join('')}</g>`);
  const dots = [];
  for (let gu = -1.25; gu <= 1.25 + 1e-9; gu += GRID) {
    for (let gv = -1.25; gv <= 1.25 + 1e-9; gv += GRID) {
      const [x, y] = unlens(gu, gv);
      const [sx, sy] = toScreen(x, y);
      const r = 2.8 + 3.6 * Math.exp(-quad(x, y) / 3.2); // screen pixels, as in the PNG
      const fade = 1 - smooth(1.0, 1.45, Math.max(Math.abs(gu), Math.abs(gv)));
      dots.push(`<circle cx="${sx}" cy="${sy}" r="${f(r)}" fill-opacity="${f((0.25 + 0.6 * fade) * fade)}"/>`);
    }
  }
  parts.push(`<g fill="#f4f7ff">${dots.join('')}</g>`);
  for (const [k, a] of [[1, 0.8], [2, 0.45]]) {
    parts.push(
      `<ellipse rx="${f(a1 * k)}" ry="${f(a2 * k)}" transform="translate(${C} ${C}) rotate(-45)" fill="none" stroke="#fff" stroke-opacity="${a}" stroke-width="2"/>`,
    );
  }
  parts.push('</g></svg>');
  return parts.join('\n') + '\n';
}

const here = path.dirname(fileURLToPath(import.meta.url));
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'resources'));
  mkdirSync(outDir, { recursive: true });
  const png = encodePng(SIZE, SIZE, render());
  writeFileSync(path.join(outDir, 'icon.png'), png);
  writeFileSync(path.join(outDir, 'icon.svg'), svg());
  console.log(`wrote ${path.join(outDir, 'icon.png')} (${png.length} bytes) and icon.svg`);
}
