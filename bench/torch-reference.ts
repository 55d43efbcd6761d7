/**
 * The PyTorch reference row: the same model, batch, optimiser and data as the tfjs rows, trained by
 * a small inline Python script in its own process, with the same measuring plan (warm-up, then
 * per-step wall-clock times summarised by the median). PyTorch on the CPU is the strongest engine
 * on this kind of machine (ENGINEERING.md section 6), so the ratios say how far each backend is
 * from what the hardware can do. Nothing is installed: when `import torch` fails the caller falls
 * back to another reference and says why.
 */
import { spawn, spawnSync } from 'node:child_process';
import { median, WORKLOADS, type MeasurePlan, type Measurement, type ModelName } from './speed-shared.ts';

/**
 * torch's intra-op pool uses both cores. A torch built on OpenBLAS (Debian's python3-torch) would
 * add OpenBLAS's own threads on top and oversubscribe the two cores (measured: about half the
 * speed), so OpenBLAS is held to one thread; wheels built on MKL / oneDNN ignore the variable.
 */
export const TORCH_THREADS = 2;

/** Returns torch's version, or why it cannot be imported (first useful line of the error). */
export function probeTorch(python: string): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `${python}: ${r.error.message}` };
  if (r.status !== 0) {
    const lines = (r.stderr || r.stdout || '').trim().split('\n').filter(Boolean);
    return { ok: false, reason: `${python} -c "import torch" failed: ${lines[lines.length - 1] ?? `exit ${r.status}`}` };
  }
  return { ok: true, version: r.stdout.trim() };
}

/*
 * The script mirrors core/train.ts step for step: gather a shuffled uint8 batch into float32 [0, 1],
 * draw eps ~ N(0, I), z = mu + exp(logvar / 2) * eps, Bernoulli NLL from logits (softplus form,
 * binary_cross_entropy_with_logits) plus the closed-form KL, both summed per sample and averaged
 * over the batch, one Adam step, then read both terms back as Python floats (the tfjs loop reads
 * its statistics back too). Layers are nn.Linear / nn.Conv2d / nn.ConvTranspose2d with PyTorch's
 * default initialisation: the speed does not depend on the initial values. The conv model has the
 * studio's shapes: 'same' padding with stride 2 is padding (k - 1) // 2 here (28 -> 14 -> 7), and
 * each transposed conv doubles the size exactly (output_padding = 1 for odd k, 0 for even k).
 */
const SCRIPT = String.raw`
import json, resource, sys, time
cfg = json.loads(sys.argv[1])
import torch
import torch.nn.functional as F

torch.set_num_threads(cfg["threads"])
torch.manual_seed(cfg["seed"])
D, Z, B = cfg["inputDim"], cfg["latentDim"], cfg["batchSize"]
plan = cfg["plan"]
with open(cfg["dataPath"], "rb") as f:
    raw = bytearray(f.read())
count = len(raw) // D
images = torch.frombuffer(raw, dtype=torch.uint8).view(count, D)
whole = count // B * B


def terms(logits, x, mu, logvar):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    kl = 0.5 * (logvar.exp() - 1 - logvar + mu.pow(2)).sum(1)
    return recon.mean(), kl.mean()


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        H = cfg["model"]["hidden"][0]
        self.enc = torch.nn.Linear(D, H)
        self.mu = torch.nn.Linear(H, Z)
        self.logvar = torch.nn.Linear(H, Z)
        self.dec = torch.nn.Linear(Z, H)
        self.out = torch.nn.Linear(H, D)

    def forward(self, x, eps):
        h = F.relu(self.enc(x))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        return terms(self.out(F.relu(self.dec(z))), x, mu, logvar)


class Conv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        m = cfg["model"]
        k, ch = m["kernelSize"], m["channels"]
        self.side = int(round(D ** 0.5))
        self.small = self.side >> len(ch)
        chans = [1] + ch
        self.enc = torch.nn.ModuleList(torch.nn.Conv2d(chans[i], chans[i + 1], k, 2, (k - 1) // 2) for i in range(len(ch)))
        flat = ch[-1] * self.small * self.small
        self.mu = torch.nn.Linear(flat, Z)
        self.logvar = torch.nn.Linear(flat, Z)
        self.dec = torch.nn.Linear(Z, flat)
        self.deconv = torch.nn.ModuleList(
            torch.nn.ConvTranspose2d(chans[i + 1], chans[i], k, 2, (k - 1) // 2, output_padding=k % 2)
            for i in reversed(range(len(ch)))
        )

    def forward(self, x, eps):
        h = x.view(-1, 1, self.side, self.side)
        for c in self.enc:
            h = F.relu(c(h))
        h = h.flatten(1)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        g = F.relu(self.dec(z)).view(-1, cfg["model"]["channels"][-1], self.small, self.small)
        for i, d in enumerate(self.deconv):
            g = d(g)
            if i < len(self.deconv) - 1:
                g = F.relu(g)
        return terms(g.flatten(1), x, mu, logvar)


model = Conv() if cfg["model"]["kind"] == "conv" else Mlp()
opt = torch.optim.Adam(model.parameters(), lr=cfg["learningRate"])
gen = torch.Generator().manual_seed(cfg["seed"])
step_ms, neg_elbo_after_warmup = [], None
done, timed_start, t_begin = 0, None, time.perf_counter()
cpu_start, cores_used = time.process_time(), float("nan")


def should_stop():
    global timed_start, cpu_start, cores_used
    timed = done - plan["warmupSteps"]
    if timed == 0 and timed_start is None:
        timed_start = time.perf_counter()
        cpu_start = time.process_time()
        sys.stderr.write("[bench] pytorch: warm-up done (%d steps, %.1f s)\n" % (plan["warmupSteps"], timed_start - t_begin))
    now = time.perf_counter()
    stop = timed >= plan["maxSteps"] or (timed >= plan["minSteps"] and (now - timed_start) * 1000 >= plan["budgetMs"])
    if stop and cores_used != cores_used:  # still NaN: first stop
        cores_used = (time.process_time() - cpu_start) / (now - timed_start)
    return stop


while not should_stop():
    order = torch.randperm(whole, generator=gen)
    for start in range(0, whole, B):
        if should_stop():
            break
        t0 = time.perf_counter()
        x = images[order[start:start + B]].float().div_(255)
        eps = torch.randn(B, Z)
        recon, kl = model(x, eps)
        loss = recon + kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        r, k = recon.item(), kl.item()
        dt = (time.perf_counter() - t0) * 1000
        done += 1
        if done > plan["warmupSteps"]:
            step_ms.append(round(dt, 3))
        elif done == plan["warmupSteps"]:
            neg_elbo_after_warmup = r + k

peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
peak_mib = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
print(json.dumps({
    "version": torch.__version__,
    "threads": torch.get_num_threads(),
    "stepMs": step_ms,
    "peakRssMiB": peak_mib,
    "negElboAfterWarmup": neg_elbo_after_warmup,
    "coresUsed": cores_used,
}))
`;

interface ScriptOutput {
  version: string;
  threads: number;
  stepMs: number[];
  peakRssMiB: number;
  negElboAfterWarmup: number | null;
  coresUsed: number;
}

/** Runs the reference for one model on the digits stored at `dataPath` (count x 784 bytes, uint8). */
export function runTorchReference(python: string, dataPath: string, plan: MeasurePlan, model: ModelName): Promise<Measurement> {
  const WORKLOAD = WORKLOADS[model];
  const cfg = { ...WORKLOAD, threads: TORCH_THREADS, dataPath, plan };
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', SCRIPT, JSON.stringify(cfg)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('error', (err) => resolve({ status: 'failed', reason: `${python}: ${err.message}` }));
    child.on('close', (code) => {
      if (code !== 0) return resolve({ status: 'failed', reason: `the PyTorch script exited with code ${code}` });
      try {
        const lines = out.trim().split('\n');
        const r = JSON.parse(lines[lines.length - 1] ?? '') as ScriptOutput;
        if (r.stepMs.length === 0) return resolve({ status: 'failed', reason: 'the PyTorch script timed no step' });
        const medianMs = median(r.stepMs);
        resolve({
          status: 'ok',
          device: `CPU (${r.threads} threads, PyTorch ${r.version})`,
          version: r.version,
          warmupSteps: plan.warmupSteps,
          stepMs: r.stepMs,
          medianMs,
          samplesPerSec: (WORKLOAD.batchSize * 1000) / medianMs,
          peakRssMiB: r.peakRssMiB,
          negElboAfterWarmup: r.negElboAfterWarmup ?? Number.NaN,
          coresUsed: r.coresUsed,
        });
      } catch (err) {
        resolve({ status: 'failed', reason: `unreadable output from the PyTorch script: ${err instanceof Error ? err.message : String(err)}` });
      }
    });
  });
}
