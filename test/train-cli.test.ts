// `lipvae train` as a user runs it: Ctrl-C at any moment leaves a checkpoint
// and the command that resumes it; --resume refuses flags that would change
// the run; a diverged run fails clearly and saves nothing; --overwrite clears
// the previous run's derived files. Most runs go through main() in this
// process (a Ctrl-C is then process.emit("SIGINT") at a chosen moment, which
// is deterministic); two go through bin/lipvae.js for the real exit status
// and a real signal.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { TRAIN_OPTIONS, buildConfig, buildSettings, parseTrainFlags } from "../src/cli/train.js";
import { RESUME_CHECKED_FLAGS, RESUME_NEUTRAL_FLAGS, type ResumedRun, checkResumeFlags } from "../src/cli/train-resume.js";
import { LipvaeError } from "../src/errors.js";
import { loadModel } from "../src/model/store.js";
import * as ops from "../src/engine/ops.js";
import { noGrad } from "../src/engine/tape.js";
import { tidy } from "../src/engine/tensor.js";
import { removeOnExit } from "./helpers.js";
import { runMain, withFlags } from "./cli-run.js";

const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-train-cli-"));
removeOnExit(root);
let dirs = 0;
/** A run directory that does not exist yet. */
const newDir = () => path.join(root, `run-${++dirs}`);

// A tiny model on 256 images: 4 steps per epoch, one epoch per phase.
const TINY = ["--train-limit", "256", "--hidden", "16,16", "--latent-dim", "3", "--epochs", "1", "--finetune-epochs", "1",
  "--k-finetune", "4", "--batch-size", "64", "--validation-limit", "128", "--lr", "3e-3"];

interface Run { status: number | null; stdout: string; stderr: string }

/** `lipvae ...args` in this process, its output captured; onOutput sees every chunk as it is written. */
const lipvae = runMain;

/** Ctrl-C as soon as `pattern` appears in the output. */
const ctrlCAt = (pattern: RegExp) => {
  let sent = false, seen = "";
  return (text: string) => {
    seen += text;
    if (!sent && pattern.test(seen)) {
      sent = true;
      process.emit("SIGINT");
    }
  };
};

/** The command an interrupted run prints, as arguments for main(). */
function resumeCommand(r: Run): string[] {
  const m = /Continue with:\n {2}lipvae (train .*)\n/.exec(r.stdout);
  assert.ok(m, `a resume command in: ${r.stdout}`);
  return m![1].split(" ");
}

/** bin/lipvae.js in a child process; onStderr sees its stderr as it arrives. */
function spawnLipvae(args: string[], onStderr?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), ...args], { cwd: projectRoot });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      onStderr?.(stderr, (signal) => child.kill(signal));
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------
// Ctrl-C

test("Ctrl-C before the first step of a new run writes a checkpoint and prints the command that resumes it exactly", async () => {
  const dir = newDir();
  const first = await lipvae(["train", ...TINY, "--out", dir], ctrlCAt(/phase train/));
  assert.is(first.status, 130, first.stderr);
  assert.ok(existsSync(path.join(dir, "checkpoint.safetensors")), "checkpoint written");
  assert.match(first.stderr, /checkpoint written to/);
  const again = resumeCommand(first);
  assert.equal(again, ["train", "--out", dir, "--resume"]);
  // No other flag: the run continues with the checkpoint's settings, not the defaults.
  const resumed = await lipvae(again);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, /Done: finetune: ran the requested 1 epochs/);
  const straightDir = newDir();
  assert.is((await lipvae(["train", ...TINY, "--out", straightDir])).status, 0);
  assert.equal(readFileSync(path.join(dir, "model.safetensors")), readFileSync(path.join(straightDir, "model.safetensors")),
    "the resumed model equals the uninterrupted one byte for byte");
});

test("a real SIGINT stops `lipvae train` with a checkpoint, exit status 130 and the resume command", async () => {
  const dir = newDir();
  // Far more epochs than the signal needs to arrive: the run cannot finish first.
  const args = ["train", "--train-limit", "2000", "--hidden", "16,16", "--latent-dim", "3", "--tolerance", "0", "--no-finetune",
    "--validation-limit", "128", "--out", dir];
  let sent = false;
  const r = await spawnLipvae(args, (stderr, kill) => {
    if (!sent && /phase train/.test(stderr)) {
      sent = true;
      kill("SIGINT");
    }
  });
  assert.is(r.status, 130, r.stderr);
  assert.ok(existsSync(path.join(dir, "checkpoint.safetensors")), "checkpoint written");
  assert.match(r.stdout, new RegExp(`Continue with:\\n  lipvae train --out ${dir} --resume\\n`));
  assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
});

// ---------------------------------------------------------------------------
// --resume

test("--resume refuses a flag that differs from the checkpoint's, naming it; repeated or neutral flags are accepted", async () => {
  const dir = newDir();
  assert.is((await lipvae(["train", ...TINY, "--out", dir], ctrlCAt(/phase train/))).status, 130);
  const refused = async (extra: string[], ...fragments: RegExp[]) => {
    const r = await lipvae(["train", "--out", dir, "--resume", ...extra]);
    assert.is(r.status, 2, `${extra.join(" ")} should be refused: ${r.stdout}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], /^lipvae train: --resume: /);
    for (const f of fragments) assert.match(lines[0], f);
  };
  await refused(["--batch-size", "32"], /--batch-size 32 differs from the checkpoint's 64; drop the flag or start a new run with --out$/);
  await refused(["--lr", "1e-4"], /--lr 1e-4 differs from the checkpoint's 0\.003/);
  await refused(["--k", "5"], /--k 5 differs from the checkpoint's 3/);
  await refused(["--latent-dim", "4"], /--latent-dim 4 differs from the checkpoint's 3/);
  await refused(["--lipschitz", "5"], /--lipschitz 5 differs from the checkpoint's decoder constant 10/);
  await refused(["--sigma", "fixed", "--gamma", "0.1"], /--sigma fixed differs from the checkpoint's learned/);
  await refused(["--epochs", "3"], /--epochs 3 differs from the checkpoint's 1/);
  await refused(["--no-finetune"], /--no-finetune differs from the checkpoint's run, which fine-tunes/);
  await refused(["--seed", "1", "--hidden", "32,32"], /--seed 1 differs from the checkpoint's 0; --hidden 32,32 differs from the checkpoint's 16,16; drop these flags/);
  // The original command with --resume, plus the flags that only say where files are.
  const ok = await lipvae(["train", ...withFlags(TINY, ["--batch-size", "64.0"]), "--lipschitz", "10", "--out", dir, "--resume",
    "--data-dir", path.join(projectRoot, "data", "mnist")]);
  assert.is(ok.status, 0, ok.stderr);
});

test("every `lipvae train` flag is compared on --resume or cannot change the result", () => {
  for (const flag of Object.keys(TRAIN_OPTIONS)) {
    assert.ok(RESUME_CHECKED_FLAGS.includes(flag) || RESUME_NEUTRAL_FLAGS.includes(flag), `--${flag} has no --resume rule`);
  }
});

/** The run a fresh `lipvae train ...argv` would start. */
function runOf(argv: string[]): ResumedRun {
  const { values } = parseTrainFlags(argv);
  const config = buildConfig(values);
  return { config, settings: buildSettings(values, config), seed: Number(values.seed), dataset: values.dataset, trainLimit: null };
}

/** What --resume says about `extra` on the run started by `original` (null: accepted). */
function resumeVerdict(original: string[], extra: string[]): string | null {
  const { values, given } = parseTrainFlags([...extra, "--resume"]);
  try {
    checkResumeFlags(values, given, runOf(original));
    return null;
  } catch (err) {
    assert.instance(err, LipvaeError);
    return (err as Error).message;
  }
}

test("--resume accepts the flags a run was started with, whatever flags interact, and names one that differs", () => {
  const starts = [
    ["--sigma", "fixed", "--gamma", "0.1", "--latent-dim", "3"],
    ["--sigma", "fixed", "--gamma", "0.1,0.2,0.3", "--latent-dim", "3"],
    ["--sigma", "constrained", "--desired-radius", "4", "--lipschitz", "5"],
    ["--sigma", "constrained", "--clip-norm", "0.2", "--desired-radius", "7"],
    ["--sigma", "constrained"],
    ["--kind", "standard", "--lipschitz", "5", "--no-finetune"],
    ["--lipschitz", "10", "--lipschitz-decoder", "4", "--beta", "2"],
    ["--sigma", "learned", "--gamma", "0.3", "--epochs", "2", "--finetune-epochs", "1", "--max-epochs", "9"],
  ];
  for (const start of starts) assert.is(resumeVerdict(start, start), null, start.join(" "));
  // A subset of the flags (the rest comes from the checkpoint) is accepted too.
  assert.is(resumeVerdict(starts[6], ["--lipschitz-decoder", "4"]), null);
  assert.is(resumeVerdict(starts[1], ["--gamma", "0.1,0.2,0.3"]), null);
  const differs = (start: string[], extra: string[], expected: RegExp) => assert.match(resumeVerdict(start, extra) ?? "accepted", expected);
  differs(starts[0], ["--gamma", "0.2"], /--gamma 0\.2 differs from the checkpoint's 0\.1/);
  differs(starts[1], ["--gamma", "0.1"], /--gamma 0\.1 differs from the checkpoint's 0\.1,0\.2,0\.3/);
  differs(starts[2], ["--desired-radius", "5"], /--desired-radius 5 differs from the checkpoint's 4/);
  differs(starts[3], ["--clip-norm", "0.3"], /--clip-norm 0\.3 differs from the checkpoint's 0\.2/);
  differs(starts[5], ["--kind", "lipschitz"], /--kind lipschitz differs from the checkpoint's standard/);
  differs(starts[6], ["--lipschitz", "10"], /--lipschitz 10 differs from the checkpoint's decoder constant 4/);
  differs(starts[6], ["--lipschitz-std", "4"], /--lipschitz-std 4 differs from the checkpoint's 10/);
  differs(starts[7], ["--epochs", "3"], /--epochs 3 differs from the checkpoint's 2/);
  differs(starts[4], ["--epochs", "3"], /--epochs 3 differs from the checkpoint's run, which trains until the loss settles/);
  differs(starts[4], ["--train-limit", "100"], /--train-limit 100 differs from the checkpoint's run, which trains on every training image/);
  differs(starts[4], ["--dataset", "fashion-mnist"], /--dataset fashion-mnist differs from the checkpoint's mnist/);
});

test("--bjorck-method and --bjorck-tol are recorded in the configuration, validated, and fixed on --resume", () => {
  const config = (argv: string[]) => buildConfig(parseTrainFlags(argv).values);
  assert.equal(config([]).bjorck, { beta: 0.5, trainIters: 3, finetuneIters: 50, method: "iterate", tolerance: null });
  assert.equal(config(["--bjorck-method", "spectral", "--bjorck-tol", "1e-4"]).bjorck,
    { beta: 0.5, trainIters: 3, finetuneIters: 50, method: "spectral", tolerance: 1e-4 });
  assert.throws(() => config(["--bjorck-method", "svd"]), /--bjorck-method must be iterate or spectral \(got 'svd'\)/);
  assert.throws(() => config(["--bjorck-tol", "-1"]), /--bjorck-tol/);
  const differs = (start: string[], extra: string[], expected: RegExp) => assert.match(resumeVerdict(start, extra) ?? "accepted", expected);
  differs(["--bjorck-method", "spectral"], ["--bjorck-method", "iterate"], /--bjorck-method iterate differs from the checkpoint's spectral/);
  differs([], ["--bjorck-method", "spectral"], /--bjorck-method spectral differs from the checkpoint's iterate/);
  differs([], ["--bjorck-tol", "1e-3"], /--bjorck-tol 1e-3 differs from the checkpoint's run, which never stops the Björck steps early/);
  differs(["--bjorck-tol", "1e-3"], ["--bjorck-tol", "1e-4"], /--bjorck-tol 1e-4 differs from the checkpoint's 0\.001/);
  assert.is(resumeVerdict(["--bjorck-tol", "1e-3", "--bjorck-method", "spectral"], ["--bjorck-tol", "0.001", "--bjorck-method", "spectral"]), null);
  // A checkpoint written before these settings existed ran the paper's iteration without a tolerance.
  const old = runOf([]);
  delete old.config.bjorck.method;
  delete old.config.bjorck.tolerance;
  const { values, given } = parseTrainFlags(["--bjorck-method", "iterate", "--resume"]);
  checkResumeFlags(values, given, old);
  assert.throws(() => checkResumeFlags(...(() => {
    const p = parseTrainFlags(["--bjorck-method", "spectral", "--resume"]);
    return [p.values, p.given, old] as const;
  })()), /--bjorck-method spectral differs from the checkpoint's iterate/);
});

test("a spectral run trains, resumes after Ctrl-C byte for byte, and records its method; old model.json files mean iterate", async () => {
  const flags = [...TINY, "--bjorck-method", "spectral"];
  const dir = newDir();
  const first = await lipvae(["train", ...flags, "--out", dir], ctrlCAt(/train epoch 1: train loss/));
  assert.is(first.status, 130, first.stderr);
  assert.match(first.stderr, /spectral Björck/);
  const resumed = await lipvae(resumeCommand(first));
  assert.is(resumed.status, 0, resumed.stderr);
  const straight = newDir();
  assert.is((await lipvae(["train", ...flags, "--out", straight])).status, 0);
  assert.equal(readFileSync(path.join(dir, "model.safetensors")), readFileSync(path.join(straight, "model.safetensors")),
    "the resumed spectral run equals the uninterrupted one");
  assert.is(loadModel(dir).meta.config.bjorck.method, "spectral");
  // The same model.json without the method: the model runs the paper's iteration.
  const json = path.join(dir, "model.json");
  const meta = JSON.parse(readFileSync(json, "utf8"));
  delete meta.config.bjorck.method;
  delete meta.config.bjorck.tolerance;
  writeFileSync(json, JSON.stringify(meta));
  const { vae } = loadModel(dir);
  const w = vae.decoder.layers[1].weight;
  const viaModel = noGrad(() => tidy(() => Float64Array.from(vae.effectiveWeights(4).decoder[1].data)));
  const iterated = noGrad(() => tidy(() => Float64Array.from(ops.bjorck(w, 4).data)));
  assert.equal(viaModel, iterated);
});

// ---------------------------------------------------------------------------
// Divergence

test("a diverged run exits with status 2 and one line saying to lower --lr, and saves no model", async () => {
  const dir = newDir();
  const r = await spawnLipvae(["train", "--train-limit", "64", "--epochs", "1", "--no-finetune", "--lr", "1e10",
    "--hidden", "16,16", "--validation-limit", "100", "--out", dir]);
  assert.is(r.status, 2, r.stdout + r.stderr);
  assert.not.match(r.stderr, /best, saved/);
  assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
  const last = r.stderr.trimEnd().split("\n").at(-1)!;
  assert.match(last, /^lipvae train: training diverged: the validation loss is NaN after train epoch 1; lower --lr .*; no model was saved$/);
  assert.not.ok(existsSync(path.join(dir, "model.json")), "no model.json");
});

// ---------------------------------------------------------------------------
// --overwrite

test("--overwrite removes the previous run and every file derived from it, says so, and keeps unknown files", async () => {
  const dir = newDir();
  assert.is((await lipvae(["train", ...TINY, "--out", dir])).status, 0);
  // What the other commands write into a model directory by default.
  for (const args of [
    ["export", "--model", dir],
    ["certify", "--model", dir, "--images", "2"],
    ["eval", "--model", dir, "--images", "20"],
    ["attack", "--model", dir, "--kind", "latent", "--images", "1", "--steps", "2", "--restarts", "1"],
    ["attack", "--model", dir, "--kind", "max-damage", "--images", "1", "--steps", "2", "--restarts", "1"],
    ["margin", "--model", dir, "--images", "1", "--samples", "8", "--grid", "paper", "--max-radius", "1", "--step", "0.5", "--steps", "2", "--restarts", "1"],
  ]) {
    const r = await lipvae(args);
    assert.is(r.status, 0, `${args[0]}: ${r.stderr}`);
  }
  for (const sub of ["eval", "attack", "margin"]) assert.ok(readdirSync(path.join(dir, sub)).length > 0, `${sub}/ written`);
  assert.ok(existsSync(path.join(dir, "export.safetensors")) && existsSync(path.join(dir, "certificates.json")));
  writeFileSync(path.join(dir, "notes.txt"), "mine");
  writeFileSync(path.join(dir, "eval", "mine.txt"), "mine");
  writeFileSync(path.join(dir, ".model.json.4242.0badcafe.tmp"), "torn");
  mkdirSync(path.join(dir, "plots"));

  const r = await lipvae(["train", ...withFlags(TINY, ["--latent-dim", "4"]), "--out", dir, "--overwrite"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /--overwrite: removed the previous run's files from .*: \.model\.json\.4242\.0badcafe\.tmp, attack\/, certificates\.json, checkpoint\.safetensors, eval\/eval\.json, eval\/prior-samples\.png, eval\/reconstructions\.png, export\.safetensors, margin\/, model\.json, model\.safetensors\n/);
  assert.match(r.stderr, /--overwrite: left eval\/mine\.txt, notes\.txt, plots\/ in .* \(not written by lipvae\)/);
  assert.equal(readdirSync(dir).sort(), ["checkpoint.safetensors", "eval", "model.json", "model.safetensors", "notes.txt", "plots"]);
  assert.equal(readdirSync(path.join(dir, "eval")), ["mine.txt"]);
  assert.is(loadModel(dir).meta.config.latentDim, 4);
});

test("--overwrite leaves a folder alone whose model.json is not lipvae's", async () => {
  const dir = newDir();
  mkdirSync(dir);
  writeFileSync(path.join(dir, "model.json"), '{"format": "something-else"}');
  writeFileSync(path.join(dir, "certificates.json"), "{}");
  const r = await lipvae(["train", ...TINY, "--out", dir, "--overwrite"]);
  assert.is(r.status, 2);
  assert.match(r.stderr.trimEnd().split("\n").at(-1)!, /^lipvae train: --overwrite: .*model\.json is not a lipvae model file, so nothing was removed/);
  assert.equal(readdirSync(dir).sort(), ["certificates.json", "model.json"]);
});

test.run();
