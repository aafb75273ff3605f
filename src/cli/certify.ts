// `lipvae certify`: measured constants (stored in model.json, tied to the
// configuration, the parameter file's hash, the Björck iterations and the WASM
// build) and per-image certified margins for the test set.

import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, number, parseFlags } from "./args.js";
import { checkOutputFile } from "./out-path.js";
import { Progress } from "./progress.js";
import { loadModel } from "../model/store.js";
import { type Constants, type Form, type ConstantsKind, type InputCertificate } from "../bounds/certify.js";
import { certifyModel } from "../lib/certify.js";
import { loadDataset } from "../data/datasets.js";
import type { DatasetName } from "../data/catalog.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { libraryVersion } from "../version.js";

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
    const loaded = loadModel(values.model);
    const { meta, dir } = loaded;
    const cfg = loaded.vae.config;
    const out = values.out ?? path.join(dir, CERTIFICATES_JSON);
    checkOutputFile(values.out === undefined ? "--out (default)" : "--out", out, CERTIFICATES_JSON);

    const dataDir = values["data-dir"];
    const test = () => {
      const dataset = loadDataset(meta.dataset.name as DatasetName, { dataDir });
      if (dataset.fingerprint !== meta.dataset.fingerprint) {
        progress.log(`warning: the ${meta.dataset.name} files differ from the ones the model was trained on`);
      }
      return dataset.test;
    };
    const { measured, valid, rows } = certifyModel(loaded, test, { images, r, eps, remeasure: values.remeasure, log: (line) => progress.log(line) });
    for (const w of measured.warnings) progress.log(`warning: ${w}`);
    const k: Constants = { a: measured.a, b: measured.b, c: measured.c };
    progress.log(`measured constants (certified upper bounds): a = ${k.a.toFixed(6)}, b = ${k.b.toFixed(6)}` +
      (cfg.sigma.mode === "fixed" ? "" : `, c = ${k.c.toFixed(6)}`) +
      `   nominal M: a = ${cfg.lipschitz.decoder}, b = ${cfg.lipschitz.encoderMean}` +
      (cfg.sigma.mode === "fixed" ? "" : `, c = ${cfg.lipschitz.encoderStd}`));
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
