/**
 * A small seeded pseudo-random generator. Training must be reproducible (same seed + config +
 * backend -> same metrics), so every random choice the studio makes (data split, shuffling, the
 * reparameterisation noise, the sample digits) draws from this generator instead of Math.random.
 *
 * The generator is SplitMix32: a Weyl sequence (state += golden-ratio constant) passed through the
 * MurmurHash3 32-bit finaliser. Its period is 2^32, far more than one run draws, it passes the usual
 * statistical smoke tests for this kind of use and it costs a handful of integer operations.
 */
/** The serialisable state of an Rng (see Rng.getState). */
export interface RngState {
  state: number;
  spare: number | null;
}

export class Rng {
  private state: number;
  /** Box-Muller yields normals in pairs; the second one waits here. */
  private spare: number | null = null;

  constructor(seed: number) {
    // Mix the seed once so that nearby seeds (1, 2, 3...) start far apart in the sequence.
    this.state = fmix32((seed >>> 0) ^ 0x5bd1e995) >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return fmix32(this.state);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Integer in [0, n). The modulo bias of scaling a 32-bit draw is below 2^-32 * n: negligible here. */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal draw (Box-Muller transform). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fills `out` with standard normal draws and returns it. */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** Shuffles `arr` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /**
   * The generator's whole state (the Weyl counter and the waiting Box-Muller normal), plain JSON:
   * a checkpoint stores it so that a resumed run draws exactly the numbers the uninterrupted run would.
   */
  getState(): RngState {
    return { state: this.state, spare: this.spare };
  }

  /** Restores a state taken with getState(). */
  setState(s: RngState): this {
    if (!Number.isInteger(s.state) || s.state < 0 || s.state > 0xffffffff) throw new Error(`invalid Rng state ${String(s.state)}`);
    if (s.spare !== null && !Number.isFinite(s.spare)) throw new Error(`invalid Rng spare normal ${String(s.spare)}`);
    this.state = s.state >>> 0;
    this.spare = s.spare;
    return this;
  }

  /** A generator continuing from a saved state. */
  static fromState(s: RngState): Rng {
    return new Rng(0).setState(s);
  }

  /** A new, independent generator seeded from this one (for separate streams such as the split and the noise). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

/** MurmurHash3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A permutation of 0..n-1 drawn from `rng`. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return rng.shuffle(p);
}
