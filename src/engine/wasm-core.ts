// The platform-neutral half of loading the kernels: what the WASM module
// exports (the Kernels interface and each export's arity), the gemm64 flags,
// and the numeric self-check that decides whether the relaxed-SIMD build may
// be used. No Node modules here: the browser loader (engine-browser.ts) and
// the Node loader (wasm.ts) both build on it.

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
  bjorckSpectralHadamard(n: number, lam: number, iters: number, beta: number, m: number, sm: number, work: number): void;
  spectralRowSquares(rows: number, cols: number, v: number, lam: number, v32: number): void;
  spectralScaleRows(rows: number, cols: number, q: number, x: number, xF32: number, out: number): void;
  eigSym(n: number, a: number, lda: number, w: number, z: number, work: number, workBytes: number): number;
  eigSymWorkspaceBytes(n: number): number;
  eigSymBatch(count: number, problems: number): void;
  eigProblemBytes(): number;
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
  /** FLOPs the f32 GEMM/SYRK calls (and gemm64's) of this instance were asked for, since it started (assembly/flops.ts). */
  flopsF32(): number;
  flopsF64(): number;
  cbLogLik(n: number, h: number, x: number, out: number, d: number): void;
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
  eigSym: 7, eigSymWorkspaceBytes: 1, eigSymBatch: 2, eigProblemBytes: 0, choleskyLower: 3,
  groupsortForward: 4, groupsortBackward: 6,
  scale: 3, axpby: 5, addRowBias: 6, columnSums: 4, sigmoid: 3, softplus: 3, binaryMap: 5, unaryMap: 6, adamStep: 10,
  peakMulAdd: 2, flopsF32: 0, flopsF64: 0, heapBase: 0, hasRelaxedSimd: 0,
  cbLogLik: 5,
  threadsControlBytes: 0, threadsInit: 3, threadsReady: 1, threadsJobs: 1, threadsStop: 1, threadsTakenBack: 0, workerLoop: 2,
  bjorckSpectralHadamard: 7, spectralRowSquares: 5, spectralScaleRows: 6,
};

/** flags of the gemm64 kernel (assembly/gemm64.ts). */
export const G64 = { TRANS_A: 1, TRANS_B: 2, A_F32: 4, B_F32: 8, LOWER: 16 } as const;

/** A module's kernels over the memory they run in. */
export interface KernelInstance {
  memory: WebAssembly.Memory;
  kernels: Kernels;
}

/** A 37x29x41 GEMM on both builds must agree to FMA rounding. */
export function selfCheckAgrees(x: KernelInstance, y: KernelInstance): boolean {
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
