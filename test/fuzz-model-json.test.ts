// model.json validation: one validator (store.ts validateModelMeta) for every
// command that loads a model. Each bad file gets one line naming the file and
// the field; before the validator these were TypeErrors or silently accepted.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MODEL_FORMAT_VERSION, MODEL_JSON, MODEL_WEIGHTS, encodeParameters, loadModel, sha256 } from "../src/model/store.js";
import { type ModelConfig } from "../src/model/config.js";
import { VAE } from "../src/model/vae.js";
import { certifyFixedSigma } from "../src/bounds/certify.js";
import { projectRoot } from "../src/paths.js";
import { SMALL_CONFIG, saveSmallModel } from "./fuzz-cases.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const { dir: root, cleanup } = tempDir("lipvae-model-json-");
test.after(cleanup);

let count = 0;
/** A fresh small model directory whose model.json is rewritten by edit. */
function modelWith(edit: (meta: Record<string, unknown>) => unknown): string {
  const dir = path.join(root, `m${count++}`);
  saveSmallModel(dir);
  const file = path.join(dir, MODEL_JSON);
  const edited = edit(JSON.parse(readFileSync(file, "utf8")));
  writeFileSync(file, JSON.stringify(edited));
  return dir;
}

const CASES: { name: string; edit: (m: Record<string, unknown>) => unknown; says: string[] }[] = [
  { name: "null", edit: () => null, says: ["expected a JSON object"] },
  { name: "no config", edit: ({ config: _c, ...m }) => m, says: ["'config' is missing"] },
  { name: "no parameters", edit: ({ parameters: _p, ...m }) => m, says: ["'parameters'"] },
  { name: "bjorckIters -5", edit: (m) => ({ ...m, bjorckIters: -5 }), says: ["bjorckIters", "-5"] },
  { name: "bjorckIters 2.5", edit: (m) => ({ ...m, bjorckIters: 2.5 }), says: ["bjorckIters", "2.5"] },
  { name: 'bjorckIters "3"', edit: (m) => ({ ...m, bjorckIters: "3" }), says: ["bjorckIters", '"3"'] },
  { name: "bjorckIters 0 for a Lipschitz model", edit: (m) => ({ ...m, bjorckIters: 0 }), says: ["bjorckIters", ">= 1 for a lipschitz model"] },
  { name: "formatVersion 0", edit: (m) => ({ ...m, formatVersion: 0 }), says: ["formatVersion", "0"] },
  { name: 'formatVersion "abc"', edit: (m) => ({ ...m, formatVersion: "abc" }), says: ["formatVersion", '"abc"'] },
  { name: "a newer formatVersion", edit: (m) => ({ ...m, formatVersion: MODEL_FORMAT_VERSION + 1 }), says: ["newer lipvae", "upgrade"] },
  { name: "config.hidden a string", edit: (m) => ({ ...m, config: { ...(m.config as object), hidden: "4" } }), says: ["config: hidden"] },
  { name: "config.sigma missing", edit: (m) => ({ ...m, config: { ...(m.config as object), sigma: undefined } }), says: ["config: sigma"] },
  { name: "parameters.file outside the directory", edit: (m) => ({ ...m, parameters: { ...(m.parameters as object), file: "../x" } }), says: ["parameters.file"] },
  { name: "dataset missing", edit: ({ dataset: _d, ...m }) => m, says: ["dataset"] },
];

for (const c of CASES) {
  test(`model.json with ${c.name} is refused naming the file and the field`, () => {
    const dir = modelWith(c.edit);
    expectLipvaeError(() => loadModel(dir), path.join(dir, MODEL_JSON), ...c.says);
  });
}

/** Writes parameters of another configuration under dir's model.json, re-hashed so that only the mismatch is wrong. */
function withParametersOf(dir: string, config: ModelConfig): void {
  const bytes = encodeParameters(new VAE(config, 1));
  writeFileSync(path.join(dir, MODEL_WEIGHTS), bytes);
  const file = path.join(dir, MODEL_JSON);
  const meta = JSON.parse(readFileSync(file, "utf8"));
  meta.parameters.sha256 = sha256(bytes);
  writeFileSync(file, JSON.stringify(meta));
}

test("a config whose σ mode does not match its tensors is refused naming config.sigma.mode", () => {
  const learned = modelWith((m) => m);
  withParametersOf(learned, { ...SMALL_CONFIG, sigma: { mode: "fixed", gamma: 0.1 } });
  expectLipvaeError(() => loadModel(learned), MODEL_WEIGHTS, "lack the σ network", "config.sigma.mode", "'learned'");
  const fixed = modelWith((m) => ({ ...m, config: { ...(m.config as object), sigma: { mode: "fixed", gamma: 0.1 } } }));
  withParametersOf(fixed, SMALL_CONFIG);
  expectLipvaeError(() => loadModel(fixed), MODEL_WEIGHTS, "include the σ network", "'fixed'");
});

test("parameters that do not match the sha256 in model.json are refused", () => {
  const dir = modelWith((m) => m);
  const file = path.join(dir, MODEL_WEIGHTS);
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(file, bytes);
  expectLipvaeError(() => loadModel(dir), file, "does not match the hash recorded", "parameters.sha256");
});

test("a config edited to huge sizes (re-hashed) is refused before anything is allocated", () => {
  const dir = modelWith((m) => ({ ...m, config: { ...(m.config as object), inputDim: 2 ** 40 } }));
  expectLipvaeError(() => loadModel(dir), MODEL_JSON, "config describes", "the two files do not belong together");
});

test("a fixed-σ certificate asked of a learned-σ model is a clear refusal", () => {
  expectLipvaeError(() => certifyFixedSigma(SMALL_CONFIG, { a: 1, b: 1, c: 1 }, { r: 1, eps: 0.5 }), "needs a fixed-σ model", "learned");
});

// Every command that loads a model goes through the validator: one line, status 2.
const COMMANDS: string[][] = [
  ["certify"], ["eval"], ["attack", "--kind", "latent"], ["export"], ["margin"],
];
test("all five model commands refuse a bad model.json with one line naming the file and the field, status 2", () => {
  const dir = modelWith((m) => ({ ...m, bjorckIters: "3" }));
  for (const [command, ...flags] of COMMANDS) {
    const run = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), command, ...flags, "--model", dir], { encoding: "utf8", timeout: 60_000 });
    assert.is(run.status, 2, `${command}: ${run.stderr}`);
    const lines = run.stderr.trim().split("\n");
    assert.is(lines.length, 1, `${command} printed ${run.stderr}`);
    assert.match(lines[0], new RegExp(`^lipvae ${command}: .*model\\.json: bjorckIters must be a whole number >= 1 for a lipschitz model \\(got "3"\\)`));
  }
});

test.run();
