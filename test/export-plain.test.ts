// `lipvae export`: the plain affine layers, run in f64 by plainForward, give
// the model's own outputs (mu, sigma, lambda) within 1e-5 for every sigma mode
// and the standard VAE; the metadata describes the model; the CLI works.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { tidy } from "../src/engine/tensor.js";
import { noGrad } from "../src/engine/tape.js";
import { stream } from "../src/engine/random.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { loadModel } from "../src/model/store.js";
import { sliceRows } from "../src/model/train.js";
import { normalNoise } from "../src/model/vae.js";
import { EXPORT_FORMAT, exportModel } from "../src/model/export.js";
import { exportCommand } from "../src/cli/export.js";
import { UsageError } from "../src/cli/command.js";
import { plainForward, readPlainVae } from "../src/model/plain.js";
import { VARIANTS, scratchDir, tinyDataset, tinyModel } from "./export-fixture.js";
import { expectLipvaeError } from "./io-util.js";

const BATCH = 24;

/** The model's f32 outputs for the first BATCH test images and the given noise. */
function modelOutputs(dir: string, noise: Float32Array) {
  const { vae, meta } = loadModel(dir);
  const dz = vae.config.latentDim;
  return noGrad(() => tidy(() => {
    const w = vae.effectiveWeights(meta.bjorckIters);
    const post = vae.encode(sliceRows(tinyDataset().test.images, 0, BATCH), w);
    const eps = normalNoise(BATCH, dz, { fillNormal: (out) => out.set(noise) });
    const lambda = vae.decode(vae.sample(post, eps), w);
    return { mu: Float64Array.from(post.mu.data), sigma: Float64Array.from(post.sigma.data), lambda: Float64Array.from(lambda.data) };
  }));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const variant of VARIANTS) {
  test(`${variant}: plain f64 forward of the export reproduces mu, sigma and lambda within 1e-5`, async () => {
    const dir = await tinyModel(variant);
    const file = path.join(scratchDir(), `export-${variant}.safetensors`);
    exportModel(loadModel(dir), file);
    const plain = readPlainVae(file);
    const noise = new Float32Array(BATCH * plain.latentDim);
    stream(7, "test").fillNormal(noise);
    const want = modelOutputs(dir, noise);
    const x = tinyDataset().test.images.subarray(0, BATCH * 784);
    const got = plainForward(plain, x, noise, BATCH);
    for (const key of ["mu", "sigma", "lambda"] as const) {
      const d = maxDiff(got[key], want[key]);
      assert.ok(d <= 1e-5, `${variant} ${key}: max |plain - model| = ${d}`);
    }
    // Outputs that are not trivially equal: mu varies, lambda is not constant.
    assert.ok(Math.max(...got.mu) - Math.min(...got.mu) > 1e-3, "mu varies across images");
    if (variant === "constrained") {
      const norms = Array.from({ length: BATCH }, (_, r) => Math.hypot(...got.sigma.subarray(r * 4, r * 4 + 4)));
      assert.ok(norms.some((n) => Math.abs(n - 0.3) < 1e-9), "the clip is active on some row");
      assert.ok(norms.every((n) => n <= 0.3 + 1e-9), "no sigma row exceeds the clip norm");
    }
  });
}

test("metadata and tensor names describe each variant", async () => {
  const names = (net: string) => [0, 1, 2].flatMap((i) => [`${net}.${i}.weight`, `${net}.${i}.bias`]);
  for (const variant of VARIANTS) {
    const dir = await tinyModel(variant);
    const model = loadModel(dir);
    const { tensors, metadata: md } = readSafetensors(path.join(scratchDir(), `export-${variant}.safetensors`));
    const nets = variant === "fixed" ? ["encoder_mean", "decoder"] : ["encoder_mean", "encoder_std", "decoder"];
    assert.equal(Object.keys(tensors).sort(), nets.flatMap(names).sort(), variant);
    assert.equal(tensors["encoder_mean.0.weight"].shape, [32, 784]);
    assert.equal(tensors["encoder_mean.2.bias"].shape, [4]);
    assert.equal(tensors["decoder.0.weight"].shape, [32, 4]);
    assert.equal(tensors["decoder.2.weight"].shape, [784, 32]);
    assert.ok(Object.values(tensors).every((t) => t.dtype === "F32"));
    assert.is(md.format, EXPORT_FORMAT);
    assert.is(md.format_version, "1");
    assert.is(md.latent_dim, "4");
    assert.is(md.input_dim, "784");
    assert.is(md.hidden, "[32,32]");
    assert.is(md["output.encoder_mean"], "identity");
    assert.is(md["output.encoder_std"], "sigmoid");
    assert.is(md["output.decoder"], "sigmoid");
    assert.is(md.sigma_mode, variant === "standard" ? "learned" : variant);
    assert.is(md.source_model_sha256, model.meta.parameters.sha256);
    assert.is(md.bjorck_iters, String(model.meta.bjorckIters));
    assert.is(md.scale_folded, "true");
    assert.is(md.dataset, "mnist");
    if (variant === "standard") {
      assert.is(md.activation, "relu");
      assert.is(md.groupsort_group_size, undefined);
      assert.is(md.bjorck_iters, "0");
      assert.is(md.bjorck_method, undefined);
      assert.is(md["lipschitz.decoder"], "1");
    } else {
      assert.is(md.activation, "groupsort");
      assert.is(md.groupsort_group_size, "2");
      assert.is(md.bjorck_iters, "10", "the fine-tuned model's K");
      assert.is(md.bjorck_method, "iterate");
      assert.is(md.bjorck_tolerance, undefined);
      assert.is(md["lipschitz.encoder_mean"], "5");
    }
    if (variant === "fixed") assert.equal(JSON.parse(md.sigma_gamma), [0.1, 0.2, 0.05, 0.3]);
    else assert.is(md.sigma_gamma, undefined);
    if (variant === "constrained") {
      assert.is(md.sigma_clip_norm, "0.3");
      assert.is(md.sigma_desired_radius, "4.24");
    } else assert.is(md.sigma_clip_norm, undefined);
  }
});

test("Lipschitz export: every layer's weight is s times a near-orthonormal matrix (Björck applied, scale folded)", async () => {
  const { tensors } = readSafetensors(path.join(scratchDir(), "export-learned.safetensors"));
  const s = 5 ** (1 / 3);
  // For a [32, 4] (tall) decoder.0 weight, W^T W = s^2 I after Björck converges; 10 steps from a
  // barely trained init get most of the way, so check the Gram's diagonal loosely and its scale.
  const w = tensors["decoder.0.weight"].data as Float32Array;
  const [out, inp] = tensors["decoder.0.weight"].shape;
  for (let j = 0; j < inp; j++) {
    let g = 0;
    for (let o = 0; o < out; o++) g += w[o * inp + j] ** 2;
    assert.ok(g > 0.5 * s * s && g < s * s * (1 + 1e-4), `column ${j}: squared norm ${g}, s^2 = ${s * s}`);
  }
});

test("readPlainVae rejects a file that is not an export", async () => {
  const dir = await tinyModel("learned");
  expectLipvaeError(() => readPlainVae(path.join(dir, "model.safetensors")), "not a lipvae export", "lipvae export");
});

function lipvae(...args: string[]) {
  const run = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), ...args], { encoding: "utf8", cwd: projectRoot });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("CLI: lipvae export writes the file and says where", async () => {
  const dir = await tinyModel("constrained");
  const out = path.join(scratchDir(), "cli-export.safetensors");
  const r = lipvae("export", "--model", dir, "--out", out);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `wrote ${out}`);
  assert.match(r.stdout, "Björck K=10 applied");
  assert.ok(existsSync(out));
  assert.is(readPlainVae(out).sigma.mode, "constrained");
});

test("export refuses to overwrite model.safetensors, and needs --model", async () => {
  const dir = await tinyModel("learned");
  const usage = async (args: string[], fragment: string) => {
    try {
      await exportCommand.run(args);
    } catch (err) {
      assert.instance(err, UsageError);
      assert.match((err as Error).message, fragment);
      return;
    }
    assert.unreachable(`${args.join(" ")} should fail`);
  };
  await usage(["--model", dir, "--out", path.join(dir, "model.safetensors")], "would overwrite the model's own parameters");
  await usage(["--model", dir, "--out", scratchDir()], "is a directory");
  await usage([], "--model DIR is required");
});

test.run();
