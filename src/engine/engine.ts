// Engine start-up in Node: the chosen WASM build, its kernels, the arena over
// its memory, and the kernel worker threads, created once per process on first
// use. The browser bundle replaces this module with engine-browser.ts.

import os from "node:os";
import { Worker } from "node:worker_threads";
import { Arena } from "./arena.js";
import { chooseBuild, instantiate, type Kernels } from "./wasm.js";
import { type Engine, assembleEngine } from "./engine-core.js";
import { LipvaeError } from "../errors.js";

export type { Engine } from "./engine-core.js";

let engineInstance: Engine | null = null;
let requestedThreads: number | null = null;

/**
 * Sets the kernel thread count before the engine starts (default: every core,
 * or LIPVAE_THREADS). Results do not depend on it: shares are bit-identical.
 */
export function setThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new LipvaeError(`--threads must be a whole number ≥ 1 (got ${threads})`);
  if (engineInstance && engineInstance.threads !== threads) {
    throw new LipvaeError("the thread count is fixed once the engine has started; set it before any computation");
  }
  requestedThreads = threads;
}

function threadCount(): number {
  if (requestedThreads !== null) return requestedThreads;
  const env = process.env.LIPVAE_THREADS;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new LipvaeError(`LIPVAE_THREADS must be a whole number ≥ 1 (got '${env}')`);
    return n;
  }
  return os.availableParallelism();
}

/** The process-wide engine, loaded on first use. */
export function engine(): Engine {
  if (engineInstance) return engineInstance;
  const build = chooseBuild();
  const { memory, module, kernels } = instantiate(build);
  const arena = new Arena(memory, kernels.heapBase());
  const threads = threadCount();
  const control = startWorkers(threads, module, memory, kernels, arena);
  engineInstance = assembleEngine(build, kernels, arena, threads, control);
  return engineInstance;
}

/** Starts threads-1 workers; returns the control block's address (0 with one thread). */
function startWorkers(threads: number, module: WebAssembly.Module, memory: WebAssembly.Memory,
  kernels: Kernels, arena: Arena): number {
  if (threads <= 1) return 0;
  const controlBytes = kernels.threadsControlBytes();
  const control = arena.alloc(controlBytes);
  new Int32Array(memory.buffer, control, controlBytes / 4).fill(0);
  const workspaces = arena.alloc((threads - 1) * kernels.gemmWorkspaceBytes());
  kernels.threadsInit(control, threads, workspaces);
  const script = new URL("./worker.js", import.meta.url);
  for (let tid = 1; tid < threads; tid++) {
    const worker = new Worker(script, { workerData: { module, memory, control, tid } });
    // Workers never keep the process alive; until one is waiting, the kernels
    // simply do not split (the result is the same either way).
    worker.unref();
    worker.on("error", (err) => {
      process.emitWarning(`lipvae: kernel worker ${tid} failed (${err.message}); continuing with fewer threads`);
    });
  }
  return control;
}

/** Async-friendly alias used by the CLI. */
export async function loadEngine(): Promise<Engine> {
  return engine();
}
