// The arena: TypeScript's allocator for the WASM linear memory.
//
// Kernels never allocate; every buffer they touch comes from here. Blocks are
// 64-byte aligned (whole cache lines, v128-aligned) and freed blocks go onto a
// free list keyed by their exact size. A training step allocates the same
// shapes every time, so after the first step every request is a free-list hit
// and memory stops growing.
//
// The memory is a shared WebAssembly memory. On a plain memory, memory.grow
// detaches every typed-array view taken before it, so an op that read an
// input's view and then allocated its output could read NaN from a detached
// buffer. Growing a shared memory detaches nothing: old views keep covering
// the bytes they were made for, which is all a tensor's view ever needs.
// stressGrowth() makes every allocation grow the memory, so tests can prove
// that no code path depends on memory not growing.

import { LipvaeError } from "../errors.js";

const ALIGN = 64;
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

export class Arena {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private liveBytes = 0;
  /** Testing mode: every allocation is fresh and grows the memory. */
  private growEveryAllocation = false;

  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.top = roundUp(heapBase, ALIGN);
  }

  /**
   * Runs fn with the arena at its growth threshold on every allocation: free
   * lists are bypassed and each block starts at the end of the memory, so each
   * allocation calls memory.grow. For tests only (it wastes memory).
   */
  stressGrowth<T>(fn: () => T): T {
    const before = this.growEveryAllocation;
    this.growEveryAllocation = true;
    try {
      return fn();
    } finally {
      this.growEveryAllocation = before;
    }
  }

  /** How many times the memory has grown (tests use it to prove growth happened). */
  get growCount(): number {
    return this.grows;
  }
  private grows = 0;

  /** Allocates `bytes` (rounded up to 64) and returns the byte offset. */
  alloc(bytes: number): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    const list = this.freeLists.get(size);
    this.liveBytes += size;
    if (this.growEveryAllocation) this.top = Math.max(this.top, this.memory.buffer.byteLength);
    else if (list && list.length > 0) return list.pop()!;
    const ptr = this.top;
    const end = ptr + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      const total = have / PAGE + pages;
      if (total > MAX_PAGES) {
        this.liveBytes -= size;
        throw new LipvaeError(
          `out of WASM memory: a buffer of ${formatBytes(size)} was requested with ` +
          `${formatBytes(this.liveBytes)} in use and a limit of 4 GiB. ` +
          "Use a smaller batch or fewer Björck iterations with saved state (--k).",
        );
      }
      // Grow geometrically so that a growing workload does not grow page by page.
      const want = this.growEveryAllocation ? total : Math.min(MAX_PAGES, Math.max(total, Math.ceil((have / PAGE) * 1.25)));
      this.memory.grow(want - have / PAGE);
      this.grows++;
    }
    this.top = end;
    return ptr;
  }

  /** Returns a block to its free list. */
  free(ptr: number, bytes: number): void {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    this.liveBytes -= size;
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(ptr);
  }

  /** A Float32Array over [ptr, ptr + 4*length); stays valid when the memory grows. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** A Float64Array over [ptr, ptr + 8*length) (ptr 8-byte aligned); stays valid when the memory grows. */
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  stats(): { liveBytes: number; reservedBytes: number; memoryBytes: number } {
    return { liveBytes: this.liveBytes, reservedBytes: this.top, memoryBytes: this.memory.buffer.byteLength };
  }
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
