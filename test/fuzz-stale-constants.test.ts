// certify never uses measured constants stored for other weights: model.json
// keeps them under a key that includes the parameter file's SHA-256 (checked
// against the file on load), so weights edited and re-hashed are measured
// again, and weights edited without the hash are refused.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MODEL_JSON, MODEL_WEIGHTS, encodeParameters, loadModel, sha256 } from "../src/model/store.js";
import { measureConstants } from "../src/bounds/measured.js";
import { projectRoot } from "../src/paths.js";
import { SMALL_CONFIG, saveSmallModel } from "./fuzz-cases.js";
import { tempDir } from "./io-util.js";

const { dir: root, cleanup } = tempDir("lipvae-stale-");
test.after(cleanup);

const certify = (dir: string) =>
  spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "certify", "--model", dir, "--r", "1"], { encoding: "utf8", timeout: 120_000 });
const storedA = (dir: string) => (JSON.parse(readFileSync(path.join(dir, MODEL_JSON), "utf8")).certified as { a: number }).a;

test("weights edited after certify: re-hashed they are measured again, else refused; never the stale constants", () => {
  const dir = path.join(root, "fixed");
  saveSmallModel(dir, { ...SMALL_CONFIG, kind: "standard", sigma: { mode: "fixed", gamma: 0.1 } });
  const first = certify(dir);
  assert.is(first.status, 0, first.stderr);
  const before = storedA(dir);

  // Triple the decoder's first weight matrix: its measured constant must change.
  const { vae } = loadModel(dir);
  const w = vae.decoder.layers[0].weight.data;
  for (let i = 0; i < w.length; i++) w[i] *= 3;
  const bytes = encodeParameters(vae);
  const expected = measureConstants(vae, loadModel(dir).meta.bjorckIters).a;
  assert.ok(Math.abs(expected - before) > 1e-3 * before, "the edit changes the constant");

  // Without the hash: refused.
  writeFileSync(path.join(dir, MODEL_WEIGHTS), bytes);
  const refused = certify(dir);
  assert.is(refused.status, 2);
  assert.match(refused.stderr, /does not match the hash recorded in model\.json/);

  // Re-hashed, the stored constants kept in model.json: measured again.
  const jsonPath = path.join(dir, MODEL_JSON);
  const meta = JSON.parse(readFileSync(jsonPath, "utf8"));
  meta.parameters.sha256 = sha256(bytes);
  writeFileSync(jsonPath, JSON.stringify(meta));
  const again = certify(dir);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr + again.stdout, /measuring spectral norms/);
  assert.is(storedA(dir), expected);
  const out = JSON.parse(readFileSync(path.join(dir, "certificates.json"), "utf8"));
  assert.is(out.constants.measured.a, expected);
});

test.run();
