// What the page is told about each served model (models.json): everything it
// needs besides the weights. Written by the server (src/server/model-card.ts),
// read by the page; plain data, no Node or DOM types.

import type { ModelConfig } from "../model/config.js";

export interface ModelCard {
  /** URL-safe id; the model's files are under models/<id>/. */
  id: string;
  /** Shown in the model picker (the model directory's name). */
  title: string;
  config: ModelConfig;
  /** Björck steps of the exported weights (the saved model's). */
  bjorckIters: number;
  /** SHA-256 of the model's parameter file, for display and checking. */
  parametersSha256: string;
  /**
   * Certified upper bounds of the Lipschitz constants a (decoder), b (encoder
   * mean), c (encoder std), measured by `lipvae certify` on these weights; they
   * cover the exported weights the page runs (src/bounds/measured.ts).
   */
  constants: { a: number; b: number; c: number };
  /** Path of the `lipvae export` file, relative to the site root. */
  exportPath: string;
  samples: SampleSet;
  /** Defaults of `lipvae certify`. */
  defaults: { r: number; eps: number };
}

/** The first test images of the model's dataset, as raw bytes (pixel = byte/255). */
export interface SampleSet {
  /** Path of count × 784 bytes, relative to the site root. */
  path: string;
  dataset: string;
  count: number;
  labels: number[];
}

/** The file the page reads first. */
export const MANIFEST = "models.json";

/** byte/255 rounded once to f32: the datasets' pixel values (src/data/datasets.ts). */
export function pixelsOf(bytes: Uint8Array): Float32Array {
  return Float32Array.from(bytes, (b) => b / 255);
}
