// eigSymBatch (assembly/eig.ts) from TypeScript: the one place that knows the
// layout of its problem records, {n, a, lda, w, z, work, workBytes, status},
// 4 bytes each.

import type { Kernels } from "./wasm-core.js";

const FIELDS = 8;

/** One eigSym problem: the n x n matrix at a (leading dimension lda), eigenvalues to w, eigenvectors (rows) to z. */
export interface EigProblem {
  n: number;
  a: number;
  lda: number;
  w: number;
  z: number;
  /** Its own workspace: problems may run at the same time on different threads. */
  work: number;
  workBytes: number;
}

/** Bytes of the record table eigSymBatch needs for `count` problems. */
export function eigBatchTableBytes(count: number): number {
  return count * 4 * FIELDS;
}

/**
 * Runs eigSymBatch on `problems`, their records written into `table`
 * (eigBatchTableBytes(problems.length) bytes); returns each problem's eigSym status.
 */
export function eigSymBatch(k: Kernels, memory: WebAssembly.Memory, table: number, problems: readonly EigProblem[]): number[] {
  if (k.eigProblemBytes() !== 4 * FIELDS) throw new Error("eigSymBatch's record layout changed: update src/engine/eig-batch.ts");
  problems.forEach(({ n, a, lda, w, z, work, workBytes }, i) =>
    new Int32Array(memory.buffer, table + i * 4 * FIELDS, FIELDS).set([n, a, lda, w, z, work, workBytes, -1]));
  k.eigSymBatch(problems.length, table);
  const records = new Int32Array(memory.buffer, table, problems.length * FIELDS);
  return problems.map((_, i) => records[i * FIELDS + FIELDS - 1]);
}
