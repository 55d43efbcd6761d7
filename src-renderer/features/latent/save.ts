/**
 * Saving views: a canvas as PNG (canvas.toBlob) and frames as an animated GIF (gifenc), handed to
 * the browser as a download (an <a download> on an object URL).
 */
import { applyPalette, GIFEncoder, quantize } from 'gifenc';

/** Starts a download of `blob` named `filename`. */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function canvasBlob(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded as PNG'))), 'image/png'));
}

export async function savePng(canvas: HTMLCanvasElement, filename: string): Promise<void> {
  downloadBlob(await canvasBlob(canvas), filename);
}

/** A canvas holding an RGBA image scaled up by an integer `zoom` without smoothing. */
export function canvasOf(img: { width: number; height: number; data: Uint8ClampedArray }, zoom = 1): HTMLCanvasElement {
  const src = document.createElement('canvas');
  src.width = img.width;
  src.height = img.height;
  src.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  if (zoom === 1) return src;
  const out = document.createElement('canvas');
  out.width = img.width * zoom;
  out.height = img.height * zoom;
  const ctx = out.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(src, 0, 0, out.width, out.height);
  return out;
}

/** An animated GIF (looping) of equally sized RGBA frames, `delayMs` per frame, one palette per frame. */
export function gifOf(frames: Uint8ClampedArray[], width: number, height: number, delayMs: number): Blob {
  const gif = GIFEncoder();
  for (const f of frames) {
    const palette = quantize(f, 256);
    gif.writeFrame(applyPalette(f, palette), width, height, { palette, delay: delayMs, repeat: 0 });
  }
  gif.finish();
  const bytes = gif.bytes();
  return new Blob([bytes.slice().buffer as ArrayBuffer], { type: 'image/gif' });
}
