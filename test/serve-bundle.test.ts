// The browser bundle (dist/web/lipvae-browser.js), loaded in Node: its engine
// runs the non-shared browser builds on a fixed memory, and what the page shows
// (posterior, certified margins, attack) is what the library computes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { engine } from "../src/engine/engine.js";
import { tensor, tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { loadModel } from "../src/model/store.js";
import { attackModel } from "../src/attacks/model.js";
import { DEFAULT_MAX_DAMAGE, maxDamageAttack } from "../src/attacks/max-damage.js";
import { certifyCommand } from "../src/cli/certify.js";
import { assertClose } from "./helpers.js";
import { servedTinyModel } from "./serve-fixture.js";

type Lib = typeof import("../src/web/lib.js");
const WEB = path.join(projectRoot, "dist", "web");
let lib: Lib | null = null;

/** The bundle, with its engine started on the same SIMD flavour as this process's engine. */
async function bundle(): Promise<Lib> {
  if (lib) return lib;
  lib = (await import(path.join(WEB, "lipvae-browser.js"))) as Lib;
  await lib.startEngine({ build: engine().build, memoryBytes: 64 * 2 ** 20, fetchBuild: async (b) => readFileSync(path.join(WEB, lib!.wasmFile(b))) });
  return lib;
}

test("the browser builds are the Node builds with the memory declared non-shared (one flag byte)", () => {
  for (const flavour of ["simd", "relaxed"]) {
    const node = readFileSync(path.join(projectRoot, "build", `lipvae-${flavour}.wasm`));
    const browser = readFileSync(path.join(WEB, `lipvae-browser-${flavour}.wasm`));
    assert.is(browser.length, node.length, flavour);
    const diffs = [...node.keys()].filter((i) => node[i] !== browser[i]);
    assert.is(diffs.length, 1, `${flavour}: differing bytes at ${diffs.join(", ")}`);
    // Memory limits flags: 0x01 has a maximum, 0x02 shared.
    assert.is(node[diffs[0]], 0x03, flavour);
    assert.is(browser[diffs[0]], 0x01, flavour);
  }
});

test("the bundle's engine: one thread, a plain memory that never grows", async () => {
  const { engine: browserEngine } = await bundle();
  const e = browserEngine();
  assert.is(e.threads, 1);
  assert.is(e.build, engine().build);
  const memory = e.arena.memory;
  assert.ok(memory.buffer instanceof ArrayBuffer, "a non-shared memory");
  const pages = memory.buffer.byteLength / 65536;
  assert.throws(() => memory.grow(1), /./, "growing must fail: views would be detached");
  assert.is(memory.buffer.byteLength / 65536, pages);
});

test("the page's posterior and certified margins equal lipvae certify's", async () => {
  const { WebModel, pixelsOf } = await bundle();
  const { dir, model: served } = await servedTinyModel();
  const page = WebModel.fromExport(served.card, served.exportBytes);
  const { vae, meta } = loadModel(dir);
  const images = served.card.samples.count, n = vae.config.inputDim;
  const out = mkdtempSync(path.join(tmpdir(), "lipvae-certify-"));
  try {
    const log = console.log;
    console.log = () => {};
    try {
      assert.is(await certifyCommand.run(["--model", dir, "--images", String(images), "--out", path.join(out, "c.json")]), 0);
    } finally {
      console.log = log;
    }
    const certified = JSON.parse(readFileSync(path.join(out, "c.json"), "utf8"));
    assert.equal(certified.constants.measured, served.card.constants);
    for (let i = 0; i < images; i++) {
      const x = pixelsOf(served.sampleBytes.subarray(i * n, (i + 1) * n));
      const post = page.posterior(x);
      const lib = noGrad(() => tidy(() => {
        const p = vae.encode(tensor(x, [1, n]), vae.effectiveWeights(meta.bjorckIters));
        return { mu: Float32Array.from(p.mu.data), sigma: Float32Array.from(p.sigma.data) };
      }));
      assertClose(post.mu, lib.mu, 1e-5, 1e-5, `μ of image ${i}`);
      assertClose(post.sigma, lib.sigma, 1e-6, 1e-5, `σ of image ${i}`);
      const cert = page.certificate(post.sigma, 8, 0.5);
      for (const key of ["paper.measured", "tight.measured"] as const) {
        const want = certified.images[i].margins[key].margin;
        assert.ok(want > 0, `${key} of image ${i} is positive (the test must compare something)`);
        assert.ok(Math.abs(cert.margins[key].margin - want) <= 1e-4 * want, `${key} of image ${i}: ${cert.margins[key].margin} vs ${want}`);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("the page's attack is the library's maximum-damage attack, with progress up to 1", async () => {
  const { WebModel, pixelsOf, maxDamage } = await bundle();
  const { dir, model: served } = await servedTinyModel();
  const page = WebModel.fromExport(served.card, served.exportBytes);
  const x = pixelsOf(served.sampleBytes.subarray(0, 784));
  const settings = { radius: 0.5, steps: 4, restarts: 2, seed: 7 };
  const seen: number[] = [];
  const got = maxDamage(page.attackModel, x, settings, (f) => seen.push(f));
  assert.is(seen.length, 1 + settings.steps + 1 + 2);
  assert.is(seen[seen.length - 1], 1);
  assert.ok(seen.every((f, i) => i === 0 || f > seen[i - 1]), "progress only grows");
  const { vae, meta } = loadModel(dir);
  const want = maxDamageAttack(attackModel(vae, meta.bjorckIters), x, 1, settings.radius,
    { ...DEFAULT_MAX_DAMAGE, steps: settings.steps, restarts: settings.restarts, seed: settings.seed, evalSamples: 32 });
  // Same algorithm, streams and noise; the weights differ only by the export's rounding of s·W.
  assertClose(got.delta, want.delta, 1e-3, 0, "δ");
  assert.ok(Math.abs(got.damage - want.damage[0]) <= 1e-3 * want.damage[0], `damage ${got.damage} vs ${want.damage[0]}`);
  let sq = 0;
  got.delta.forEach((d, i) => {
    sq += d * d;
    assert.ok(x[i] + d >= 0 && x[i] + d <= 1, "x + δ stays in the pixel box");
  });
  assert.ok(Math.sqrt(sq) <= settings.radius * (1 + 1e-6));
});

test.run();
