// Seeded random streams. Every source of randomness in lipvae (init, noise,
// shuffling, attacks) is a Random with its own seed, and its state can be
// saved and restored so that a resumed run continues bit for bit.

/** xoshiro128** (Blackman & Vigna): small state, fast, good equidistribution. */
export class Random {
  private s: Uint32Array;
  /** A spare normal from the last Box-Muller pair (NaN when empty). */
  private spare = NaN;

  constructor(seed: number | string) {
    this.s = new Uint32Array(4);
    // splitmix32 expands the seed into four non-zero words.
    let x = typeof seed === "string" ? hashString(seed) : seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box-Muller, pairs cached). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fills out with standard normals. */
  fillNormal(out: Float32Array | Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** The full state, for checkpoints. */
  getState(): (number | null)[] {
    return [...this.s, Number.isNaN(this.spare) ? null : this.spare];
  }

  setState(state: (number | null)[]): void {
    if (state.length !== 5) throw new Error("Random.setState: expected 5 numbers");
    this.s = Uint32Array.from(state.slice(0, 4) as number[]);
    this.spare = state[4] ?? NaN;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** An independent stream derived from a base seed and a purpose label. */
export function stream(seed: number, purpose: string): Random {
  return new Random(`${seed}:${purpose}`);
}
