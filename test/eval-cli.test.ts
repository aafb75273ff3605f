// `lipvae eval` as a user runs it: through bin/lipvae.js for the end-to-end
// run and for the one-line errors (status 2) on broken model directories;
// in process (runEval with the fixture's dataset) for the fingerprint warning
// and flag checks, which would otherwise each cost a CLI start and a data load.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { evalCommand, runEval } from "../src/cli/eval.js";
import { UsageError } from "../src/cli/command.js";
import { scratchDir, tinyDataset, tinyModel } from "./export-fixture.js";

interface Run { status: number | null; stdout: string; stderr: string }

/** Runs the CLI without blocking, so that the runs below overlap. */
function lipvae(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), ...args], { cwd: projectRoot });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** A copy of the tiny learned model that a test may damage. */
async function copyOfModel(name: string): Promise<string> {
  const dir = path.join(scratchDir(), name);
  cpSync(await tinyModel("learned"), dir, { recursive: true });
  return dir;
}

function assertOneLineError(r: Run, ...fragments: string[]): void {
  assert.is(r.status, 2, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.is(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], /^lipvae eval: /);
  for (const f of fragments) assert.match(lines[0], f);
}

/** Every CLI run of this file, started together once the fixtures exist. */
async function startRuns() {
  const dir = await tinyModel("learned");
  const out = path.join(scratchDir(), "cli-eval");
  const corrupt = await copyOfModel("corrupt-json");
  writeFileSync(path.join(corrupt, "model.json"), '{"format": "lipvae-model", "config": {');
  const badHash = await copyOfModel("bad-hash");
  const weights = path.join(badHash, "model.safetensors");
  const bytes = readFileSync(weights);
  bytes[bytes.length - 1] ^= 0x01;
  writeFileSync(weights, bytes);
  const [happy, missing, corruptJson, hashMismatch] = await Promise.all([
    lipvae("eval", "--model", dir, "--images", "30", "--seed", "5", "--out", out),
    lipvae("eval", "--model", path.join(scratchDir(), "no-such-model")),
    lipvae("eval", "--model", corrupt),
    lipvae("eval", "--model", badHash),
  ]);
  return { out, happy, missing, corruptJson, hashMismatch };
}

let started: ReturnType<typeof startRuns> | null = null;
const runs = () => (started ??= startRuns());

test("eval prints a summary and writes eval.json and two PNGs", async () => {
  const { happy: r, out } = await runs();
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, "30 MNIST test images");
  assert.match(r.stdout, /log-likelihood\s+-?\d+\.\d\d ± \d+\.\d\d/);
  assert.match(r.stdout, /ELBO\s+-?\d+\.\d\d/);
  assert.match(r.stdout, path.join(out, "eval.json"));
  assert.not.match(r.stderr, "warning");
  const json = JSON.parse(readFileSync(path.join(out, "eval.json"), "utf8"));
  assert.is(json.dataset.name, "mnist");
  assert.is(json.dataset.images, 30);
  assert.is(json.dataset.matchesModel, true);
  assert.match(json.dataset.fingerprint, /^sha256:[0-9a-f]{64}$/);
  assert.is(json.seed, 5);
  assert.ok(Number.isFinite(json.logLikelihood.mean) && Number.isFinite(json.elbo.mean));
  assert.ok(existsSync(path.join(out, "reconstructions.png")));
  assert.ok(existsSync(path.join(out, "prior-samples.png")));
});

test("a missing model directory is one clear line, status 2", async () => {
  assertOneLineError((await runs()).missing, "does not exist", "lipvae train --out");
});

test("a corrupt model.json is one clear line, status 2", async () => {
  assertOneLineError((await runs()).corruptJson, "model.json is not valid JSON", "corrupt");
});

test("parameters that do not match the recorded hash are one clear line, status 2", async () => {
  assertOneLineError((await runs()).hashMismatch, "does not match the hash");
});

test("data that differ from the model's give a one-line warning, not a failure; --out defaults to DIR/eval", async () => {
  const dir = await copyOfModel("other-data");
  const warnings: string[] = [], lines: string[] = [];
  const record = await runEval({
    model: dir, images: 10, seed: 0, batchSize: 500, progress: false,
    dataset: { ...tinyDataset(), fingerprint: "sha256:" + "0".repeat(64) },
    log: (l) => lines.push(l), warn: (l) => warnings.push(l),
  });
  assert.is(warnings.length, 1);
  assert.not.match(warnings[0], "\n");
  assert.match(warnings[0], "differ from the ones the model was trained on");
  assert.is(record.dataset.matchesModel, false);
  const json = path.join(dir, "eval", "eval.json");
  assert.ok(existsSync(json));
  assert.is(JSON.parse(readFileSync(json, "utf8")).dataset.matchesModel, false);
  assert.ok(lines.some((l) => l.includes(json)), "the summary says where the files went");
});

test("bad flags are usage errors", async () => {
  await runs(); // let the CLI runs finish first (they share the CPU)
  const usage = async (run: () => Promise<unknown>, fragment: string) => {
    try {
      await run();
    } catch (err) {
      assert.instance(err, UsageError);
      assert.match((err as Error).message, fragment);
      return;
    }
    assert.unreachable(`should fail with ${fragment}`);
  };
  const dir = await tinyModel("learned");
  await usage(() => evalCommand.run([]), "--model DIR is required");
  await usage(() => evalCommand.run(["--model", dir, "--images", "0"]), "--images must be at least 1");
  await usage(() => evalCommand.run(["--model", dir, "--seed", "x"]), "--seed must be a whole number");
  await usage(() => evalCommand.run(["--model", dir, "extra"]), "unexpected argument 'extra'");
  await usage(() => evalCommand.run(["--model", dir, "--images", "20000"]), "more than the 10000 test images");
});

test.run();
