// Engine start-up in a browser (or any host without Node's modules): the
// browser bundle puts this module in place of engine.ts, so tensors, ops and
// the model run unchanged on top of it.
//
// Differences from Node, and why:
// - The module bytes come from the caller (fetch), and compile asynchronously:
//   browsers refuse synchronous compilation of large modules on the main thread.
// - One thread and a plain (non-shared) memory: a shared memory needs a
//   cross-origin-isolated page (COOP/COEP headers), which an ordinary static
//   host does not send. The browser builds (asconfig.json, browser-simd and
//   browser-relaxed) are the same code with the memory declared non-shared.
// - The memory cannot grow (initial = maximum): growing a plain memory would
//   detach the typed-array views tensors hold (see arena.ts), so the page asks
//   for enough memory up front and an allocation beyond it fails loudly.

import { Arena } from "./arena.js";
import { type Engine, assembleEngine } from "./engine-core.js";
import { type Kernels, type KernelInstance, type WasmBuild, selfCheckAgrees } from "./wasm-core.js";
import { LipvaeError } from "../errors.js";

export type { Engine } from "./engine-core.js";

let engineInstance: Engine | null = null;

/** The engine started by startEngine(). */
export function engine(): Engine {
  if (!engineInstance) throw new LipvaeError("the WASM engine has not been started: await startEngine(...) first");
  return engineInstance;
}

export interface StartOptions {
  /** The bytes of one browser build ("simd" or "relaxed"). */
  fetchBuild(build: WasmBuild): Promise<BufferSource>;
  /** Size of the (fixed) memory in bytes; rounded up to 64 KiB pages. */
  memoryBytes: number;
  /** "auto" (default): relaxed where it validates and agrees with the baseline, else simd. */
  build?: WasmBuild | "auto";
}

const PAGE = 65536;

/** Compiles and instantiates a build over a fresh, fixed-size, non-shared memory. */
export async function instantiateBrowserBuild(bytes: BufferSource, pages: number): Promise<KernelInstance> {
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  return { memory, kernels: instance.exports as unknown as Kernels };
}

/** Whether the relaxed build validates here and computes what the baseline build computes. */
async function relaxedUsable(opts: StartOptions, simd: BufferSource): Promise<BufferSource | null> {
  try {
    const relaxed = await opts.fetchBuild("relaxed");
    if (!WebAssembly.validate(relaxed)) return null;
    // 64 pages: at least the 16 the modules declare, and room for the check's matrices.
    const [x, y] = await Promise.all([instantiateBrowserBuild(relaxed, 64), instantiateBrowserBuild(simd, 64)]);
    return selfCheckAgrees(x, y) ? relaxed : null;
  } catch {
    return null;
  }
}

/** Starts the engine once; later calls return the same engine. */
export async function startEngine(opts: StartOptions): Promise<Engine> {
  if (engineInstance) return engineInstance;
  const wanted = opts.build ?? "auto";
  const simd = await opts.fetchBuild("simd");
  let build: WasmBuild = "simd", bytes = simd;
  if (wanted !== "simd") {
    const relaxed = await relaxedUsable(opts, simd);
    if (relaxed) [build, bytes] = ["relaxed", relaxed];
    else if (wanted === "relaxed") throw new LipvaeError("this browser cannot run the relaxed-SIMD build; use the simd build");
  }
  if (!WebAssembly.validate(bytes)) throw new LipvaeError("this browser cannot run WebAssembly SIMD (needs Chrome 91, Firefox 89, Safari 16.4 or later)");
  const pages = Math.max(16, Math.ceil(opts.memoryBytes / PAGE));
  const { memory, kernels } = await instantiateBrowserBuild(bytes, pages);
  engineInstance = assembleEngine(build, kernels, new Arena(memory, kernels.heapBase()), 1, 0);
  return engineInstance;
}
