/**
 * The latent map's point renderer: WebGL2 draws every point in one drawArrays(POINTS) call (round
 * point sprites, a position buffer and a per-point RGBA colour buffer, the view as two uniforms),
 * so panning 70k points costs one draw per frame. Where WebGL2 is unavailable the same interface
 * draws with Canvas2D (slower, said in the UI). Framework-free: the bench page uses it as is.
 */
import type { ViewState } from './view.ts';

export interface ScatterRenderer {
  readonly kind: 'webgl2' | 'canvas2d';
  /** Positions in data units and RGBA colours (4 bytes per point). */
  setPoints(xs: Float32Array, ys: Float32Array, rgba: Uint8Array): void;
  /** Replaces the colours only (colour-by switch, selection dimming). */
  setColours(rgba: Uint8Array): void;
  /** Draws all points in the view; `pointSize` in CSS pixels. */
  draw(view: ViewState, pointSize: number): void;
  /** Waits until the drawing commands issued so far have run (for measuring frame times). */
  sync(): void;
  dispose(): void;
}

const VS = `#version 300 es
in vec2 a_pos;
in vec4 a_colour;
uniform vec2 u_scale;
uniform vec2 u_offset;
uniform float u_size;
out vec4 v_colour;
void main() {
  gl_Position = vec4(a_pos * u_scale + u_offset, 0.0, 1.0);
  gl_PointSize = u_size;
  v_colour = a_colour;
}`;

const FS = `#version 300 es
precision mediump float;
in vec4 v_colour;
out vec4 outColour;
void main() {
  vec2 d = gl_PointCoord - vec2(0.5);
  float r2 = dot(d, d);
  if (r2 > 0.25) discard;
  float edge = smoothstep(0.25, 0.16, r2);
  outColour = vec4(v_colour.rgb, v_colour.a * edge);
}`;

/** Background of the map (matches --panel). */
const BG: [number, number, number] = [0x10 / 255, 0x14 / 255, 0x1d / 255];

function compile(gl: WebGL2RenderingContext, type: number, src: string): WebGLShader {
  const s = gl.createShader(type);
  if (!s) throw new Error('cannot create a shader');
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s) ?? 'compile failed'}`);
  return s;
}

class WebGLScatter implements ScatterRenderer {
  readonly kind = 'webgl2' as const;
  readonly #canvas: HTMLCanvasElement;
  readonly #gl: WebGL2RenderingContext;
  readonly #prog: WebGLProgram;
  readonly #pos: WebGLBuffer;
  readonly #col: WebGLBuffer;
  readonly #vao: WebGLVertexArrayObject;
  readonly #uScale: WebGLUniformLocation | null;
  readonly #uOffset: WebGLUniformLocation | null;
  readonly #uSize: WebGLUniformLocation | null;
  #count = 0;

  constructor(canvas: HTMLCanvasElement, gl: WebGL2RenderingContext) {
    this.#canvas = canvas;
    this.#gl = gl;
    const prog = gl.createProgram();
    if (!prog) throw new Error('cannot create a program');
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, VS));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, FS));
    gl.bindAttribLocation(prog, 0, 'a_pos');
    gl.bindAttribLocation(prog, 1, 'a_colour');
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(prog) ?? 'link failed'}`);
    this.#prog = prog;
    this.#uScale = gl.getUniformLocation(prog, 'u_scale');
    this.#uOffset = gl.getUniformLocation(prog, 'u_offset');
    this.#uSize = gl.getUniformLocation(prog, 'u_size');
    const vao = gl.createVertexArray();
    const pos = gl.createBuffer();
    const col = gl.createBuffer();
    if (!vao || !pos || !col) throw new Error('cannot create WebGL buffers');
    this.#vao = vao;
    this.#pos = pos;
    this.#col = col;
    gl.bindVertexArray(vao);
    gl.bindBuffer(gl.ARRAY_BUFFER, pos);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, col);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribPointer(1, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.bindVertexArray(null);
  }

  setPoints(xs: Float32Array, ys: Float32Array, rgba: Uint8Array): void {
    const gl = this.#gl;
    const n = xs.length;
    const xy = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      xy[i * 2] = xs[i]!;
      xy[i * 2 + 1] = ys[i]!;
    }
    gl.bindBuffer(gl.ARRAY_BUFFER, this.#pos);
    gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
    this.#count = n;
    this.setColours(rgba);
  }

  setColours(rgba: Uint8Array): void {
    const gl = this.#gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.#col);
    gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.DYNAMIC_DRAW);
  }

  draw(view: ViewState, pointSize: number): void {
    const gl = this.#gl;
    const dpr = this.#canvas.width / Math.max(1, view.width);
    gl.viewport(0, 0, this.#canvas.width, this.#canvas.height);
    gl.clearColor(BG[0], BG[1], BG[2], 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.#count === 0) return;
    gl.useProgram(this.#prog);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    const sx = (2 * view.scale) / view.width;
    const sy = (2 * view.scale) / view.height;
    gl.uniform2f(this.#uScale, sx, sy);
    gl.uniform2f(this.#uOffset, -view.cx * sx, -view.cy * sy);
    gl.uniform1f(this.#uSize, Math.max(1, pointSize * dpr));
    gl.bindVertexArray(this.#vao);
    gl.drawArrays(gl.POINTS, 0, this.#count);
    gl.bindVertexArray(null);
  }

  sync(): void {
    const px = new Uint8Array(4);
    this.#gl.readPixels(0, 0, 1, 1, this.#gl.RGBA, this.#gl.UNSIGNED_BYTE, px);
  }

  dispose(): void {
    const gl = this.#gl;
    gl.deleteBuffer(this.#pos);
    gl.deleteBuffer(this.#col);
    gl.deleteVertexArray(this.#vao);
    gl.deleteProgram(this.#prog);
  }
}

/** The fallback: squares with Canvas2D, one fillRect per visible point, colour runs batched. */
class Canvas2DScatter implements ScatterRenderer {
  readonly kind = 'canvas2d' as const;
  readonly #canvas: HTMLCanvasElement;
  readonly #ctx: CanvasRenderingContext2D;
  #xs: Float32Array = new Float32Array(0);
  #ys: Float32Array = new Float32Array(0);
  #rgba: Uint8Array = new Uint8Array(0);

  constructor(canvas: HTMLCanvasElement, ctx: CanvasRenderingContext2D) {
    this.#canvas = canvas;
    this.#ctx = ctx;
  }

  setPoints(xs: Float32Array, ys: Float32Array, rgba: Uint8Array): void {
    this.#xs = xs;
    this.#ys = ys;
    this.#rgba = rgba;
  }

  setColours(rgba: Uint8Array): void {
    this.#rgba = rgba;
  }

  draw(view: ViewState, pointSize: number): void {
    const ctx = this.#ctx;
    const dpr = this.#canvas.width / Math.max(1, view.width);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = `rgb(${BG.map((v) => Math.round(v * 255)).join(',')})`;
    ctx.fillRect(0, 0, this.#canvas.width, this.#canvas.height);
    const s = Math.max(1, pointSize * dpr * 0.8);
    const h = s / 2;
    const W = this.#canvas.width;
    const H = this.#canvas.height;
    let last = -1;
    for (let i = 0; i < this.#xs.length; i++) {
      const px = (view.width / 2 + (this.#xs[i]! - view.cx) * view.scale) * dpr;
      const py = (view.height / 2 - (this.#ys[i]! - view.cy) * view.scale) * dpr;
      if (px < -s || py < -s || px > W + s || py > H + s) continue;
      const o = i * 4;
      const key = (this.#rgba[o]! << 24) ^ (this.#rgba[o + 1]! << 16) ^ (this.#rgba[o + 2]! << 8) ^ this.#rgba[o + 3]!;
      if (key !== last) {
        ctx.fillStyle = `rgba(${this.#rgba[o]},${this.#rgba[o + 1]},${this.#rgba[o + 2]},${this.#rgba[o + 3]! / 255})`;
        last = key;
      }
      ctx.fillRect(px - h, py - h, s, s);
    }
  }

  sync(): void {}

  dispose(): void {}
}

/**
 * A renderer on `canvas`: WebGL2 unless it is unavailable (or `forceCanvas2d`), then Canvas2D.
 * `preserveDrawingBuffer` lets a PNG snapshot read the last frame at any time.
 */
export function createScatter(canvas: HTMLCanvasElement, opts: { forceCanvas2d?: boolean } = {}): { renderer: ScatterRenderer; reason: string | null } {
  let reason: string | null = opts.forceCanvas2d ? 'WebGL turned off' : null;
  if (!opts.forceCanvas2d) {
    try {
      const gl = canvas.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true, premultipliedAlpha: false });
      if (gl) return { renderer: new WebGLScatter(canvas, gl), reason: null };
      reason = 'WebGL2 is not available';
    } catch (e) {
      reason = `WebGL2 failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('neither WebGL2 nor Canvas2D is available');
  return { renderer: new Canvas2DScatter(canvas, ctx), reason };
}
