// The spectral Björck's row kernels (divided differences, D o (M + M^T), row
// squares, row scaling to f32) and its whole forward pass split between
// threads give bit-for-bit the results of one thread, on odd sizes and on the
// paper's shapes, and the split really happens. The one-thread reference is a
// second instance of the same build with its own memory (as with --threads 1).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { engine } from "../src/engine/engine.js";
import { instantiate, type Kernels } from "../src/engine/wasm.js";
import { Arena } from "../src/engine/arena.js";
import { spectralForwardRaw, spectralWorkspaceBytes } from "../src/engine/spectral.js";
import { rng, uniform } from "./helpers.js";

const e = engine();
const single = instantiate(e.build, 64);

interface Instance { arena: Arena; kernels: Kernels }
const threaded: Instance = { arena: e.arena, kernels: e.kernels };
const oneThread: Instance = { arena: new Arena(single.memory, single.kernels.heapBase()), kernels: single.kernels };

/** An input copied into an instance's memory: f64, or f32 (values already f32-representable). */
type Input = { f64: Float64Array } | { f32: Float32Array };

type Call = (k: Kernels, ptrs: number[], out: number, work: number, arena: Arena) => void;

/**
 * Copies the inputs into the instance, runs `call` with their addresses, an
 * output of outBytes (pre-filled with 0xAB bytes) and a workspace of
 * workBytes (not compared: each thread keeps its scratch in its own), returns
 * the output's bytes.
 */
function runOn(inst: Instance, inputs: Input[], outBytes: number, workBytes: number, call: Call): Uint8Array {
  const { arena } = inst;
  const bytesOf = (x: Input) => ("f64" in x ? x.f64.length * 8 : x.f32.length * 4);
  const ptrs = inputs.map((x) => {
    const p = arena.alloc(bytesOf(x));
    if ("f64" in x) arena.f64(p, x.f64.length).set(x.f64);
    else arena.f32(p, x.f32.length).set(x.f32);
    return p;
  });
  const out = arena.alloc(outBytes), work = arena.alloc(workBytes);
  new Uint8Array(arena.memory.buffer, out, outBytes).fill(0xab);
  call(inst.kernels, ptrs, out, work, arena);
  const result = Uint8Array.from(new Uint8Array(arena.memory.buffer, out, outBytes));
  inputs.forEach((x, i) => arena.free(ptrs[i], bytesOf(x)));
  arena.free(out, outBytes);
  arena.free(work, workBytes);
  return result;
}

/** Runs the call on the threaded engine and on one thread; fails at the first differing byte. */
function assertSameOnBoth(what: string, inputs: Input[], outBytes: number, workBytes: number, call: Call): void {
  const a = runOn(threaded, inputs, outBytes, workBytes, call), b = runOn(oneThread, inputs, outBytes, workBytes, call);
  const at = a.findIndex((v, i) => v !== b[i]);
  if (at >= 0) assert.unreachable(`${what}: byte ${at} of ${outBytes} differs (threaded ${a[at]}, one thread ${b[at]})`);
}

async function workersReady(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(e.activeThreads(), e.threads, "every worker started within 20 s");
}

/** n eigenvalue-like values in [1e-7, 2.2] with exact and near duplicates (where D needs its limit). */
function eigenvalues(n: number, seed: number): Float64Array {
  const lam = uniform(rng(seed), n).map((u) => 1e-7 + 1.1 * (u + 1));
  for (let i = 3; i < n; i += 7) lam[i] = lam[i - 1];
  for (let i = 5; i < n; i += 11) lam[i] = lam[i - 1] + 1e-13;
  return lam;
}

const f32 = (seed: number, n: number) => Float32Array.from(uniform(rng(seed), n));

// Sizes above and below the split thresholds, odd and even, and the paper's (s = 512, 10).
const SIZES = [512, 301, 97, 10, 1];

test("divided differences D and D o (M + M^T) split between threads are bit-identical to one thread", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  for (const n of SIZES) {
    for (const iters of [15, 50]) {
      const lam = { f64: eigenvalues(n, n + iters) }, m = { f32: f32(n * iters, n * n) };
      const workBytes = e.kernels.bjorckSpectralWorkspaceBytes(n, iters);
      // Output: q (n f64), then D (n x n f64).
      assertSameOnBoth(`bjorckSpectralCoeffs n=${n} K=${iters}`, [lam], (n + n * n) * 8, workBytes, (k, [pl], out, work) =>
        k.bjorckSpectralCoeffs(n, pl, iters, 0.5, out, out + n * 8, work));
      assertSameOnBoth(`bjorckSpectralHadamard n=${n} K=${iters}`, [lam, m], n * n * 4, workBytes, (k, [pl, pm], out, work) =>
        k.bjorckSpectralHadamard(n, pl, iters, 0.5, pm, out, work));
    }
  }
  assert.ok(e.threads === 1 || e.splitJobs() >= jobsBefore + 8, "the large divided-difference calls were split between threads");
});

test("row squares and row scaling to f32 split between threads are bit-identical to one thread", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  for (const [rows, cols] of [[512, 784], [512, 512], [301, 517], [10, 512], [3, 1001], [1, 7]]) {
    const v = { f64: uniform(rng(rows + cols), rows * cols) }, x = { f32: f32(rows * cols, rows * cols) };
    const q = { f64: eigenvalues(rows, rows) };
    assertSameOnBoth(`spectralRowSquares ${rows}x${cols}`, [v], rows * cols * 12, 0, (k, [pv], out) =>
      k.spectralRowSquares(rows, cols, pv, out, out + rows * cols * 8));
    assertSameOnBoth(`spectralScaleRows f64 ${rows}x${cols}`, [q, v], rows * cols * 4, 0, (k, [pq, pv], out) =>
      k.spectralScaleRows(rows, cols, pq, pv, 0, out));
    assertSameOnBoth(`spectralScaleRows f32 ${rows}x${cols}`, [q, x], rows * cols * 4, 0, (k, [pq, px], out) =>
      k.spectralScaleRows(rows, cols, pq, px, 1, out));
    assertSameOnBoth(`spectralScaleRows copy ${rows}x${cols}`, [v], rows * cols * 4, 0, (k, [pv], out) =>
      k.spectralScaleRows(rows, cols, 0, pv, 0, out));
  }
  assert.ok(e.threads === 1 || e.splitJobs() >= jobsBefore + 12, "the large row passes were split between threads");
});

test("the spectral forward pass (paper shapes, odd shapes) is bit-identical to one thread", async () => {
  await workersReady();
  for (const [r, c] of [[512, 784], [784, 512], [10, 512], [301, 97]]) {
    const s = Math.min(r, c), l = Math.max(r, c), iters = 15;
    const w = { f32: Float32Array.from(f32(r * c + 1, r * c), (v) => v * 0.05) };
    // Output: W_K (r x c), then the saved U^T (s x s) and V (s x l), all f32.
    assertSameOnBoth(`spectral forward ${r}x${c}`, [w], (r * c + s * s + s * l) * 4, spectralWorkspaceBytes(e.kernels, r, c, iters),
      (k, [pw], out, work, arena) => {
        const zt = out + r * c * 4, v = zt + s * s * 4;
        const { steps } = spectralForwardRaw(k, arena, r, c, iters, 0.5, -1, pw, out, { zt, v }, work);
        assert.is(steps, iters);
      });
  }
});

test.run();
