// What a kill -9 or a failing disk leaves behind, one case at a time (the
// defects that random kills found): temporary files that nothing removed,
// a run killed before its first checkpoint that neither --resume nor a plain
// run would continue, model files torn between their two writes, and errors
// that named the hidden temporary file instead of the user's.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ATOMIC_TEMP, removeStaleTemps, writeAll, writeAtomicWith, writeFileAtomic } from "../src/io/atomic.js";
import { loadModel } from "../src/model/store.js";
import { expectLipvaeError } from "./io-util.js";
import { TINY, lipvae, tinyTrainer, withFlags } from "./crash-util.js";

const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-crash-files-"));
test.after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => path.join(root, `d${++dirs}`);
const temps = (dir: string) => readdirSync(dir).filter((f) => ATOMIC_TEMP.test(f));

/** The pid of a process that has exited (so no file of it can be a write in progress). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  if (!r.pid) throw new Error(`cannot start node: ${r.error}`);
  return r.pid;
}

// ---------------------------------------------------------------------------
// The atomic writer

test("a full disk is one clear error naming the user's file (not the temporary one); the old file and no temporary file remain", () => {
  const file = path.join(root, "full.bin");
  writeFileSync(file, "old");
  const message = expectLipvaeError(() => writeAtomicWith(file, (fd) => {
    writeAll(fd, new Uint8Array(1000));
    // What writeSync throws when the disk fills up.
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
  }), `cannot write ${file}`, "disk is full", "ENOSPC");
  assert.not.match(message, /\.tmp/);
  assert.is(readFileSync(file, "utf8"), "old");
  assert.equal(temps(root), []);
});

test("a file-system error names the user's path: a missing folder", () => {
  const file = path.join(root, "no-such-folder", "model.json");
  const message = expectLipvaeError(() => writeFileAtomic(file, "{}"), `cannot write ${file}`, "folder does not exist", "ENOENT");
  assert.not.match(message, /\.tmp/);
});

test("stale temporary files: those of dead processes (and of this one) are removed, a live process's and other files stay", () => {
  const dir = newDir();
  mkdirSync(dir);
  const dead = `.model.safetensors.${deadPid()}.0123abcd.tmp`;
  const mine = `.checkpoint.safetensors.${process.pid}.89abcdef.tmp`;
  const live = `.model.json.${process.ppid}.deadbeef.tmp`; // our parent runs: maybe a write in progress
  const other = ".notes.1234.tmp"; // not our pattern
  for (const [name, size] of [[dead, 3000], [mine, 500], [live, 10], [other, 10]] as const) writeFileSync(path.join(dir, name), new Uint8Array(size));
  const { removed, bytes } = removeStaleTemps(dir);
  assert.equal(removed.sort(), [mine, dead].sort());
  assert.is(bytes, 3500);
  assert.equal(readdirSync(dir).sort(), [live, other].sort());
  assert.equal(removeStaleTemps(path.join(dir, "missing")), { removed: [], bytes: 0 });
});

test("`lipvae train --resume` removes the temporary files a killed save left and says how much it freed", async () => {
  // A run stopped at its first Ctrl-C, with what a kill -9 inside two saves leaves beside it.
  const stopped = newDir();
  const control = { stop: true };
  assert.is((await tinyTrainer(stopped, { control }).run()).status, "interrupted");
  const left = [`.model.safetensors.${deadPid()}.00000001.tmp`, `.checkpoint.safetensors.${deadPid()}.00000002.tmp`];
  for (const name of left) writeFileSync(path.join(stopped, name), new Uint8Array(2_000_000));
  const resumed = await lipvae(["train", "--out", stopped, "--resume"]);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /removed 2 temporary files \(4\.0 MB\) that an interrupted save left behind/);
  assert.equal(temps(stopped), []);
});

// ---------------------------------------------------------------------------
// Killed between saves

test("killed after the first model save but before the first checkpoint: --resume starts the run again, says so, and ends as an uninterrupted run", async () => {
  const dir = newDir();
  // The "epoch" event comes after the model save and before the checkpoint: stop there, as a kill would.
  const trainer = tinyTrainer(dir, { onEvent: (e) => { if (e.type === "epoch") throw new Error("killed"); } });
  await trainer.run().then(() => assert.unreachable("stopped"), (err) => assert.is((err as Error).message, "killed"));
  assert.ok(existsSync(path.join(dir, "model.json")) && !existsSync(path.join(dir, "checkpoint.safetensors")));
  // A plain run still refuses to replace it, and points to --resume...
  const plain = await lipvae(["train", ...TINY, "--out", dir]);
  assert.is(plain.status, 2);
  assert.match(plain.stderr, /pass --resume to continue it/);
  // ...which now works, with the original flags or none.
  const resumed = await lipvae(["train", "--out", dir, "--resume"]);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /has no checkpoint yet \(the run was stopped between its first model save and its first checkpoint\): training again from the beginning/);
  const straight = newDir();
  assert.is((await lipvae(["train", ...TINY, "--out", straight])).status, 0);
  assert.equal(readFileSync(path.join(dir, "model.safetensors")), readFileSync(path.join(straight, "model.safetensors")));
});

test("model files torn between their two writes: resuming rewrites them from the checkpoint before training on", async () => {
  const dir = newDir();
  let epochs = 0;
  const control = { stop: false };
  const trainer = tinyTrainer(dir, { control, onEvent: (e) => { if (e.type === "epoch" && ++epochs === 1) control.stop = true; } });
  assert.is((await trainer.run()).status, "interrupted");
  const good = readFileSync(path.join(dir, "model.safetensors"));
  // New weights (another run's), old model.json: what a kill between the two writes of a save leaves.
  const other = newDir();
  assert.is((await lipvae(["train", ...withFlags(TINY, ["--out", other, "--seed", "7", "--epochs", "1", "--no-finetune"])])).status, 0);
  writeFileSync(path.join(dir, "model.safetensors"), readFileSync(path.join(other, "model.safetensors")));
  expectLipvaeError(() => loadModel(dir), "does not match the hash");
  expectLipvaeError(() => loadModel(dir), `lipvae train --out ${dir} --resume\` rewrites both from the run's checkpoint`);
  const events: string[] = [];
  tinyTrainer(dir, { resume: true, onEvent: (e) => events.push(e.type) });
  assert.equal(events, ["repaired"]);
  assert.equal(readFileSync(path.join(dir, "model.safetensors")), good, "the checkpoint's best model is back");
  loadModel(dir);
  // Through the CLI: says so, and finishes as an uninterrupted run.
  writeFileSync(path.join(dir, "model.safetensors"), readFileSync(path.join(other, "model.safetensors")));
  const resumed = await lipvae(["train", "--out", dir, "--resume"]);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /the model files were from two different saves \(the run was killed between them\); rewrote them from the checkpoint/);
  const straight = newDir();
  assert.is((await lipvae(["train", ...TINY, "--out", straight])).status, 0);
  assert.equal(readFileSync(path.join(dir, "model.safetensors")), readFileSync(path.join(straight, "model.safetensors")));
});

test.run();
