// The browser library (package entry "lipvae/browser"): start the WASM engine,
// load an exported model, certify and perturb inputs. The page (app.ts) and its
// attack worker (attack-worker.ts) are built on it.

import { startEngine } from "../engine/engine-browser.js";
import type { Engine } from "../engine/engine-core.js";
import type { WasmBuild } from "../engine/wasm-core.js";

export { WebModel, sigmaStats, type Posterior } from "./web-model.js";
export { alongDirection, randomDirection, maxDamage, robustnessEstimate, type AttackSettings } from "./perturb.js";
export { type ModelCard, type SampleSet, MANIFEST, pixelsOf } from "./card.js";
export { engine, startEngine } from "../engine/engine-browser.js";

/** The browser builds' file names (copied next to this bundle). */
export const wasmFile = (build: WasmBuild): string => `lipvae-browser-${build}.wasm`;

/**
 * Starts the engine with the WASM builds fetched from `base` (default: the
 * folder this bundle was loaded from) and a fixed memory of `memoryBytes`.
 */
export async function startBrowserEngine(memoryBytes: number, base: string | URL = new URL(".", import.meta.url)): Promise<Engine> {
  return startEngine({
    memoryBytes,
    fetchBuild: async (build) => {
      const url = new URL(wasmFile(build), base);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`could not load ${url} (HTTP ${res.status})`);
      return res.arrayBuffer();
    },
  });
}

/** Memory for a model whose export file has `exportBytes`: the weights, their copies in flight, and room for an attack batch. */
export function memoryFor(exportBytes: number): number {
  return 2 * exportBytes + 64 * 2 ** 20;
}
