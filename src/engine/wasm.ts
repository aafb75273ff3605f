// Loads one of the two kernel builds into a memory that TypeScript owns (Node;
// the browser's loader is engine-browser.ts, the shared parts are in wasm-core.ts).
//
// build/lipvae-simd.wasm     baseline WASM SIMD (runs everywhere Node 20 does)
// build/lipvae-relaxed.wasm  relaxed SIMD: f32x4.relaxed_madd lowers to a real FMA
//
// Node 20 hides relaxed SIMD behind --experimental-wasm-relaxed-simd; we turn
// the V8 flag on at run time, then use the relaxed build only if it validates
// and passes a numeric self-check against the baseline build. LIPVAE_WASM=simd
// or =relaxed forces a build (the test runner uses it to test both).

import { readFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import * as loader from "@assemblyscript/loader";
import { projectRoot } from "../paths.js";
import { type Kernels, type KernelInstance, type WasmBuild, selfCheckAgrees } from "./wasm-core.js";

export { type Kernels, type KernelInstance, KERNEL_ARITY, G64, type WasmBuild } from "./wasm-core.js";

export interface WasmInstance extends KernelInstance {
  build: WasmBuild;
  /** The compiled module, which worker threads instantiate over the same memory. */
  module: WebAssembly.Module;
}

const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";
// Compile kernels with the optimising tier straight away: V8 otherwise runs a
// function's first (possibly long) calls in Liftoff code, 2-3x slower.
const NO_LIFTOFF_FLAG = "--no-liftoff";

function wasmPath(build: WasmBuild): string {
  return path.join(projectRoot, "build", `lipvae-${build}.wasm`);
}

function readBinary(build: WasmBuild): Uint8Array<ArrayBuffer> {
  try {
    // A copy with its own ArrayBuffer: the type WebAssembly's DOM typings accept (tsconfig.web.json).
    return new Uint8Array(readFileSync(wasmPath(build)));
  } catch {
    throw new Error(`WASM kernels not found at ${wasmPath(build)}: run \`npm run build\` first.`);
  }
}

/** Instantiates one build with a fresh memory of `initialPages` 64 KiB pages. */
export function instantiate(build: WasmBuild, initialPages = 256): WasmInstance {
  const binary = readBinary(build);
  v8.setFlagsFromString(NO_LIFTOFF_FLAG);
  if (build === "relaxed") v8.setFlagsFromString(RELAXED_FLAG);
  if (!WebAssembly.validate(binary)) {
    throw new Error(`this Node (${process.version}) cannot run the ${build} WASM build`);
  }
  const memory = new WebAssembly.Memory({ initial: initialPages, maximum: 65536, shared: true });
  const module = new WebAssembly.Module(binary);
  return { build, memory, module, kernels: instantiateKernels(module, memory) };
}

/** The kernels of a compiled module over a given shared memory (also used by worker threads). */
export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): Kernels {
  const { exports } = loader.instantiateSync<Record<string, unknown>>(module, { env: { memory } });
  return exports as unknown as Kernels;
}

/** True when relaxed SIMD validates here and agrees numerically with the baseline. */
export function relaxedUsable(): boolean {
  try {
    const relaxed = instantiate("relaxed", 64);
    const simd = instantiate("simd", 64);
    return selfCheckAgrees(relaxed, simd);
  } catch {
    return false;
  }
}

/** The build to use: LIPVAE_WASM if set, else relaxed where usable, else baseline. */
export function chooseBuild(): WasmBuild {
  const forced = process.env.LIPVAE_WASM;
  if (forced === "simd" || forced === "relaxed") return forced;
  if (forced && forced !== "auto") {
    throw new Error(`LIPVAE_WASM must be simd, relaxed or auto (got '${forced}')`);
  }
  return relaxedUsable() ? "relaxed" : "simd";
}
