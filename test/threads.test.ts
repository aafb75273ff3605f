// Kernel worker threads: GEMM, SYRK and Björck split between threads give
// bit-for-bit the results of the one-thread kernels, and the split really
// happens. The one-thread reference is a second instance of the same build
// with its own memory, where splitting is off (as with --threads 1).
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { engine, setThreads } from "../src/engine/engine.js";
import { instantiate, type Kernels } from "../src/engine/wasm.js";
import { SEED, rng, uniform } from "./helpers.js";

const e = engine();
const single = instantiate(e.build, 64);

/** Waits (without blocking the event loop) until every worker is waiting for jobs. */
async function workersReady(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.is(e.activeThreads(), e.threads, "every worker started within 20 s");
}

/** A tiny bump allocator over one instance's memory, for the one-thread reference. */
function bump(kernels: Kernels, memory: WebAssembly.Memory) {
  let top = kernels.heapBase();
  return {
    put(values: ArrayLike<number>): number {
      const ptr = top;
      top += Math.ceil((values.length * 4) / 64) * 64 + 64;
      if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
      new Float32Array(memory.buffer, ptr, values.length).set(values);
      return ptr;
    },
    get: (ptr: number, n: number) => Float32Array.from(new Float32Array(memory.buffer, ptr, n)),
    reset: () => { top = kernels.heapBase(); },
  };
}
const ref = bump(single.kernels, single.memory);
/** Workspace for every call below (the largest is Björck on 784x512). */
const WORK_BYTES = 16 << 20;

/** Runs the same kernel call on the threaded engine and on the one-thread instance; returns both outputs. */
function both(inputs: Float32Array[], outLength: number,
  call: (k: Kernels, ptrs: number[], out: number, work: number) => void): [Float32Array, Float32Array] {
  const ptrs = inputs.map((v) => {
    const p = e.arena.alloc(v.length * 4);
    e.arena.f32(p, v.length).set(v);
    return p;
  });
  const out = e.arena.alloc(outLength * 4);
  e.arena.f32(out, outLength).fill(0.5);
  const work = e.workspace(WORK_BYTES);
  call(e.kernels, ptrs, out, work);
  const threaded = Float32Array.from(e.arena.f32(out, outLength));
  inputs.forEach((v, i) => e.arena.free(ptrs[i], v.length * 4));
  e.arena.free(out, outLength * 4);

  ref.reset();
  const rp = inputs.map((v) => ref.put(v));
  const rout = ref.put(new Float32Array(outLength).fill(0.5));
  const rwork = ref.put(new Float32Array(WORK_BYTES / 4));
  call(single.kernels, rp, rout, rwork);
  return [threaded, ref.get(rout, outLength)];
}

function assertBitIdentical(a: Float32Array, b: Float32Array, what: string): void {
  assert.is(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.unreachable(`${what}: [${i}] = ${a[i]} threaded, ${b[i]} on one thread`);
  }
}

const f32 = (seed: number, n: number) => Float32Array.from(uniform(rng(seed), n));

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

test("the thread count is fixed once the engine has started, and validated", () => {
  assert.throws(() => setThreads(0), /--threads must be a whole number ≥ 1/);
  assert.throws(() => setThreads(e.threads + 1), /fixed once the engine has started/);
  setThreads(e.threads); // the same value is accepted
});

test.run();
