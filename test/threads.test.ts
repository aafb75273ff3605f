// Kernel worker threads: GEMM, SYRK, f64 GEMM, Björck, Adam and the f64 eigensolver split between threads give
// bit-for-bit the results of the one-thread kernels, and the split really
// happens. The one-thread reference is a second instance of the same build
// with its own memory, where splitting is off (as with --threads 1).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { engine, setThreads } from "../src/engine/engine.js";
import { instantiate, type Kernels } from "../src/engine/wasm.js";
import { G64 } from "../src/engine/wasm-core.js";
import { Arena } from "../src/engine/arena.js";
import { type EigProblem, eigBatchTableBytes, eigSymBatch } from "../src/engine/eig-batch.js";
import { SEED, rng, uniform } from "./helpers.js";

const e = engine();
const single = instantiate(e.build, 64);

/** Waits (without blocking the event loop) until every worker is waiting for jobs. */
async function workersReady(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(e.activeThreads(), e.threads, "every worker started within 20 s");
}

/** The one-thread reference's memory, managed like the engine's. */
const ref = new Arena(single.memory, single.kernels.heapBase());
/** Workspace for every call below (the largest is Björck on 784x512). */
const WORK_BYTES = 16 << 20;

type KernelCall = (k: Kernels, ptrs: number[], out: number, work: number) => void;

/** Copies the inputs into `arena`, runs the call with an output pre-filled with 0.5, returns the output. */
function runOn(arena: Arena, kernels: Kernels, work: number, inputs: Float32Array[], outLength: number, call: KernelCall): Float32Array {
  const put = (values: ArrayLike<number>) => {
    const p = arena.alloc(values.length * 4);
    arena.f32(p, values.length).set(values);
    return p;
  };
  const ptrs = inputs.map(put);
  const out = put(new Float32Array(outLength).fill(0.5));
  call(kernels, ptrs, out, work);
  const result = Float32Array.from(arena.f32(out, outLength));
  inputs.forEach((v, i) => arena.free(ptrs[i], v.length * 4));
  arena.free(out, outLength * 4);
  return result;
}

/** Runs the same kernel call on the threaded engine and on the one-thread instance; returns both outputs. */
function both(inputs: Float32Array[], outLength: number, call: KernelCall): [Float32Array, Float32Array] {
  const threaded = runOn(e.arena, e.kernels, e.workspace(WORK_BYTES), inputs, outLength, call);
  const refWork = ref.alloc(WORK_BYTES);
  const one = runOn(ref, single.kernels, refWork, inputs, outLength, call);
  ref.free(refWork, WORK_BYTES);
  return [threaded, one];
}

function assertBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: [${i}] = ${a[i]} threaded, ${b[i]} on one thread`);
  }
}

const f32 = (seed: number, n: number) => Float32Array.from(uniform(rng(seed), n));

test("GEMM with few rows (B read in place when stored k x n) split between threads is bit-identical to one thread", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  for (const [ta, tb, m, n, k] of [[0, 1, 25, 512, 784], [1, 1, 25, 784, 512], [0, 0, 25, 512, 512], [1, 0, 31, 300, 257], [0, 0, 32, 20, 4000]]) {
    const a = f32(m + n, m * k), b = f32(k + 1, k * n);
    const [threaded, one] = both([a, b], m * n, (kern, [pa, pb], pc, work) =>
      kern.gemm(ta, tb, m, n, k, 1.25, pa, ta ? m : k, pb, tb ? k : n, 0.5, pc, n, work));
    assertBitIdentical(threaded, one, `gemm ta=${ta} tb=${tb} ${m}x${n}x${k}`);
  }
  assert.ok(e.threads === 1 || e.splitJobs() >= jobsBefore + 4, "the few-row products were split between threads");
});

test("GEMM split between threads is bit-identical to one thread (all transposes, edge sizes)", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }),
      fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 20, max: 300 }),
      fc.constantFrom(0, 1, 0.5), fc.integer(),
      (ta, tb, m, n, k, beta, seed) => {
        const a = f32(seed, m * k), b = f32(seed + 1, k * n);
        const [threaded, one] = both([a, b], m * n, (kern, [pa, pb], pc, work) =>
          kern.gemm(ta, tb, m, n, k, 1.25, pa, ta ? m : k, pb, tb ? k : n, beta, pc, n, work));
        assertBitIdentical(threaded, one, `gemm ta=${ta} tb=${tb} ${m}x${n}x${k} beta=${beta}`);
      },
    ),
    { seed: SEED, numRuns: 40 },
  );
  assert.ok(e.threads === 1 || e.splitJobs() > jobsBefore, "some GEMMs were split between threads");
});

test("SYRK split into equal-area bands is bit-identical to one thread", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  for (const [trans, n, k] of [[0, 512, 784], [1, 512, 784], [0, 333, 257], [1, 129, 1000], [0, 64, 512]]) {
    const a = f32(n + k, n * k);
    const [threaded, one] = both([a], n * n, (kern, [pa], pc, work) =>
      kern.syrk(trans, n, k, 1, pa, trans ? n : k, 0, pc, n, work));
    assertBitIdentical(threaded, one, `syrk trans=${trans} ${n}x${k}`);
  }
  assert.ok(e.threads === 1 || e.splitJobs() > jobsBefore, "some SYRKs were split between threads");
});

test("Björck forward and backward (paper layer shapes) are bit-identical to one thread", async () => {
  await workersReady();
  for (const [r, c] of [[512, 784], [784, 512], [512, 512]]) {
    const iters = 3;
    const w = f32(r * 7 + c, r * c).map((v) => v * 0.05);
    const g = f32(r + c, r * c);
    const saveFloats = e.kernels.bjorckSaveFloats(r, c, iters);
    assert.ok(e.kernels.bjorckWorkspaceBytes(r, c) <= WORK_BYTES, "workspace large enough");
    // out = [forward result | saved state | gradient], all from one call sequence.
    const [threaded, one] = both([w, g], r * c * 2 + saveFloats, (kern, [pw, pg], out, work) => {
      const save = out + r * c * 4, gIn = save + saveFloats * 4;
      kern.bjorckForward(r, c, iters, 0.5, pw, out, save, work);
      kern.bjorckBackward(r, c, iters, 0.5, save, pg, gIn, work);
    });
    assertBitIdentical(threaded, one, `bjorck ${r}x${c}`);
  }
});

/** gemm64 on an instance, C pre-filled with `c0`; operand i is f32 when its flag is set. LOWER uses A for both operands. */
function gemm64On(arena: Arena, kernels: Kernels, flags: number, m: number, n: number, k: number,
  a: Float64Array, b: Float64Array, beta: number, c0: Float64Array): Float64Array {
  const put = (values: Float64Array, isF32: boolean) => {
    const p = arena.alloc(values.length * (isF32 ? 4 : 8));
    (isF32 ? arena.f32(p, values.length) : arena.f64(p, values.length)).set(values);
    return p;
  };
  const aF32 = (flags & G64.A_F32) !== 0, bF32 = (flags & G64.B_F32) !== 0, lower = (flags & G64.LOWER) !== 0;
  const ta = (flags & G64.TRANS_A) !== 0, tb = (flags & G64.TRANS_B) !== 0;
  const pa = put(a, aF32), pb = lower ? pa : put(b, bF32), pc = put(c0, false);
  const workBytes = kernels.gemm64WorkspaceBytes(), work = arena.alloc(workBytes);
  kernels.gemm64(flags, m, n, k, 1.25, pa, ta ? m : k, pb, lower ? (ta ? m : k) : (tb ? k : n), beta, pc, n, work);
  const out = Float64Array.from(arena.f64(pc, m * n));
  arena.free(pa, a.length * (aF32 ? 4 : 8));
  if (!lower) arena.free(pb, b.length * (bF32 ? 4 : 8));
  arena.free(pc, m * n * 8);
  arena.free(work, workBytes);
  return out;
}

test("gemm64 split between threads is bit-identical to one thread", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  const { TRANS_A: TA, TRANS_B: TB, A_F32: AF, B_F32: BF, LOWER } = G64;
  // The spectral Björck's shapes (Gram in lower mode, V = U^T X), odd sizes, every
  // transpose and operand type; the smallest are below the split threshold.
  const cases: [number, number, number, number, number][] = [
    [LOWER | TB | AF | BF, 512, 512, 784, 0], [LOWER | TA | AF | BF, 512, 512, 784, 0],
    [BF, 512, 784, 512, 0], [BF | TB, 512, 784, 512, 0.5], [BF, 512, 512, 512, 0],
    [LOWER | TB, 301, 301, 129, 0.5], [LOWER | TA, 97, 97, 400, 0], [0, 333, 257, 301, 1],
    [TA | TB | AF, 130, 97, 211, 0.5], [TA | BF, 67, 203, 155, 0], [TB | AF | BF, 9, 13, 17, 0],
  ];
  for (const [flags, m, n, k, beta] of cases) {
    const seed = m * 31 + n * 7 + k + flags;
    // f32 operands hold f32-representable values, so both instances see the same inputs.
    const a = Float64Array.from(f32(seed, m * k)), b = Float64Array.from(f32(seed + 1, k * n));
    const c0 = Float64Array.from(f32(seed + 2, m * n));
    const threaded = gemm64On(e.arena, e.kernels, flags, m, n, k, a, b, beta, c0);
    const one = gemm64On(ref, single.kernels, flags, m, n, k, a, b, beta, c0);
    for (let i = 0; i < one.length; i++) {
      if (!Object.is(threaded[i], one[i])) assert.unreachable(`gemm64 flags=${flags} ${m}x${n}x${k} beta=${beta}: [${i}] = ${threaded[i]} threaded, ${one[i]} on one thread`);
    }
  }
  assert.ok(e.threads === 1 || e.splitJobs() >= jobsBefore + 5, "the large gemm64 calls were split between threads");
});

/** eigSym of the symmetric n x n matrix a on an instance: [status, eigenvalues..., eigenvectors...] as one array. */
function eigOn(arena: Arena, kernels: Kernels, n: number, a: Float64Array, workBytes: number): Float64Array {
  const pa = arena.alloc(n * n * 8), pw = arena.alloc(n * 8), pz = arena.alloc(n * n * 8), work = arena.alloc(workBytes);
  arena.f64(pa, n * n).set(a);
  const status = kernels.eigSym(n, pa, n, pw, pz, work, workBytes);
  const out = Float64Array.from([status, ...arena.f64(pw, n), ...arena.f64(pz, n * n)]);
  for (const [p, bytes] of [[pa, n * n * 8], [pw, n * 8], [pz, n * n * 8], [work, workBytes]]) arena.free(p, bytes);
  return out;
}

/** A symmetric n x n matrix: Gaussian-like entries, or a rank-deficient Gram B Bᵀ. */
function symmetric(n: number, seed: number, rank: number): Float64Array {
  const b = uniform(rng(seed), n * rank), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let t = 0; t < rank; t++) s += b[i * rank + t] * b[j * rank + t];
      a[i * n + j] = a[j * n + i] = rank === n ? b[i * n + j] : s;
    }
  }
  return a;
}

test("the f64 eigensolver split between threads is bit-identical to one thread", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  // Sizes below, at and above the split threshold and not multiples of 8 (the
  // replay's tail columns); the smallest workspace forces many replays of a short log.
  for (const [n, rank, small] of [[512, 512, 0], [512, 300, 0], [333, 333, 1], [97, 97, 0], [130, 20, 1], [95, 95, 0], [7, 7, 0]]) {
    const a = symmetric(n, n + rank, rank);
    const workBytes = small ? 12 * n * 8 + 24 * (n + 2) : e.kernels.eigSymWorkspaceBytes(n);
    const threaded = eigOn(e.arena, e.kernels, n, a, workBytes);
    const one = eigOn(ref, single.kernels, n, a, workBytes);
    assert.is(one[0], 0, `eigSym ${n} (rank ${rank}) converged`);
    for (let i = 0; i < one.length; i++) {
      if (!Object.is(threaded[i], one[i])) assert.unreachable(`eigSym ${n} (rank ${rank}${small ? ", small log" : ""}): [${i}] = ${threaded[i]} threaded, ${one[i]} on one thread`);
    }
  }
  assert.ok(e.threads === 1 || e.splitJobs() > jobsBefore + 1000, "the eigensolver's passes were split between threads");
});

/** eigSymBatch on `mats` in `arena`: per problem, [status, eigenvalues, eigenvectors] as eigOn gives them. */
function eigBatchOn(arena: Arena, kernels: Kernels, mats: { n: number; a: Float64Array; workBytes: number }[]): Float64Array[] {
  const tableBytes = eigBatchTableBytes(mats.length), table = arena.alloc(tableBytes);
  const problems = mats.map(({ n, a, workBytes }): EigProblem => {
    const problem = { n, a: arena.alloc(n * n * 8), lda: n, w: arena.alloc(n * 8), z: arena.alloc(n * n * 8), work: arena.alloc(workBytes), workBytes };
    arena.f64(problem.a, n * n).set(a);
    return problem;
  });
  const statuses = eigSymBatch(kernels, arena.memory, table, problems);
  arena.free(table, tableBytes);
  return problems.map(({ n, a, w, z, work, workBytes }, i) => {
    const out = Float64Array.from([statuses[i], ...arena.f64(w, n), ...arena.f64(z, n * n)]);
    for (const [p, bytes] of [[a, n * n * 8], [w, n * 8], [z, n * n * 8], [work, workBytes]]) arena.free(p, bytes);
    return out;
  });
}

test("eigSymBatch gives every problem eigSym's bits alone; two large problems run side by side as one job", async () => {
  await workersReady();
  const withNaN = symmetric(100, 5, 100);
  withNaN[3 * 100 + 7] = withNaN[7 * 100 + 3] = NaN;
  // Five large problems (one with NaN: status 1) and two small ones: with two
  // threads four are solved whole, the fifth and the small ones split as usual.
  const mats = [[512, 512, 0], [7, 7, 0], [333, 333, 1], [130, 20, 1], [97, 97, 0], [95, 95, 0]].map(([n, rank, small]) => ({
    n, a: symmetric(n, n + rank, rank), workBytes: small ? 12 * n * 8 + 24 * (n + 2) : e.kernels.eigSymWorkspaceBytes(n),
  }));
  mats.splice(2, 0, { n: 100, a: withNaN, workBytes: e.kernels.eigSymWorkspaceBytes(100) });
  const batch = eigBatchOn(e.arena, e.kernels, mats);
  mats.forEach(({ n, a, workBytes }, i) => {
    const alone = eigOn(ref, single.kernels, n, a, workBytes);
    assert.is(batch[i][0], alone[0], `problem ${i} (n = ${n}): the status of eigSym alone`);
    assert.is(alone[0], n === 100 ? 1 : 0);
    for (let j = 0; j < alone.length; j++) {
      if (!Object.is(batch[i][j], alone[j])) assert.unreachable(`problem ${i} (n = ${n}): [${j}] = ${batch[i][j]} in the batch, ${alone[j]} alone`);
    }
  });
  // Two 512s: one job in all (each solved on one thread); alone, each posts hundreds.
  const pair = [0, 1].map((seed) => ({ n: 512, a: symmetric(512, seed, 512), workBytes: e.kernels.eigSymWorkspaceBytes(512) }));
  const jobsBefore = e.splitJobs();
  const solved = eigBatchOn(e.arena, e.kernels, pair);
  if (e.threads > 1) assert.is(e.splitJobs() - jobsBefore, 1, "the pair ran as one batch job");
  pair.forEach(({ n, a, workBytes }, i) => {
    const alone = eigOn(ref, single.kernels, n, a, workBytes);
    for (let j = 0; j < alone.length; j++) {
      if (!Object.is(solved[i][j], alone[j])) assert.unreachable(`pair ${i}: [${j}] differs from eigSym alone`);
    }
  });
});

test("the Adam update split between threads is bit-identical to one thread (tails, both paths)", async () => {
  await workersReady();
  const jobsBefore = e.splitJobs();
  // Above the split threshold (65,536), with lengths that leave a scalar tail.
  for (const n of [65_536, 100_003, 2 * 65_536 + 5]) {
    const inputs = [f32(n, n), f32(n + 1, n), f32(n + 2, n), f32(n + 3, n).map(Math.abs)];
    const run = (arena: Arena, kernels: Kernels) => {
      const ptrs = inputs.map((values) => {
        const ptr = arena.alloc(values.length * 4);
        arena.f32(ptr, values.length).set(values);
        return ptr;
      });
      const [p, g, m, v] = ptrs;
      kernels.adamStep(n, p, g, m, v, 0.9, 0.999, 1e-3, 1.7, 1e-8);
      const out = [p, m, v].map((ptr) => Float32Array.from(arena.f32(ptr, n)));
      ptrs.forEach((ptr) => arena.free(ptr, n * 4));
      return out;
    };
    const threaded = run(e.arena, e.kernels), one = run(ref, single.kernels);
    ["parameters", "first moments", "second moments"].forEach((what, i) => assertBitIdentical(threaded[i], one[i], `Adam n=${n}: ${what}`));
  }
  assert.ok(e.threads === 1 || e.splitJobs() >= jobsBefore + 3, "the Adam updates were split between threads");
});

test("shares taken back from late (sleeping) workers give the same bits", async () => {
  await workersReady();
  const before = e.kernels.threadsTakenBack();
  // Just above the split threshold (2^20 multiply-adds), the caller's own share takes
  // less time than waking a worker that has gone to sleep (after ~0.1 ms of polling),
  // so the caller usually runs the worker's share as well.
  const m = 64, n = 128, k = 128;
  for (let attempt = 0; attempt < 200 && e.kernels.threadsTakenBack() === before; attempt++) {
    await new Promise((r) => setTimeout(r, 3));
    const a = f32(attempt, m * k), b = f32(attempt + 1, k * n);
    const [threaded, one] = both([a, b], m * n, (kern, [pa, pb], pc, work) => kern.gemm(0, 0, m, n, k, 1, pa, k, pb, n, 0, pc, n, work));
    assertBitIdentical(threaded, one, `gemm ${m}x${n}x${k} after a pause`);
  }
  assert.ok(e.threads === 1 || e.kernels.threadsTakenBack() > before, "some share was taken back");
});

test("the thread count is fixed once the engine has started, and validated", () => {
  assert.throws(() => setThreads(0), /--threads must be a whole number ≥ 1/);
  assert.throws(() => setThreads(e.threads + 1), /fixed once the engine has started/);
  setThreads(e.threads); // the same value is accepted
});

test.run();
