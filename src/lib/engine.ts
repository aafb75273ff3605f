// Engine start-up for library users: the kernels load lazily on first use anyway;
// calling this first fixes the thread count and reports the WASM build chosen.

import { engine, setThreads } from "../engine/engine.js";
import type { WasmBuild } from "../engine/wasm.js";

export interface EngineInfo {
  /** "relaxed" (FMA) where this Node validates it and it passes a self-check, else "simd". */
  build: WasmBuild;
  /** Threads large GEMMs are split over (this one included). */
  threads: number;
}

/**
 * Loads the WASM kernels and starts the kernel worker threads (default: every core,
 * or LIPVAE_THREADS). The thread count can only be chosen before the first computation.
 */
export function startEngine(opts: { threads?: number } = {}): EngineInfo {
  if (opts.threads !== undefined) setThreads(opts.threads);
  const { build, threads } = engine();
  return { build, threads };
}
