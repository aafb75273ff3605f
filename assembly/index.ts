// lipvae kernels. Every export works on raw pointers into the linear memory
// that the TypeScript side owns (src/engine/arena.ts); none allocates.

export { gemm, syrk, gemmWorkspaceBytes } from "./gemm";
export { bjorckForward, bjorckForwardTol, bjorckBackward, bjorckWorkspaceBytes, bjorckSaveFloats } from "./bjorck";
export { gemm64, gemm64WorkspaceBytes } from "./gemm64";
export { eigSym, eigSymBatch, eigProblemBytes, eigSymWorkspaceBytes } from "./eig";
export { choleskyLower } from "./cholesky";
export { bjorckSpectralCoeffs, bjorckSpectralHadamard, bjorckSpectralWorkspaceBytes, spectralRowSquares, spectralScaleRows } from "./spectral";
export { groupsortForward, groupsortBackward } from "./groupsort";
export { scale, axpby, addRowBias, columnSums, sigmoid, softplus, adamStep, binaryMap, unaryMap } from "./elementwise";
export { peakMulAdd } from "./peak";
export { flopsF32, flopsF64 } from "./flops";
export { cbLogLik } from "./likelihood";
export { threadsControlBytes, threadsInit, threadsJobs, threadsReady, threadsStop, threadsTakenBack, workerLoop } from "./threads";

/** First byte of linear memory free for the arena (past static data). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~<usize>63;
}

/** 1 when this build uses relaxed-SIMD fused multiply-add. */
export function hasRelaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
