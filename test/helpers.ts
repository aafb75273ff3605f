// Shared test utilities: a seeded PRNG, random data and tolerance checks.
import * as assert from "uvu/assert";
import { rmSync } from "node:fs";

/** Fixed seed for every fast-check property in the suite. */
export const SEED = 20221;

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi). */
export function uniform(rand: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
  return out;
}

/** Standard normal draws (Box-Muller). */
export function normal(rand: () => number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rand(), 1e-300), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** Asserts |actual - expected| <= atol + rtol |expected| everywhere, naming the first bad index. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0, what = "values"): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.unreachable(`${what}[${i}] = ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

export function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

// Every test file of a uvu run shares one process: one exit listener removes
// all their scratch folders (a listener per folder trips Node's leak warning).
const scratchDirs = new Set<string>();

/** Removes dir (recursively) when the test process exits. */
export function removeOnExit(dir: string): void {
  if (scratchDirs.size === 0) process.on("exit", () => scratchDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  scratchDirs.add(dir);
}
