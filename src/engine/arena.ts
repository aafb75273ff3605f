// The arena: TypeScript's allocator for the WASM linear memory.
//
// Kernels never allocate; every buffer they touch comes from here. Blocks are
// 64-byte aligned (whole cache lines, v128-aligned) and freed blocks go onto a
// free list keyed by their exact size. A training step allocates the same
// shapes every time, so after the first step every request is a free-list hit
// and memory stops growing.
//
// memory.grow detaches every existing typed-array view, so views are never
// cached across calls: Arena.f32() hands out a view over the current buffer.

import { LipvaeError } from "../errors.js";

const ALIGN = 64;
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

export class Arena {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private liveBytes = 0;
  private f32View: Float32Array;

  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.top = roundUp(heapBase, ALIGN);
    this.f32View = new Float32Array(memory.buffer);
  }

  /** Allocates `bytes` (rounded up to 64) and returns the byte offset. */
  alloc(bytes: number): number {
    const size = roundUp(Math.max(bytes, 1), ALIGN);
    const list = this.freeLists.get(size);
    this.liveBytes += size;
    if (list && list.length > 0) return list.pop()!;
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
      const want = Math.min(MAX_PAGES, Math.max(total, Math.ceil((have / PAGE) * 1.25)));
      this.memory.grow(want - have / PAGE);
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

  /** A Float32Array over [ptr, ptr + 4*length), valid until the next allocation. */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /** A view over the whole memory (re-created after growth). */
  get heapF32(): Float32Array {
    if (this.f32View.buffer !== this.memory.buffer) this.f32View = new Float32Array(this.memory.buffer);
    return this.f32View;
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
