// Numerical faults: a NaN or infinity in the loss or the gradients stops
// training with one line naming the epoch and batch, before the update, and the
// last good checkpoint stays usable; --detect-anomaly names the first op that
// made a non-finite value. The faults are injected with LIPVAE_TEST_POISON
// (see src/model/train.ts) into real `lipvae train` processes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { tensor } from "../src/engine/tensor.js";
import * as ops from "../src/engine/ops.js";
import { NonFiniteError, detectAnomaly, grad, requireGrad } from "../src/engine/tape.js";
import { readCheckpoint } from "../src/model/checkpoint.js";
import { loadModel } from "../src/model/store.js";
import { TINY, lipvae } from "./crash-util.js";

const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-faults-"));
test.after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => path.join(root, `d${++dirs}`);

interface Ended { status: number | null; stderr: string; lastLine: string }

function train(args: string[], poison: string): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "train", ...args], {
      cwd: projectRoot, env: { ...process.env, LIPVAE_TEST_POISON: poison },
    });
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stderr, lastLine: stderr.trimEnd().split("\n").at(-1)! }));
  });
}

/** NonFiniteError thrown by fn, or a failure. */
function anomaly(fn: () => unknown): NonFiniteError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NonFiniteError) return err;
    throw err;
  }
  return assert.unreachable("expected a NonFiniteError") as never;
}

// ---------------------------------------------------------------------------
// The tape

test("anomaly detection names the op whose forward made a NaN from finite inputs; off, the NaN passes silently", () => {
  const x = tensor([1, -1]);
  const err = anomaly(() => detectAnomaly(() => ops.log(x)));
  assert.is(err.op, "log");
  assert.is(err.pass, "forward");
  assert.ok(Number.isNaN(err.value));
  assert.is(err.inputAlready, false);
  assert.match(err.message, /the forward of log produced NaN from finite inputs/);
  // Scoped: outside detectAnomaly nothing checks.
  assert.ok(Number.isNaN(ops.log(x).data[1]));
});

test("anomaly detection names a backward rule that made an infinity while the forward stayed finite", () => {
  // log(1e-45) is finite; its derivative 1/x overflows f32.
  const x = requireGrad(tensor([1e-45, 1]));
  const loss = ops.sum(ops.log(x));
  assert.ok(Number.isFinite(loss.item()));
  const err = anomaly(() => detectAnomaly(() => grad(loss, [x])));
  assert.is(err.op, "log");
  assert.is(err.pass, "backward");
  assert.is(err.value, Infinity);
});

test("a non-finite leaf (a parameter, the data) is reported at the first op that reads it, as received", () => {
  const err = anomaly(() => detectAnomaly(() => ops.add(tensor([NaN, 0]), tensor([1, 1]))));
  assert.is(err.op, "add");
  assert.is(err.inputAlready, true);
  assert.match(err.message, /received NaN from an input that is not itself an op's output/);
});

// ---------------------------------------------------------------------------
// Training

test("a NaN weight in epoch 2: stops at that batch with one line, exit 2; the checkpoint of epoch 1 resumes to the uninterrupted result", async () => {
  const dir = newDir();
  // 4 steps per epoch: step 6 is epoch 2, batch 2.
  const r = await train([...TINY, "--out", dir], "weight-nan@6");
  assert.is(r.status, 2, r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
  assert.match(r.lastLine, /^lipvae train: training diverged: the training loss became NaN in train epoch 2, batch 2 \(--detect-anomaly names the op that made the first non-finite value\); lower --lr .* and start again with --overwrite; the best model before it \(train phase\) remains in /);
  const { state, tensors } = readCheckpoint(dir);
  assert.equal([state.phase, state.epoch, state.batchPos], ["train", 1, 0], "the checkpoint written after epoch 1");
  for (const [name, t] of Object.entries(tensors)) assert.ok((t.data as Float32Array).every(Number.isFinite), `${name} is finite`);
  loadModel(dir);
  // --detect-anomaly only observes: accepted on resume, and the result is the same.
  const resumed = await lipvae(["train", "--out", dir, "--resume", "--detect-anomaly"]);
  assert.is(resumed.status, 0, resumed.stderr);
  const straight = newDir();
  assert.is((await lipvae(["train", ...TINY, "--out", straight])).status, 0);
  assert.equal(readFileSync(path.join(dir, "model.safetensors")), readFileSync(path.join(straight, "model.safetensors")));
});

test("a NaN gradient with a finite loss is caught before the update, naming the parameter, epoch and batch", async () => {
  const r = await train([...TINY, "--out", newDir()], "grad-nan@3");
  assert.is(r.status, 2, r.stderr);
  assert.match(r.lastLine, /^lipvae train: training diverged: the gradient of encoder_mean\.0\.weight holds NaN in train epoch 1, batch 3 \(--detect-anomaly .*; no model was saved$/);
});

test("--detect-anomaly names the first op that made a non-finite value (an overflowing weight in Björck) with epoch and batch", async () => {
  const r = await train([...TINY, "--out", newDir(), "--detect-anomaly"], "weight-huge@2");
  assert.is(r.status, 2, r.stderr);
  assert.match(r.lastLine, /^lipvae train: training diverged: the forward of bjorck produced (NaN|-?Infinity) from finite inputs in train epoch 1, batch 2; lower --lr/);
  const nan = await train([...TINY, "--out", newDir(), "--detect-anomaly"], "weight-nan@2");
  assert.match(nan.lastLine, /the forward of bjorck received NaN from an input that is not itself an op's output \(a parameter or the data\) in train epoch 1, batch 2;/);
});

test.run();
