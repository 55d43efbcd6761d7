/**
 * The offline sampler: a folder with index.html, TensorFlow.js (tf.min.js, copied from the
 * studio's own package) and the decoder, which opens by double-click from the file system.
 * Browsers refuse fetch() of file:// URLs, so the decoder travels twice: as the standard tfjs files
 * (decoder/model.json + weights.bin, for other tools) and inside model.js, which a <script> tag
 * loads and which holds the model JSON and the weights as base64 for tf.io.fromMemory.
 * The page: one slider per latent dimension (largest KL first), a temperature, a random-sample
 * button, and the decoder mean drawn large on a canvas.
 */
import { escapeHtml } from './report.ts';

export interface SamplerMeta {
  runName: string;
  runId: string;
  epoch: number;
  latentDim: number;
  width: number;
  height: number;
  channels: number;
  likelihood: 'bernoulli' | 'continuousBernoulli' | 'gaussian';
  /** Latent dimensions in slider order (largest KL first). */
  order: number[];
  /** KL per dimension in nats (shown beside each slider), or null when unknown. */
  klPerDim: number[] | null;
}

/** model.js: the decoder (topology, weight specs and base64 weights) and the page's metadata. */
export function samplerModelScript(
  modelJson: { modelTopology: unknown; weightsManifest?: { weights: unknown[] }[] },
  weights: Uint8Array,
  meta: SamplerMeta,
): string {
  const weightSpecs = (modelJson.weightsManifest ?? []).flatMap((g) => g.weights);
  const payload = {
    meta,
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightsBase64: Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength).toString('base64'),
  };
  return `/* VAE Studio sampler: the decoder of run ${meta.runId}, epoch ${meta.epoch}. */\nwindow.VAE_SAMPLER = ${JSON.stringify(payload)};\n`;
}

const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var S = window.VAE_SAMPLER;
  var status = document.getElementById('status');
  if (!S || !window.tf) {
    status.textContent = 'The sampler could not load model.js or tf.min.js; keep the folder together.';
    return;
  }
  var meta = S.meta;
  var d = meta.latentDim;
  var z = new Float32Array(d);
  var sliders = [];
  var list = document.getElementById('sliders');
  var temp = document.getElementById('temperature');
  var tempOut = document.getElementById('temperature-value');
  var canvas = document.getElementById('image');
  var ctx = canvas.getContext('2d');
  var small = document.createElement('canvas');
  small.width = meta.width;
  small.height = meta.height;
  var sctx = small.getContext('2d');
  var model = null;
  var pending = false;

  function b64ToBuffer(b64) {
    var bin = atob(b64);
    var u = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return u.buffer;
  }

  // The mean of p(x|z) from the decoder output (the studio's contract/likelihood.ts likelihoodMean, as page script).
  function mean(l) {
    var v;
    if (meta.likelihood === 'gaussian') v = l;
    else if (meta.likelihood === 'bernoulli') v = 1 / (1 + Math.exp(-l));
    else v = Math.abs(l) < 1e-2 ? 0.5 + l / 12 - (l * l * l) / 720 : 0.5 + 0.5 / Math.tanh(l / 2) - 1 / l;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }

  function gaussian() {
    var u = 0, v = 0;
    while (u === 0) u = Math.random();
    while (v === 0) v = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  function draw() {
    pending = false;
    if (!model) return;
    var out = tf.tidy(function () { return model.predict(tf.tensor2d(z, [1, d])); });
    var px = out.dataSync();
    out.dispose();
    var img = sctx.createImageData(meta.width, meta.height);
    var c = meta.channels;
    for (var i = 0; i < meta.width * meta.height; i++) {
      var r, g, b;
      if (c >= 3) { r = mean(px[i * c]); g = mean(px[i * c + 1]); b = mean(px[i * c + 2]); }
      else { r = g = b = mean(px[i * c]); }
      img.data[i * 4] = Math.round(r * 255);
      img.data[i * 4 + 1] = Math.round(g * 255);
      img.data[i * 4 + 2] = Math.round(b * 255);
      img.data[i * 4 + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    document.body.setAttribute('data-drawn', String(Number(document.body.getAttribute('data-drawn') || '0') + 1));
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(draw);
  }

  function setFromZ() {
    for (var k = 0; k < sliders.length; k++) {
      var s = sliders[k];
      s.input.value = String(z[s.dim]);
      s.out.textContent = z[s.dim].toFixed(2);
    }
    schedule();
  }

  meta.order.forEach(function (j) {
    var row = document.createElement('div');
    row.className = 'slider';
    var id = 'z' + j;
    var label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = 'z' + j;
    if (meta.klPerDim) {
      var kl = document.createElement('span');
      kl.className = 'kl';
      kl.textContent = 'KL ' + meta.klPerDim[j].toFixed(2);
      label.appendChild(kl);
    }
    var input = document.createElement('input');
    input.type = 'range';
    input.id = id;
    input.min = '-3';
    input.max = '3';
    input.step = '0.01';
    input.value = '0';
    var out = document.createElement('output');
    out.htmlFor = id;
    out.textContent = '0.00';
    input.addEventListener('input', function () {
      z[j] = Number(input.value);
      out.textContent = z[j].toFixed(2);
      schedule();
    });
    row.appendChild(label);
    row.appendChild(input);
    row.appendChild(out);
    list.appendChild(row);
    sliders.push({ dim: j, input: input, out: out });
  });

  temp.addEventListener('input', function () { tempOut.textContent = Number(temp.value).toFixed(2); });
  document.getElementById('random').addEventListener('click', function () {
    var t = Number(temp.value);
    for (var j = 0; j < d; j++) z[j] = Math.max(-3, Math.min(3, t * gaussian()));
    setFromZ();
  });
  document.getElementById('reset').addEventListener('click', function () {
    z.fill(0);
    setFromZ();
  });

  tf.ready()
    .then(function () {
      return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: S.modelTopology, weightSpecs: S.weightSpecs, weightData: b64ToBuffer(S.weightsBase64) }));
    })
    .then(function (m) {
      model = m;
      status.textContent = 'Decoder loaded (TensorFlow.js ' + tf.version.tfjs + ', ' + tf.getBackend() + ' backend).';
      document.body.setAttribute('data-ready', 'true');
      draw();
    })
    .catch(function (e) {
      status.textContent = 'The decoder could not be loaded: ' + (e && e.message ? e.message : String(e));
      document.body.setAttribute('data-error', 'true');
    });
})();
`;

/** index.html of the sampler folder. */
export function samplerHtml(meta: SamplerMeta): string {
  const esc = escapeHtml;
  // The image is drawn at an integer multiple of its size, about 384 pixels on its longer side.
  const scale = Math.max(1, Math.round(384 / Math.max(meta.width, meta.height)));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(meta.runName)} — VAE Studio sampler</title>
<style>
:root{color-scheme:dark;--bg:#0d1016;--panel:#161c27;--border:#262f3f;--text:#e4e8f0;--dim:#a3adbf;--accent:#7aa7ff}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;background:var(--bg);color:var(--text)}
main{display:grid;grid-template-columns:auto minmax(280px,420px);gap:24px;padding:24px;align-items:start}
h1{font-size:20px;margin:0 0 2px}p{margin:0 0 12px;color:var(--dim)}
canvas{image-rendering:pixelated;border:1px solid var(--border);border-radius:6px;background:#000;display:block}
.controls{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:14px 0}
button{font:inherit;color:var(--text);background:var(--panel);border:1px solid var(--border);border-radius:6px;padding:6px 14px;cursor:pointer}
button:hover,button:focus-visible{border-color:var(--accent);outline:none}
#sliders{max-height:calc(100vh - 80px);overflow:auto;background:var(--panel);border:1px solid var(--border);border-radius:8px;padding:10px 12px}
.slider{display:grid;grid-template-columns:110px 1fr 44px;gap:8px;align-items:center;margin:2px 0}
.slider label{font-family:ui-monospace,Menlo,Consolas,monospace}.kl{color:var(--dim);font-size:11px;margin-left:6px}
output{font-variant-numeric:tabular-nums;text-align:right;color:var(--dim)}
input[type=range]{width:100%;accent-color:var(--accent)}
</style>
</head>
<body>
<main>
<section aria-label="Decoded image">
<h1>${esc(meta.runName)}</h1>
<p>Decoder of epoch ${meta.epoch} · latent dimension ${meta.latentDim} · ${meta.width}x${meta.height}${meta.channels === 3 ? ' RGB' : ''} · ${esc(meta.likelihood)} likelihood</p>
<canvas id="image" width="${meta.width * scale}" height="${meta.height * scale}" role="img" aria-label="The decoded image"></canvas>
<div class="controls">
<button id="random" type="button">Random sample</button>
<button id="reset" type="button">Reset to zero</button>
<label for="temperature">Temperature</label>
<input id="temperature" type="range" min="0" max="2" step="0.05" value="1" style="width:140px">
<output id="temperature-value" for="temperature">1.00</output>
</div>
<p id="status" role="status">Loading the decoder…</p>
</section>
<section aria-label="Latent coordinates">
<p>Latent coordinates (largest KL first)</p>
<div id="sliders"></div>
</section>
</main>
<script src="tf.min.js"></script>
<script src="model.js"></script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
