// `lipvae certify`: constants measured on the saved weights, cached in
// model.json only for the exact parameter file, nominal certificates flagged
// when the weights exceed them, and margins that match the bound functions.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type ModelConfig, PAPER_DEFAULTS } from "../src/model/config.js";
import { Trainer, defaultSettings } from "../src/model/train.js";
import { loadModel, saveModel } from "../src/model/store.js";
import { loadDataset } from "../src/data/datasets.js";
import { certifyFixedSigma, nominalIsValid } from "../src/bounds/certify.js";
import { paperLemma2, tightLemma2 } from "../src/bounds/index.js";
import { measureConstants } from "../src/bounds/measured.js";
import { relaxedUsable } from "../src/engine/wasm.js";

const data = loadDataset("mnist", { limit: 256 });

async function tinyModel(sigma: ModelConfig["sigma"]): Promise<string> {
  const config: ModelConfig = {
    ...PAPER_DEFAULTS, hidden: [16, 16], latentDim: 3, sigma,
    lipschitz: { decoder: 2, encoderMean: 2, encoderStd: 2 },
    bjorck: { beta: 0.5, trainIters: 2, finetuneIters: 20 },
  };
  const outDir = mkdtempSync(path.join(os.tmpdir(), "lipvae-certify-"));
  await new Trainer({ config, seed: 3, dataset: data, outDir, settings: { ...defaultSettings(config), lr: 3e-3, epochs: 1, finetuneEpochs: 1, validationLimit: 100 } }).run();
  return outDir;
}

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, ["bin/lipvae.js", "certify", ...args], { encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("learned sigma: per-image margins equal the bound functions with the stored measured constants", async () => {
  const dir = await tinyModel({ mode: "learned" });
  const run = cli("--model", dir, "--images", "4", "--r", "2");
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /paper\/nominal\s+paper\/measured\s+tight\/nominal\s+tight\/measured/);
  const out = JSON.parse(readFileSync(path.join(dir, "certificates.json"), "utf8"));
  const meta = loadModel(dir).meta;
  const stored = meta.certified as { a: number; b: number; c: number; parametersSha256: string };
  assert.is(stored.parametersSha256, meta.parameters.sha256);
  assert.equal(out.constants.measured, { a: stored.a, b: stored.b, c: stored.c });
  assert.is(out.images.length, 4);
  for (const img of out.images) {
    const q = { a: stored.a, b: stored.b, c: stored.c, r: 2, dz: 3, eps: 0.5, sigmaNorm: img.sigmaNorm };
    assert.equal(img.margins["paper.measured"], paperLemma2(q));
    assert.equal(img.margins["tight.measured"], tightLemma2({ ...q, sigmaMax: img.sigmaMax, sigmaCap: 1 }));
    assert.ok(img.margins["tight.measured"].margin >= img.margins["paper.measured"].margin);
  }
});

test("fixed sigma: one global Theorem 3 margin; the tight form is at least the paper's", async () => {
  const dir = await tinyModel({ mode: "fixed", gamma: 0.05 });
  const { vae, meta } = loadModel(dir);
  const m = measureConstants(vae, meta.bjorckIters);
  const cert = certifyFixedSigma(vae.config, m, { r: 2, eps: 0.5 });
  assert.ok(cert.margins["tight.measured"].margin >= cert.margins["paper.measured"].margin);
  assert.ok(cert.margins["tight.measured"].margin > 0, "small M and sigma certify a positive margin");
  const run = cli("--model", dir, "--r", "2");
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /\n\s+all\s+-\s+/);
});

test("cached constants are reused only for the same parameters; changed weights are re-measured", async () => {
  const dir = await tinyModel({ mode: "learned" });
  assert.is(cli("--model", dir, "--images", "1").status, 0);
  const first = loadModel(dir).meta.certified as { b: number; parametersSha256: string };
  // Change the weights and save properly (new hash): the old constants must not be used.
  const { vae, meta } = loadModel(dir);
  for (const l of vae.encoderMean.layers) l.weight.data.forEach((v, i, arr) => (arr[i] = v * 0.5));
  saveModel(dir, vae, { seed: meta.seed, bjorckIters: meta.bjorckIters, dataset: meta.dataset, training: meta.training });
  assert.is(cli("--model", dir, "--images", "1").status, 0);
  const second = loadModel(dir).meta.certified as { b: number; parametersSha256: string };
  assert.is.not(second.parametersSha256, first.parametersSha256);
  assert.is.not(second.b, first.b);
});

test("cached constants are measured again when the configuration changes (config.lipschitz edited in model.json)", async () => {
  const dir = await tinyModel({ mode: "learned" });
  assert.is(cli("--model", dir, "--images", "1").status, 0);
  const first = loadModel(dir).meta.certified as { b: number };
  // Same parameter file, ten times the nominal M of the encoder mean: its three layers
  // are scaled by 20^(1/3) instead of 2^(1/3), so b must grow tenfold.
  const jsonPath = path.join(dir, "model.json");
  const json = JSON.parse(readFileSync(jsonPath, "utf8"));
  json.config.lipschitz.encoderMean = 20;
  writeFileSync(jsonPath, JSON.stringify(json, null, 2));
  const run = cli("--model", dir, "--images", "1");
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr + run.stdout, /measuring spectral norms/);
  const second = loadModel(dir).meta.certified as { b: number };
  assert.ok(Math.abs(second.b / first.b - 10) < 1e-5, `b went from ${first.b} to ${second.b}, expected x10`);
  const out = JSON.parse(readFileSync(path.join(dir, "certificates.json"), "utf8"));
  assert.is(out.constants.measured.b, second.b);
});

test("constants measured on one WASM build cover the other build too, and are not measured again there", async () => {
  if (!relaxedUsable()) return;
  const dir = await tinyModel({ mode: "learned" });
  const on = (build: string) => {
    const run = spawnSync(process.execPath, ["bin/lipvae.js", "certify", "--model", dir, "--images", "1"], { encoding: "utf8", env: { ...process.env, LIPVAE_WASM: build } });
    assert.is(run.status, 0, run.stderr);
    return { log: run.stderr + run.stdout, stored: loadModel(dir).meta.certified as { wasmBuilds: string[] } };
  };
  const simd = on("simd");
  assert.match(simd.log, /measuring spectral norms of \d+ layers \(K = \d+, WASM builds: simd, relaxed\)/);
  assert.equal(simd.stored.wasmBuilds, ["simd", "relaxed"]);
  assert.not.match(on("relaxed").log, /measuring spectral norms/, "the relaxed build reuses them");
});

test("non-finite weights (a diverged run) are refused with one line, and model.json is left byte for byte", async () => {
  const dir = await tinyModel({ mode: "learned" });
  const { vae, meta } = loadModel(dir);
  vae.encoderMean.layers[1].weight.data[5] = NaN;
  saveModel(dir, vae, { seed: meta.seed, bjorckIters: meta.bjorckIters, dataset: meta.dataset, training: meta.training });
  const jsonPath = path.join(dir, "model.json");
  const before = readFileSync(jsonPath);
  for (let attempt = 0; attempt < 2; attempt++) {
    const run = cli("--model", dir, "--images", "1");
    assert.is(run.status, 2, run.stderr);
    assert.match(run.stderr, /^lipvae certify: model .* has non-finite weights \(encoder_mean\.1\.weight holds NaN; a diverged run\?\): retrain with a lower --lr\n$/);
    assert.ok(readFileSync(jsonPath).equals(before), "model.json is unchanged");
  }
});

test("nominal certificates are flagged when the saved weights exceed the nominal constants", () => {
  const cfg = { ...PAPER_DEFAULTS, lipschitz: { decoder: 4, encoderMean: 4, encoderStd: 4 } };
  assert.ok(nominalIsValid(cfg, "paper", { a: 1, b: 4, c: 1 }));
  assert.not.ok(nominalIsValid(cfg, "paper", { a: 1, b: 4.0001, c: 1 }));
  // The tight form's nominal a = M/4 must cover the measured a.
  assert.not.ok(nominalIsValid(cfg, "tight", { a: 1.01, b: 1, c: 1 }));
  assert.ok(nominalIsValid(cfg, "tight", { a: 0.99, b: 1, c: 0.99 }));
});

test("bad input: missing model, eps outside (0, 1) and a tampered parameter file are one-line errors", async () => {
  const missing = cli("--model", "/nonexistent/model");
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /^lipvae certify: model directory \/nonexistent\/model does not exist/);
  const dir = await tinyModel({ mode: "learned" });
  const eps = cli("--model", dir, "--eps", "0");
  assert.is(eps.status, 2);
  assert.match(eps.stderr, /--eps must be in \(0, 1\)/);
  const weights = path.join(dir, "model.safetensors");
  const bytes = readFileSync(weights);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(weights, bytes);
  const tampered = cli("--model", dir);
  assert.is(tampered.status, 2);
  assert.match(tampered.stderr, /does not match the hash recorded/);
  assert.not.match(tampered.stderr, /\n\s+at /, "no stack trace");
});

test.run();
