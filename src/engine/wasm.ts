// Loads one of the two kernel builds into a memory that TypeScript owns.
//
// build/lipvae-simd.wasm     baseline WASM SIMD (runs everywhere Node 20 does)
// build/lipvae-relaxed.wasm  relaxed SIMD: f32x4.relaxed_madd lowers to a real FMA
//
// Node 20 hides relaxed SIMD behind --experimental-wasm-relaxed-simd; we turn
// the V8 flag on at run time, then use the relaxed build only if it validates
// and passes a numeric self-check against the baseline build. LIPVAE_WASM=simd
// or =relaxed forces a build (the test runner uses it to test both).

import { readFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import * as loader from "@assemblyscript/loader";
import { projectRoot } from "../paths.js";

export type WasmBuild = "simd" | "relaxed";

/** The kernel exports (see assembly/index.ts); pointers are byte offsets. */
export interface Kernels {
  gemm(transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, work: number): void;
  syrk(trans: number, n: number, k: number, alpha: number, a: number, lda: number,
    beta: number, c: number, ldc: number, work: number): void;
  gemmWorkspaceBytes(): number;
  bjorckForward(r: number, c: number, iters: number, beta: number, w: number, out: number, save: number, work: number): void;
  bjorckForwardTol(r: number, c: number, iters: number, beta: number, tol: number, w: number, out: number, save: number, work: number): number;
  bjorckBackward(r: number, c: number, iters: number, beta: number, save: number, gOut: number, gIn: number, work: number): void;
  bjorckWorkspaceBytes(r: number, c: number): number;
  bjorckSaveFloats(r: number, c: number, iters: number): number;
  gemm64(flags: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, work: number): void;
  gemm64WorkspaceBytes(): number;
  bjorckSpectralCoeffs(n: number, lam: number, iters: number, beta: number, q: number, dd: number, work: number): void;
  bjorckSpectralWorkspaceBytes(n: number, iters: number): number;
  eigSym(n: number, a: number, lda: number, w: number, z: number, work: number, workBytes: number): number;
  eigSymWorkspaceBytes(n: number): number;
  choleskyLower(n: number, a: number, lda: number): number;
  groupsortForward(n: number, g: number, x: number, y: number): void;
  groupsortBackward(n: number, g: number, x: number, dy: number, dx: number, idx: number): void;
  scale(n: number, alpha: number, x: number): void;
  axpby(n: number, alpha: number, x: number, beta: number, y: number): void;
  addRowBias(m: number, n: number, x: number, bias: number, alpha: number, out: number): void;
  columnSums(m: number, n: number, x: number, out: number): void;
  sigmoid(n: number, x: number, y: number): void;
  softplus(n: number, x: number, y: number): void;
  binaryMap(op: number, n: number, a: number, b: number, out: number): void;
  unaryMap(op: number, n: number, x: number, alpha: number, beta: number, out: number): void;
  adamStep(n: number, p: number, g: number, m: number, v: number, b1: number, b2: number,
    stepSize: number, vScale: number, eps: number): void;
  peakMulAdd(iters: number, ptr: number): void;
  threadsControlBytes(): number;
  threadsInit(ctrl: number, threads: number, workspaces: number): void;
  threadsReady(ctrl: number): number;
  threadsJobs(ctrl: number): number;
  threadsStop(ctrl: number): void;
  threadsTakenBack(): number;
  workerLoop(ctrl: number, tid: number): void;
  heapBase(): number;
  hasRelaxedSimd(): number;
}

/**
 * Parameter count of every kernel. The type makes TypeScript check each count
 * against the interface above; test/kernels checks the same counts against the
 * functions the WASM module exports, so interface and module cannot drift.
 */
export const KERNEL_ARITY: { [K in keyof Kernels]: Parameters<Kernels[K]>["length"] } = {
  gemm: 14, syrk: 10, gemmWorkspaceBytes: 0,
  bjorckForward: 8, bjorckForwardTol: 9, bjorckBackward: 8, bjorckWorkspaceBytes: 2, bjorckSaveFloats: 3,
  gemm64: 13, gemm64WorkspaceBytes: 0, bjorckSpectralCoeffs: 7, bjorckSpectralWorkspaceBytes: 2,
  eigSym: 7, eigSymWorkspaceBytes: 1, choleskyLower: 3,
  groupsortForward: 4, groupsortBackward: 6,
  scale: 3, axpby: 5, addRowBias: 6, columnSums: 4, sigmoid: 3, softplus: 3, binaryMap: 5, unaryMap: 6, adamStep: 10,
  peakMulAdd: 2, heapBase: 0, hasRelaxedSimd: 0,
  threadsControlBytes: 0, threadsInit: 3, threadsReady: 1, threadsJobs: 1, threadsStop: 1, threadsTakenBack: 0, workerLoop: 2,
};

/** flags of the gemm64 kernel (assembly/gemm64.ts). */
export const G64 = { TRANS_A: 1, TRANS_B: 2, A_F32: 4, B_F32: 8, LOWER: 16 } as const;

export interface WasmInstance {
  build: WasmBuild;
  memory: WebAssembly.Memory;
  /** The compiled module, which worker threads instantiate over the same memory. */
  module: WebAssembly.Module;
  kernels: Kernels;
}

const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";
// Compile kernels with the optimising tier straight away: V8 otherwise runs a
// function's first (possibly long) calls in Liftoff code, 2-3x slower.
const NO_LIFTOFF_FLAG = "--no-liftoff";

function wasmPath(build: WasmBuild): string {
  return path.join(projectRoot, "build", `lipvae-${build}.wasm`);
}

function readBinary(build: WasmBuild): Buffer {
  try {
    return readFileSync(wasmPath(build));
  } catch {
    throw new Error(`WASM kernels not found at ${wasmPath(build)}: run \`npm run build\` first.`);
  }
}

/** Instantiates one build with a fresh memory of `initialPages` 64 KiB pages. */
export function instantiate(build: WasmBuild, initialPages = 256): WasmInstance {
  const binary = readBinary(build);
  v8.setFlagsFromString(NO_LIFTOFF_FLAG);
  if (build === "relaxed") v8.setFlagsFromString(RELAXED_FLAG);
  if (!WebAssembly.validate(binary)) {
    throw new Error(`this Node (${process.version}) cannot run the ${build} WASM build`);
  }
  const memory = new WebAssembly.Memory({ initial: initialPages, maximum: 65536, shared: true });
  const module = new WebAssembly.Module(binary);
  return { build, memory, module, kernels: instantiateKernels(module, memory) };
}

/** The kernels of a compiled module over a given shared memory (also used by worker threads). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const { exports } = loader.instantiateSync<Record<string, unknown>>(module, { env: { memory } });
  return exports as unknown as Kernels;
}

/** True when relaxed SIMD validates here and agrees numerically with the baseline. */
export function relaxedUsable(): boolean {
  try {
    const relaxed = instantiate("relaxed", 64);
    const simd = instantiate("simd", 64);
    return selfCheckAgrees(relaxed, simd);
  } catch {
    return false;
  }
}

/** A 37x29x41 GEMM on both builds must agree to FMA rounding. */
function selfCheckAgrees(x: WasmInstance, y: WasmInstance): boolean {
  const m = 37, n = 29, k = 41;
  const results = [x, y].map((inst) => {
    const base = inst.kernels.heapBase();
    const a = base, b = a + m * k * 4, c = b + k * n * 4, work = c + m * n * 4;
    const view = new Float32Array(inst.memory.buffer);
    for (let i = 0; i < m * k; i++) view[a / 4 + i] = Math.sin(i * 0.37);
    for (let i = 0; i < k * n; i++) view[b / 4 + i] = Math.cos(i * 0.11);
    inst.kernels.gemm(0, 0, m, n, k, 1, a, k, b, n, 0, c, n, work);
    return Float32Array.from(new Float32Array(inst.memory.buffer, c, m * n));
  });
  return results[0].every((v, i) => Math.abs(v - results[1][i]) <= 1e-4 * (1 + Math.abs(v)));
}

/** The build to use: LIPVAE_WASM if set, else relaxed where usable, else baseline. */
export function chooseBuild(): WasmBuild {
  const forced = process.env.LIPVAE_WASM;
  if (forced === "simd" || forced === "relaxed") return forced;
  if (forced && forced !== "auto") {
    throw new Error(`LIPVAE_WASM must be simd, relaxed or auto (got '${forced}')`);
  }
  return relaxedUsable() ? "relaxed" : "simd";
}
