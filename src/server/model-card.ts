// What `lipvae serve` serves for one model directory: the page's card (config,
// measured constants, sample list), the `lipvae export` bytes the page runs,
// and the first test images of the model's dataset.
//
// The export is computed here from the saved parameters (the same function as
// `lipvae export`), so it can never be stale. The constants are the ones
// `lipvae certify` stored in model.json when they were measured for exactly
// these parameters on the WASM builds this machine runs (the export is made on
// one of them); otherwise they are measured now, and not written back.

import path from "node:path";
import { loadModel } from "../model/store.js";
import { directoryConstants } from "../lib/certify.js";
import { exportContent } from "../model/export.js";
import { encodeSafetensors } from "../io/safetensors.js";
import { loadDataset } from "../data/datasets.js";
import type { DatasetName } from "../data/catalog.js";
import type { ModelCard } from "../web/card.js";

export interface ServedModel {
  card: ModelCard;
  exportBytes: Uint8Array;
  sampleBytes: Uint8Array;
  /** Where the constants came from, for the start-up message. */
  constantsSource: "model.json" | "measured now";
}

export interface PrepareOptions {
  /** Test images to ship with the page. */
  samples: number;
  dataDir?: string;
  log(line: string): void;
}

/** The file names under models/<id>/ (also the URL paths). */
export const EXPORT_NAME = "export.safetensors";
export const SAMPLES_NAME = "samples.u8";

export function prepareModel(dir: string, id: string, opts: PrepareOptions): ServedModel {
  const model = loadModel(dir);
  const { meta } = model;
  // The constants certify stored for exactly these weights, else measured now and not
  // written back (the same rule and checks as `lipvae certify`, without the store).
  let constantsSource: ServedModel["constantsSource"] = "model.json";
  const k = directoryConstants(model, {
    onMeasure: () => {
      constantsSource = "measured now";
      opts.log(`${dir}: no constants measured for these parameters in model.json; measuring now (\`lipvae certify --model ${dir}\` stores them)...`);
    },
  });
  const { tensors, metadata } = exportContent(model);
  const exportBytes = encodeSafetensors(tensors, metadata);
  const dataset = loadDataset(meta.dataset.name as DatasetName, { dataDir: opts.dataDir });
  if (dataset.fingerprint !== meta.dataset.fingerprint) opts.log(`warning: the ${meta.dataset.name} files differ from the ones ${dir} was trained on`);
  const count = Math.min(opts.samples, dataset.test.count);
  const sampleBytes = Uint8Array.from(dataset.test.images.subarray(0, count * meta.config.inputDim), (v) => Math.round(v * 255));
  const base = `models/${id}/`;
  const card: ModelCard = {
    id,
    title: path.basename(path.resolve(dir)),
    config: meta.config,
    bjorckIters: meta.bjorckIters,
    parametersSha256: meta.parameters.sha256,
    constants: { a: k.a, b: k.b, c: k.c },
    exportPath: base + EXPORT_NAME,
    samples: { path: base + SAMPLES_NAME, dataset: meta.dataset.name, count, labels: Array.from(dataset.test.labels.subarray(0, count)) },
    defaults: { r: 8, eps: 0.5 },
  };
  return { card, exportBytes, sampleBytes, constantsSource };
}
