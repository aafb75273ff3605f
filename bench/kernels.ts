// Kernel benchmarks, run on each WASM build in the same process so that the
// ratios between builds and against the measured peak come from one run.

import { Arena } from "../src/engine/arena.js";
import { G64, type WasmInstance } from "../src/engine/wasm.js";
import { type EigProblem, eigBatchTableBytes, eigSymBatch } from "../src/engine/eig-batch.js";
import { type BenchRow, measure } from "./harness.js";

/** The 9 weight matrices of the paper's model, [out, in]: encoder mean, encoder std, decoder. */
export const PAPER_WEIGHTS: [number, number][] = [
  [512, 784], [512, 512], [10, 512],
  [512, 784], [512, 512], [10, 512],
  [512, 10], [512, 512], [784, 512],
];

/**
 * FLOPs of K Björck iterations on the 9 paper matrices counted as autograd
 * would do them (full Gram: 4 s^2 l forward, twice that backward). Our
 * kernels do less (SYRK, a 3-GEMM backward); the rows report what they
 * counted (assembly/flops.ts) and quote this for comparison.
 */
export function bjorckAutogradFlops(iters: number, withBackward: boolean): number {
  let fwd = 0;
  for (const [r, c] of PAPER_WEIGHTS) {
    const s = Math.min(r, c), l = Math.max(r, c);
    fwd += 4 * s * s * l;
  }
  return iters * fwd * (withBackward ? 3 : 1);
}

/** The `simd.peak` row: one core's f32x4 multiply-add throughput on this build (12 independent chains). */
export function measurePeak(k: Pick<WasmInstance["kernels"], "peakMulAdd">, arena: Arena, build: string, quick: boolean): BenchRow {
  const p = arena.alloc(256);
  const v = arena.f32(p, 56);
  v.fill(0);
  v.fill(1.0000001, 0, 4);
  v.fill(1e-7, 4, 8);
  const iters = quick ? 2_000_000 : 10_000_000;
  const row = measure("simd.peak", build, iters * 12 * 8, () => k.peakMulAdd(iters, p),
    quick ? { minRuns: 3, minTimeMs: 50, warmup: 1 } : { minRuns: 7, minTimeMs: 400 });
  arena.free(p, 256);
  row.note = "12 chains of f32x4 " + (build.startsWith("relaxed") ? "FMA" : "mul+add");
  return row;
}

/**
 * Kernel rows on one build. With `threaded`, the rows run on the engine's own
 * instance (its arena, its worker threads), are labelled "<build>×<threads>",
 * and their fraction of peak is against threads × the build's one-core peak.
 */
export function kernelBenchmarks(inst: Pick<WasmInstance, "kernels" | "build" | "memory">, quick: boolean, only: RegExp | null,
  threaded?: { arena: Arena; threads: number; corePeak: number }): BenchRow[] {
  const { kernels: k } = inst;
  const build = threaded ? `${inst.build}×${threaded.threads}` : inst.build;
  const arena = threaded ? threaded.arena : new Arena(inst.memory, k.heapBase());
  const rows: BenchRow[] = [];
  const want = (name: string) => (!only || only.test(name)) && !(threaded && /^(simd\.peak|groupsort)/.test(name));
  const opts = quick ? { minRuns: 3, minTimeMs: 50, warmup: 1 } : { minRuns: 10, minTimeMs: 400 };

  const randomBuffer = (n: number, scale = 1) => {
    const ptr = arena.alloc(n * 4);
    const v = arena.f32(ptr, n);
    let s = 12345;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      v[i] = scale * ((s / 4294967296) * 2 - 1);
    }
    return ptr;
  };

  // --- peak: 12 independent multiply-add chains
  let peak = NaN;
  if (want("simd.peak")) {
    const row = measurePeak(k, arena, build, quick);
    peak = row.gflops!;
    rows.push(row);
  }

  const ws = arena.alloc(k.gemmWorkspaceBytes());
  const gemmRow = (name: string, ta: number, tb: number, m: number, kk: number, n: number) => {
    if (!want(name)) return;
    const a = randomBuffer(m * kk), b = randomBuffer(kk * n), c = arena.alloc(m * n * 4);
    const lda = ta ? m : kk, ldb = tb ? kk : n;
    rows.push(measure(name, build, 2 * m * n * kk, () => k.gemm(ta, tb, m, n, kk, 1, a, lda, b, ldb, 0, c, n, ws), opts));
  };
  gemmRow("gemm.nn.512", 0, 0, 512, 512, 512);
  gemmRow("gemm.nt.512", 0, 1, 512, 512, 512);
  gemmRow("gemm.tn.512", 1, 0, 512, 512, 512);
  // The paper model's products (MxKxN): layer forward x W^T, input and weight gradients, Björck's P A.
  gemmRow("gemm.nt.128x784x512", 0, 1, 128, 784, 512);
  gemmRow("gemm.nn.128x784x512", 0, 0, 128, 784, 512);
  gemmRow("gemm.nn.128x512x784", 0, 0, 128, 512, 784);
  gemmRow("gemm.tn.512x128x784", 1, 0, 512, 128, 784);
  gemmRow("gemm.nn.512x512x784", 0, 0, 512, 512, 784);
  gemmRow("gemm.nt.512x784x512", 0, 1, 512, 784, 512);

  if (want("syrk.512")) {
    const a = randomBuffer(512 * 784), c = arena.alloc(512 * 512 * 4);
    const row = measure("syrk.512", build, () => k.flopsF32(), () => k.syrk(0, 512, 784, 1, a, 784, 0, c, 512, ws), opts);
    row.note = "512x784 A A^T; GFLOP/s on the lower triangle's n(n+1)/2 entries, the ones computed";
    rows.push(row);
  }

  // --- Björck on all 9 paper matrices
  const mats = PAPER_WEIGHTS.map(([r, c]) => {
    const scale = 1 / Math.sqrt(Math.max(r, c));
    return { r, c, w: randomBuffer(r * c, scale), out: arena.alloc(r * c * 4), g: randomBuffer(r * c), gi: arena.alloc(r * c * 4) };
  });
  const ws64 = arena.alloc(k.gemm64WorkspaceBytes());
  const bws = arena.alloc(Math.max(...PAPER_WEIGHTS.map(([r, c]) => k.bjorckWorkspaceBytes(r, c))));
  const bjorckRow = (name: string, iters: number, backward: boolean) => {
    if (!want(name)) return;
    const saves = backward ? mats.map(({ r, c }) => arena.alloc(k.bjorckSaveFloats(r, c, iters) * 4)) : [];
    const autograd = bjorckAutogradFlops(iters, backward);
    const row = measure(name, build, () => k.flopsF32(), () => {
      mats.forEach((m, i) => {
        k.bjorckForward(m.r, m.c, iters, 0.5, m.w, m.out, backward ? saves[i] : 0, bws);
        if (backward) k.bjorckBackward(m.r, m.c, iters, 0.5, saves[i], m.g, m.gi, bws);
      });
    }, iters >= 50 ? { ...opts, minRuns: quick ? 1 : 5, warmup: 1 } : opts);
    row.note = `9 paper matrices; GFLOP/s on the ${(row.flopsPerCall! / 1e9).toFixed(2)} GFLOP the kernels executed ` +
      `(autograd would do ${(autograd / 1e9).toFixed(2)}: ${(autograd / (row.median * 1e6)).toFixed(1)} GFLOP/s on that accounting)`;
    rows.push(row);
  };
  bjorckRow("bjorck.k3.fwd", 3, false);
  bjorckRow("bjorck.k3.fwdbwd", 3, true);
  bjorckRow("bjorck.k50.fwd", 50, false);

  // --- f64 symmetric eigensolver on a 512x512 Gram (the spectral Björck's cost per large layer)
  if (want("eig.f64.512")) {
    const n = 512, c = 784;
    const w = arena.f32(randomBuffer(n * c, 1 / Math.sqrt(c)), n * c);
    const a = arena.alloc(n * n * 8), vals = arena.alloc(n * 8), vecs = arena.alloc(n * n * 8);
    const gram = arena.f64(a, n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let t = 0; t < c; t++) s += w[i * c + t] * w[j * c + t];
        gram[i * n + j] = gram[j * n + i] = s;
      }
    }
    const bytes = k.eigSymWorkspaceBytes(n), work = arena.alloc(bytes);
    const row = measure("eig.f64.512", build, 0, () => {
      if (k.eigSym(n, a, n, vals, vecs, work, bytes) !== 0) throw new Error("eigSym failed");
    }, { ...opts, minRuns: quick ? 3 : 10 });
    row.note = `eigenvalues and eigenvectors of a 512x512 Gram, f64, ${threaded ? `${threaded.threads} threads` : "one thread"}`;
    rows.push(row);
  }

  // --- the eigendecompositions of one spectral Björck forward pass: the smaller Grams of the 9 paper weights
  if (want("eig.f64.paper9")) {
    const grams = mats.map(({ r, c, w }) => {
      const s = Math.min(r, c), l = Math.max(r, c), g = arena.alloc(s * s * 8);
      k.gemm64(G64.A_F32 | G64.B_F32 | G64.LOWER | (r <= c ? G64.TRANS_B : G64.TRANS_A), s, s, l, 1, w, c, w, c, 0, g, s, ws64);
      return { s, g };
    });
    const bytes = k.eigSymWorkspaceBytes(512), work = arena.alloc(bytes);
    const vals = arena.alloc(512 * 8), vecs = arena.alloc(512 * 512 * 8);
    const row = measure("eig.f64.paper9", build, 0, () => {
      for (const { s, g } of grams) if (k.eigSym(s, g, s, vals, vecs, work, bytes) !== 0) throw new Error("eigSym failed");
    }, { ...opts, minRuns: quick ? 2 : 5 });
    row.note = `the 9 paper weights' smaller Grams (six 512x512, three 10x10), f64, ${threaded ? `${threaded.threads} threads` : "one thread"}`;
    rows.push(row);
    // The same Grams in one eigSymBatch per MLP, as the spectral forward pass runs them (src/engine/spectral.ts).
    const perMlp = 3, table = arena.alloc(eigBatchTableBytes(perMlp));
    const batches = [0, 1, 2].map((m) => grams.slice(m * perMlp, (m + 1) * perMlp).map(({ s, g }): EigProblem => {
      const workBytes = k.eigSymWorkspaceBytes(s);
      return { n: s, a: g, lda: s, w: arena.alloc(s * 8), z: arena.alloc(s * s * 8), work: arena.alloc(workBytes), workBytes };
    }));
    const batch = measure("eig.f64.paper9.batch", build, 0, () => {
      for (const problems of batches) {
        if (eigSymBatch(k, arena.memory, table, problems).some((status) => status !== 0)) throw new Error("eigSymBatch failed");
      }
    }, { ...opts, minRuns: quick ? 2 : 5 });
    batch.note = `the same Grams, one eigSymBatch per MLP (two 512x512 side by side), ${threaded ? `${threaded.threads} threads` : "one thread"}`;
    rows.push(batch);
  }

  // --- GroupSort on a hidden layer's activations
  if (want("groupsort.128x512")) {
    const n = 128 * 512;
    const x = randomBuffer(n), y = arena.alloc(n * 4), dy = randomBuffer(n), dx = arena.alloc(n * 4), idx = arena.alloc(64);
    rows.push(measure("groupsort.128x512", build, 0, () => k.groupsortForward(n, 2, x, y), opts));
    rows.push(measure("groupsort.128x512.bwd", build, 0, () => k.groupsortBackward(n, 2, x, dy, dx, idx), opts));
  }

  if (threaded) peak = threaded.corePeak * threaded.threads;
  if (Number.isFinite(peak)) for (const r of rows) if (r.gflops !== null && r.name !== "simd.peak") r.ofPeak = r.gflops / peak;
  return rows;
}
