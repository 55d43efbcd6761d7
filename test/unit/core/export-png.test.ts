/**
 * Grid layout: tiles of known colours are laid out with the border and scale asked for; the PNG
 * written by sharp decodes (with sharp) to the same pixels at the expected positions.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { gridSize, tileGrid, tileOrigin, unitToBytes, writePng } from '../../../src-main/core/export/png.ts';
import { tmpDir } from '../../helpers/tmp.ts';

test('a 2x3 grayscale grid of 4x3 tiles, scaled 2x with a 1-pixel border, decodes to its tiles', async () => {
  const w = 4;
  const h = 3;
  const layout = { rows: 2, cols: 3, width: w, height: h, channels: 1 as const, pad: 1, scale: 2, background: 255 };
  // Tile t is uniform (value 10 * t) except its top-left pixel, which is 200.
  const tiles = new Uint8Array(6 * w * h);
  for (let t = 0; t < 6; t++) {
    tiles.fill(10 * t, t * w * h, (t + 1) * w * h);
    tiles[t * w * h] = 200;
  }
  const size = gridSize(layout);
  assert.deepEqual(size, { width: 3 * (8 + 1) + 1, height: 2 * (6 + 1) + 1 });
  assert.deepEqual(tileOrigin(layout, 1, 2), { x: 1 + 2 * 9, y: 1 + 7 });
  const file = path.join(tmpDir('export-png-'), 'grid.png');
  const bytes = await writePng(file, tileGrid(tiles, layout));
  assert.ok(bytes > 0);
  assert.equal((await sharp(file).metadata()).channels, 1, 'a grayscale PNG');
  const { data, info } = await sharp(file).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, size.width);
  assert.equal(info.height, size.height);
  assert.equal(info.channels, 1);
  const at = (x: number, y: number) => data[y * info.width + x];
  for (let t = 0; t < 6; t++) {
    const o = tileOrigin(layout, Math.floor(t / 3), t % 3);
    // The marked pixel is a 2x2 block; the tile's last pixel is its value.
    assert.equal(at(o.x, o.y), 200);
    assert.equal(at(o.x + 1, o.y + 1), 200);
    assert.equal(at(o.x + 2, o.y), 10 * t, `tile ${t}`);
    assert.equal(at(o.x + 2 * w - 1, o.y + 2 * h - 1), 10 * t);
    // The border just left of and above the tile.
    assert.equal(at(o.x - 1, o.y), 255);
    assert.equal(at(o.x, o.y - 1), 255);
  }
});

test('an RGB grid keeps its channels; missing tiles stay background', async () => {
  const layout = { rows: 1, cols: 2, width: 2, height: 2, channels: 3 as const, pad: 2, background: 0 };
  const tiles = new Uint8Array(2 * 2 * 3);
  for (let i = 0; i < 4; i++) tiles.set([255, 0, 0], i * 3); // one red tile only
  const file = path.join(tmpDir('export-png-'), 'rgb.png');
  await writePng(file, tileGrid(tiles, layout));
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  assert.deepEqual(px(2, 2), [255, 0, 0]);
  const second = tileOrigin(layout, 0, 1);
  assert.deepEqual(px(second.x, second.y), [0, 0, 0]);
});

test('unit intensities become rounded, clamped bytes', () => {
  assert.deepEqual([...unitToBytes(Float32Array.from([0, 0.5, 1, -0.2, 1.3, 0.002]))], [0, 128, 255, 0, 255, 1]);
});
