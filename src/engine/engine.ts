// Engine start-up: the chosen WASM build, its kernels and the arena over its
// memory, created once per process on first use.

import { Arena } from "./arena.js";
import { chooseBuild, instantiate, type Kernels, type WasmBuild } from "./wasm.js";

/** The loaded kernels and the arena over their memory (one per process). */
export interface Engine {
  build: WasmBuild;
  kernels: Kernels;
  arena: Arena;
  /** A scratch block reused by kernels that need workspace (grown on demand). */
  workspace(bytes: number): number;
}

let engineInstance: Engine | null = null;

/** The process-wide engine, loaded on first use. */
export function engine(): Engine {
  if (engineInstance) return engineInstance;
  const build = chooseBuild();
  const { memory, kernels } = instantiate(build);
  const arena = new Arena(memory, kernels.heapBase());
  let wsPtr = 0, wsBytes = 0;
  engineInstance = {
    build, kernels, arena,
    workspace(bytes: number): number {
      if (bytes > wsBytes) {
        if (wsBytes > 0) arena.free(wsPtr, wsBytes);
        wsBytes = bytes;
        wsPtr = arena.alloc(bytes);
      }
      return wsPtr;
    },
  };
  return engineInstance;
}

/** Async-friendly alias used by the CLI. */
export async function loadEngine(): Promise<Engine> {
  return engine();
}
