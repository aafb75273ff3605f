// `lipvae certify`: measured constants (stored in model.json, tied to the
// configuration, the parameter file's hash, the Björck iterations and the WASM
// build) and per-image certified margins for the test set.

import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, number, parseFlags } from "./args.js";
import { checkOutputFile } from "./out-path.js";
import { Progress } from "./progress.js";
import { loadModel, nonFiniteParameter, updateModelMeta, type ModelMeta } from "../model/store.js";
import { MEASURE_VERSION, measureConstants, measurementKey, type MeasuredConstants } from "../bounds/measured.js";
import { LipvaeError } from "../errors.js";
import {
  type Constants, type Form, type ConstantsKind, type InputCertificate,
  certifyFixedSigma, certifyInput, nominalIsValid,
} from "../bounds/certify.js";
import { loadDataset } from "../data/datasets.js";
import type { DatasetName } from "../data/catalog.js";
import { noGrad } from "../engine/tape.js";
import { usableBuilds } from "../engine/builds.js";
import { tidy } from "../engine/tensor.js";
import { sliceRows } from "../model/train.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { libraryVersion } from "../version.js";
import type { VAE } from "../model/vae.js";

const CERTIFICATES_JSON = "certificates.json";

const OPTIONS = {
  model: { type: "string" },
  images: { type: "string", default: "25" },
  r: { type: "string", default: "8" },
  eps: { type: "string", default: "0.5" },
  "data-dir": { type: "string" },
  out: { type: "string" },
  remeasure: { type: "boolean", default: false },
} as const;

const usage = `lipvae certify --model DIR [options]

Certified (r, eps)-robustness margins for the first N test images: the
radius ||delta|| within which P[||g(z_delta) - g(z)|| <= r] > eps is guaranteed.
Lemma 2 for learned or constrained sigma (per image), Theorem 3 for a fixed
sigma (one global margin). Four versions of each:
  paper / tight      the paper's formulas, or our tighter proven ones (docs/certificates.md)
  nominal / measured constants a, b, c = the nominal M, or certified upper bounds
                     measured on the saved weights (spectral norms in f64)
Nominal certificates are marked '*' when they do not hold for this model: the
saved weights exceed the nominal constants (Björck not converged), or the model
is a standard VAE, whose nominal constants (1) bound nothing.
The measured constants are stored in model.json for the next run; a model
directory that cannot be written (read-only) only gets a note.

options
  --model DIR     model directory (required)
  --images N      number of test images (default 25, the paper's)
  --r R           reconstruction radius r (default 8)
  --eps E         probability threshold eps in (0, 1) (default 0.5)
  --data-dir DIR  where the dataset's IDX files are (default: shipped MNIST)
  --out FILE      JSON output (default DIR/${CERTIFICATES_JSON})
  --remeasure     measure the constants again even if model.json has them`;

export const certifyCommand: Command = {
  name: "certify",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseFlags(argv, OPTIONS);
    if (!values.model) throw new UsageError("--model DIR is required (lipvae certify --help shows the options)");
    const images = integer("--images", values.images!, 1);
    const r = number("--r", values.r!, { positive: true });
    const eps = number("--eps", values.eps!);
    if (!(eps > 0 && eps < 1)) throw new UsageError(`--eps must be in (0, 1) (got ${values.eps}); at 0 every radius qualifies`);
    const progress = new Progress();
    const { vae, meta, dir } = loadModel(values.model);
    const out = values.out ?? path.join(dir, CERTIFICATES_JSON);
    checkOutputFile(values.out === undefined ? "--out (default)" : "--out", out, CERTIFICATES_JSON);
    const cfg = vae.config;
    // A diverged run leaves NaN or infinite parameters; nothing can be certified for them.
    const bad = nonFiniteParameter(vae);
    if (bad) throw new LipvaeError(`model ${dir} has non-finite weights (${bad}; a diverged run?): retrain with a lower --lr`);

    const measured = measuredConstants(vae, meta, dir, values.remeasure, progress);
    for (const w of measured.warnings) progress.log(`warning: ${w}`);
    const k: Constants = { a: measured.a, b: measured.b, c: measured.c };
    progress.log(`measured constants (certified upper bounds): a = ${k.a.toFixed(6)}, b = ${k.b.toFixed(6)}` +
      (cfg.sigma.mode === "fixed" ? "" : `, c = ${k.c.toFixed(6)}`) +
      `   nominal M: a = ${cfg.lipschitz.decoder}, b = ${cfg.lipschitz.encoderMean}` +
      (cfg.sigma.mode === "fixed" ? "" : `, c = ${cfg.lipschitz.encoderStd}`));

    const valid: Record<Form, boolean> = { paper: nominalIsValid(cfg, "paper", k), tight: nominalIsValid(cfg, "tight", k) };
    if (cfg.kind === "standard") valid.paper = valid.tight = false;
    const opts = { r, eps };
    let rows: { index: number; label: number; cert: InputCertificate }[];
    if (cfg.sigma.mode === "fixed") {
      const cert = certifyFixedSigma(cfg, k, opts);
      rows = [{ index: -1, label: -1, cert }];
    } else {
      const dataset = loadDataset(meta.dataset.name as DatasetName, { dataDir: values["data-dir"] });
      if (dataset.fingerprint !== meta.dataset.fingerprint) {
        progress.log(`warning: the ${meta.dataset.name} files differ from the ones the model was trained on`);
      }
      const n = Math.min(images, dataset.test.count);
      const sigmas = sigmaStats(vae, meta.bjorckIters, dataset.test.images, n);
      rows = sigmas.map((s, i) => ({ index: i, label: dataset.test.labels[i], cert: certifyInput(cfg, s, k, opts) }));
    }
    printTable(rows, valid, cfg.sigma.mode === "fixed", cfg.kind);
    writeJsonAtomic(out, {
      model: path.resolve(dir), parametersSha256: meta.parameters.sha256, libraryVersion,
      bound: cfg.sigma.mode === "fixed" ? "theorem3" : "lemma2", r, eps,
      constants: { measured: k, nominal: cfg.lipschitz, converged: measured.converged, bjorckIters: meta.bjorckIters, wasmBuilds: measured.wasmBuilds },
      nominalValidForSavedWeights: valid,
      images: rows.map((row) => ({ index: row.index, label: row.label, sigmaNorm: row.cert.sigma.norm, sigmaMax: row.cert.sigma.max, margins: row.cert.margins })),
    });
    console.log(`\nwrote ${out}`);
    return 0;
  },
};

/**
 * Constants from model.json when they were measured for this exact network (see
 * measurementKey: configuration, parameters, Björck iterations, the WASM builds covered, measuring
 * code), else measured now and stored.
 */
function measuredConstants(vae: VAE, meta: ModelMeta, dir: string, remeasure: boolean | undefined, progress: Progress): MeasuredConstants {
  const key = measurementKey(meta.config, meta.parameters.sha256, meta.bjorckIters, usableBuilds());
  const stored = meta.certified as (MeasuredConstants & { key?: unknown }) | undefined;
  if (!remeasure && stored && stored.key === key && [stored.a, stored.b, stored.c].every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0)) {
    return stored;
  }
  progress.log(`measuring spectral norms of ${vae.nets.reduce((n, m) => n + m.layers.length, 0)} layers (K = ${meta.bjorckIters}, WASM builds: ${usableBuilds().join(", ")})...`);
  const measured = measureConstants(vae, meta.bjorckIters);
  meta.certified = {
    ...measured, key, measureVersion: MEASURE_VERSION, parametersSha256: meta.parameters.sha256,
    measuredWith: libraryVersion, measuredAt: new Date().toISOString(),
  };
  const note = storeBestEffort(() => updateModelMeta(dir, meta), dir);
  if (note) progress.log(note);
  return measured;
}

/**
 * Runs `store` (caching the constants in model.json) and returns a one-line
 * note instead of failing when the file system refuses: the cache only saves
 * the next run a measurement, the certificate does not depend on it.
 */
export function storeBestEffort(store: () => void, dir: string): string | null {
  try {
    store();
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code !== "string") throw err;
    return `note: could not store the measured constants in ${path.join(dir, "model.json")} (${code}); they are used for this run and measured again next time`;
  }
}

/** ||sigma(x)|| and max_j sigma_j(x) for the first n images, Björck computed once. */
function sigmaStats(vae: VAE, iters: number, images: Float32Array, n: number): { norm: number; max: number }[] {
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(iters);
    const out: { norm: number; max: number }[] = [];
    for (let start = 0; start < n; start += 500) {
      const size = Math.min(500, n - start);
      tidy(() => {
        const s = vae.encode(sliceRows(images, start, size), w).sigma.data;
        const dz = vae.config.latentDim;
        for (let i = 0; i < size; i++) {
          let sq = 0, mx = 0;
          for (let j = 0; j < dz; j++) {
            sq += s[i * dz + j] ** 2;
            mx = Math.max(mx, s[i * dz + j]);
          }
          out.push({ norm: Math.sqrt(sq), max: mx });
        }
        return null;
      });
    }
    return out;
  }));
}

function printTable(rows: { index: number; label: number; cert: InputCertificate }[], valid: Record<Form, boolean>, fixed: boolean, kind: string): void {
  const cols: [Form, ConstantsKind][] = [["paper", "nominal"], ["paper", "measured"], ["tight", "nominal"], ["tight", "measured"]];
  const fmt = (form: Form, kind: ConstantsKind, v: number) => `${v.toFixed(4)}${kind === "nominal" && !valid[form] ? "*" : ""}`;
  const header = [fixed ? "global" : "image", "label", "||sigma||", ...cols.map(([f, k]) => `${f}/${k}`)];
  const body = rows.map(({ index, label, cert }) => [
    index < 0 ? "all" : String(index), label < 0 ? "-" : String(label), cert.sigma.norm.toFixed(4),
    ...cols.map(([f, k]) => fmt(f, k, cert.margins[`${f}.${k}`].margin)),
  ]);
  if (rows.length > 1) {
    const mean = (f: Form, k: ConstantsKind) => rows.reduce((acc, r) => acc + r.cert.margins[`${f}.${k}`].margin, 0) / rows.length;
    body.push(["mean", "", "", ...cols.map(([f, k]) => fmt(f, k, mean(f, k)))]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  console.log(`\ncertified margins (max of m1, m2):`);
  console.log(line(header));
  for (const b of body) console.log(line(b));
  if (!valid.paper || !valid.tight) console.log(nominalFootnote(kind));
}

/** Why the '*' columns certify nothing (a standard VAE's measured constants may well be below 1). */
export function nominalFootnote(kind: string): string {
  return kind === "standard"
    ? "* a standard VAE has no Lipschitz constraint: its nominal constants (1) bound nothing, so these columns are not a certificate; use the measured ones"
    : "* the measured constants exceed the nominal ones (Björck not converged): these columns are not a certificate for these weights";
}
