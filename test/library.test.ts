// The public interface (src/index.ts): an exported file certifies and runs like the
// directory it came from, the library writes into a model directory only when asked,
// bad inputs are one-line LipvaeErrors, and `lipvae/bounds` stays free of the engine.
// (test/npm-pack.test.ts checks the installed package against `lipvae certify`.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import {
  type Certificate, DEFAULT_MAX_DAMAGE, attackModel, certifyInput, certifyInputs, exportModel, forward, loadExport, loadModel,
  maxDamageAttack, measuredConstants, startEngine,
} from "../src/index.js";
import { scratchDir, tinyDataset, tinyModel, type Variant } from "./export-fixture.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const ROWS = 4;
const OPTS = { r: 2, eps: 0.5 };

function images(rows: number): Float32Array {
  return tinyDataset().test.images.subarray(0, rows * 784);
}

function relClose(x: number, y: number, tol: number): boolean {
  return Math.abs(x - y) <= tol * Math.max(1, Math.abs(x), Math.abs(y));
}

async function directoryAndExport(variant: Variant) {
  const dir = await tinyModel(variant);
  const model = loadModel(dir);
  const file = path.join(scratchDir(), `library-${variant}.safetensors`);
  exportModel(model, file);
  return { model, exported: loadExport(file) };
}

for (const variant of ["learned", "fixed", "standard"] as Variant[]) {
  test(`${variant}: an exported file certifies like its directory; its measured constants never exceed the directory's`, async () => {
    const { model, exported } = await directoryAndExport(variant);
    const fromDir = certifyInputs(model, images(ROWS), OPTS);
    const fromExport = certifyInputs(exported, images(ROWS), OPTS);
    assert.is(fromExport.length, ROWS);
    const d = fromDir[0].constants.measured, e = fromExport[0].constants.measured;
    for (const k of ["a", "b", "c"] as const) {
      assert.ok(e[k] <= d[k], `${k}: export ${e[k]} > directory ${d[k]}`);
      assert.ok(e[k] >= d[k] * (1 - 1e-4), `${k}: export ${e[k]} far below directory ${d[k]}`);
    }
    assert.equal(fromExport[0].constants.nominal, fromDir[0].constants.nominal);
    assert.equal(fromExport[0].nominalValid, fromDir[0].nominalValid);
    assert.is(fromExport[0].bound, variant === "fixed" ? "theorem3" : "lemma2");
    assert.is(fromExport[0].warnings.length > 0, variant === "standard", "only the standard model warns");
    // Nominal margins depend on the weights only through σ(x): f32 engine vs f64 export.
    fromDir.forEach((c: Certificate, i) => {
      assert.ok(relClose(c.sigma.norm, fromExport[i].sigma.norm, 1e-5), `row ${i}: ||σ|| ${c.sigma.norm} vs ${fromExport[i].sigma.norm}`);
      for (const name of ["paper.nominal", "tight.nominal"] as const) {
        assert.ok(relClose(c.margins[name].margin, fromExport[i].margins[name].margin, 1e-4), `row ${i} ${name}: ${c.margins[name].margin} vs ${fromExport[i].margins[name].margin}`);
      }
    });
    if (variant === "fixed") assert.equal(fromDir[1].margins, fromDir[0].margins, "Theorem 3 is one global margin");
    else assert.is.not(fromDir[1].sigma.norm, fromDir[0].sigma.norm);
  });
}

test("forward: the directory on the engine and its export in f64 agree, with and without noise", async () => {
  const { model, exported } = await directoryAndExport("learned");
  const x = images(ROWS);
  const noise = Float64Array.from({ length: ROWS * 4 }, (_, i) => Math.sin(i + 1));
  for (const opts of [{}, { noise }]) {
    const a = forward(model, x, opts), b = forward(exported, x, opts);
    for (const key of ["mu", "sigma", "z", "reconstruction"] as const) {
      assert.is(a[key].length, b[key].length);
      a[key].forEach((v, i) => assert.ok(Math.abs(v - b[key][i]) <= 1e-5, `${key}[${i}]: ${v} vs ${b[key][i]}`));
    }
  }
  const plain = forward(model, x), noisy = forward(model, x, { noise });
  assert.equal(plain.z, plain.mu, "without noise z = μ");
  assert.ok(Math.abs(noisy.z[1] - (noisy.mu[1] + noisy.sigma[1] * noise[1])) < 1e-6);
});

test("the library writes measured constants into model.json only with store: true", async () => {
  const { dir, cleanup } = tempDir("lipvae-library-");
  try {
    cpSync(await tinyModel("learned"), dir, { recursive: true });
    const json = path.join(dir, "model.json");
    const before = readFileSync(json, "utf8");
    assert.not.ok(JSON.parse(before).certified, "the fixture has no stored constants");
    const model = loadModel(dir);
    const measuring: string[] = [];
    const first = certifyInput(model, images(1), { ...OPTS, onMeasure: (m) => measuring.push(m) });
    certifyInput(model, images(1), { ...OPTS, onMeasure: (m) => measuring.push(m) });
    assert.is(measuring.length, 1, "measured once per loaded model");
    assert.is(readFileSync(json, "utf8"), before);

    const stored = measuredConstants(model, { store: true });
    assert.equal({ a: stored.a, b: stored.b, c: stored.c }, first.constants.measured);
    assert.is(JSON.parse(readFileSync(json, "utf8")).certified.a, stored.a);
    const reloaded: string[] = [];
    measuredConstants(loadModel(dir), { onMeasure: (m) => reloaded.push(m) });
    assert.equal(reloaded, [], "a fresh load reads the stored constants");
  } finally {
    cleanup();
  }
});

test("bad inputs are one-line LipvaeErrors naming the problem", async () => {
  const model = loadModel(await tinyModel("learned"));
  expectLipvaeError(() => certifyInput(model, new Float32Array(783), OPTS), "got 783", "784");
  expectLipvaeError(() => certifyInputs(model, new Float32Array(785), OPTS), "785 values", "multiple of the model's input size 784");
  expectLipvaeError(() => certifyInput(model, images(2), OPTS), "one input of 784 values", "certifyInputs");
  const nan = Float32Array.from(images(1));
  nan[5] = NaN;
  expectLipvaeError(() => certifyInputs(model, nan, OPTS), "input value 5 is NaN");
  expectLipvaeError(() => forward(model, nan), "input value 5 is NaN");
  expectLipvaeError(() => certifyInput(model, images(1), { r: 0, eps: 0.5 }), "r must be a positive number");
  expectLipvaeError(() => certifyInput(model, images(1), { r: 2, eps: 1 }), "eps must be in (0, 1)");
  expectLipvaeError(() => forward(model, images(2), { noise: new Float64Array(3) }), "noise has 3 values", "8");
  expectLipvaeError(() => loadExport(path.join(model.dir, "model.safetensors")), "not a lipvae export");
});

test("startEngine reports the build in use; attackModel freezes a directory for the attacks", async () => {
  const info = startEngine();
  if (process.env.LIPVAE_WASM) assert.is(info.build, process.env.LIPVAE_WASM);
  assert.ok(info.threads >= 1);
  const frozen = attackModel(loadModel(await tinyModel("learned")));
  assert.is(frozen.n, 784);
  assert.is(frozen.dz, 4);
  const radius = 1.5;
  const attack = maxDamageAttack(frozen, images(2), 2, radius, { ...DEFAULT_MAX_DAMAGE, steps: 3, restarts: 2, seed: 1, evalSamples: 4 });
  assert.is(attack.norms.length, 2);
  for (const n of attack.norms) assert.ok(n > 0 && n <= radius * (1 + 1e-6), `‖δ‖ = ${n} outside (0, ${radius}]`);
  for (const d of attack.damage) assert.ok(Number.isFinite(d) && d >= 0);
});

test("lipvae/bounds imports none of the engine (no WebAssembly, no threads)", () => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, "utf8");
    for (const [, spec] of source.matchAll(/from\s+"(\.{1,2}\/[^"]+)\.js"/g)) visit(path.resolve(path.dirname(file), `${spec}.ts`));
  };
  visit(path.join(projectRoot, "src", "bounds", "index.ts"));
  assert.ok(seen.size > 5, "the walk found the bound modules");
  // Pure helpers from src/io/ (e.g. the JSON guard) are fine; the engine, files and threads are not.
  const engineFiles = [...seen].filter((f) => f.includes(`${path.sep}engine${path.sep}`) ||
    /from\s+"node:(fs|worker_threads|child_process)"/.test(readFileSync(f, "utf8")));
  assert.equal(engineFiles, []);
});

test.run();
