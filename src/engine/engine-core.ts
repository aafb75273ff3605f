// The platform-neutral part of engine start-up: given a build's kernels and the
// arena over their memory, the Engine object every tensor operation uses. The
// Node loader (engine.ts: files, worker threads, shared memory) and the browser
// loader (engine-browser.ts: fetch, one thread, a plain memory) both end here.

import type { Arena } from "./arena.js";
import type { Kernels, WasmBuild } from "./wasm-core.js";

/** The loaded kernels and the arena over their memory (one per process or page). */
export interface Engine {
  /** The flavour of SIMD (the browser's builds use the same names as Node's). */
  build: WasmBuild;
  kernels: Kernels;
  arena: Arena;
  /** Threads the kernels may split large GEMMs over (this one included). */
  threads: number;
  /** Threads actually taking part now (1 + workers that are waiting for jobs). */
  activeThreads(): number;
  /** Kernel calls split between threads so far. */
  splitJobs(): number;
  /** A scratch block reused by kernels that need workspace (grown on demand). */
  workspace(bytes: number): number;
}

/**
 * Assembles the Engine; `control` is the worker pool's control block in shared
 * memory, 0 when the kernels run on this thread only.
 */
export function assembleEngine(build: WasmBuild, kernels: Kernels, arena: Arena, threads: number, control: number): Engine {
  let wsPtr = 0, wsBytes = 0;
  return {
    build, kernels, arena, threads,
    activeThreads: () => (control === 0 ? 1 : 1 + kernels.threadsReady(control)),
    splitJobs: () => (control === 0 ? 0 : kernels.threadsJobs(control)),
    workspace(bytes: number): number {
      if (bytes > wsBytes) {
        if (wsBytes > 0) arena.free(wsPtr, wsBytes);
        wsBytes = bytes;
        wsPtr = arena.alloc(bytes);
      }
      return wsPtr;
    },
  };
}
