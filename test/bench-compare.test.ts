// The PyTorch comparison's plumbing (bench/compare.ts): the request/answer
// protocol of `pytorch_baseline.py --serve`, exercised against a stand-in
// process (so the test needs no torch), and how interleaved rounds are summarised.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { TorchServer, summariseRounds } from "../bench/compare.js";
import { assertClose, removeOnExit } from "./helpers.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "lipvae-compare-test-"));
removeOnExit(dir);
const fake = path.join(dir, "fake-torch.mjs");
// A stand-in for the script: env, one check, ready; then rows whose median encodes the request.
writeFileSync(fake, `
import readline from "node:readline";
const mode = process.argv[2];
const say = (o) => console.log(JSON.stringify(o));
say({ type: "env", python: "3", executable: "fake", torch: "fake", blas: { name: "OpenBLAS", variant: "", version: null, config: null, corename: null, libraries: [], torchBuildBlasInfo: null }, env: {}, warnings: [], params: {} });
say({ type: "check", file: "a.safetensors", kind: "standard", iters: 0, params: 7, loss: 1.5, loss64: 1.5 });
if (mode === "die") { console.error("boom: the stand-in failed to load"); process.exit(4); }
say({ type: "ready" });
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const { name, threads } = JSON.parse(line);
  if (name === "hang") return;
  if (name === "crash") { console.error("segfault in the stand-in"); process.exit(9); }
  if (name === "nope") return say({ type: "error", error: "unknown-row", message: "no PyTorch row 'nope' at 1 threads" });
  say({ type: "row", name, threads, median: 10 * threads + name.length, min: 1, max: 2, n: 3, blasThreads: threads });
});
rl.on("close", () => say({ type: "done" }));
`);

/** The stand-in's stderr is checked through the error messages, not shown. */
const quiet = () => {};

/** Asserts that fn's promise rejects with a message matching re. */
async function rejectsWith(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  let error: Error | null = null;
  try { await fn(); } catch (e) { error = e as Error; }
  assert.ok(error, `expected a rejection matching ${re}`);
  assert.match(error!.message, re);
}

test("TorchServer: env and checks before ready, then one answer per request, in order", async () => {
  const { server, env, checks } = await TorchServer.start([process.execPath, fake], 20_000, quiet);
  try {
    assert.is(env.torch, "fake");
    assert.is(checks.length, 1);
    assert.is(checks[0].params, 7);
    const a = await server.time("abc", 1), b = await server.time("abcd", 2);
    assert.equal([a.name, a.threads, a.median], ["abc", 1, 13]);
    assert.equal([b.name, b.threads, b.median], ["abcd", 2, 24]);
  } finally {
    await server.close();
  }
});

test("TorchServer: an unknown row, a crash, a failed start and a hang are errors naming the cause", async () => {
  {
    const { server } = await TorchServer.start([process.execPath, fake], 20_000, quiet);
    try {
      await rejectsWith(() => server.time("nope", 1), /no PyTorch row 'nope'/);
    } finally {
      await server.close();
    }
  }
  {
    const { server } = await TorchServer.start([process.execPath, fake], 20_000, quiet);
    await rejectsWith(() => server.time("crash", 1), /ended \(exit 9\)[\s\S]*segfault in the stand-in/);
    await server.close();
  }
  await rejectsWith(() => TorchServer.start([process.execPath, fake, "die"], 20_000, quiet), /ended \(exit 4\)[\s\S]*boom/);
  {
    const { server } = await TorchServer.start([process.execPath, fake], 1_500, quiet);
    await rejectsWith(() => server.time("hang", 1), /timed out.*--compare-timeout/);
    await server.close();
  }
  await rejectsWith(() => TorchServer.start([path.join(dir, "no-such-python")], 5_000, quiet), /cannot start/);
});

test("summariseRounds: medians per column, ratio = median of per-round ratios against that round's faster PyTorch", () => {
  const rounds = [
    { ours: 100, torch1: 200, torch2: 80, peak: 50 },  // ratio 1.25 (2T faster); 20 GFLOP/s = 20 % of 2 x 50
    { ours: 90, torch1: 100, torch2: 120, peak: 100 }, // ratio 0.9 (1T faster this round); 22.2 GFLOP/s = 11 %
    { ours: 300, torch1: 150, torch2: 100, peak: 25 }, // ratio 3 (a slow round on our side); 6.7 GFLOP/s = 13 %
  ];
  const row = summariseRounds("x", "x", rounds, 2e9, 50);
  assert.is(row.ours, 100);
  assert.is(row.torch1, 150);
  assert.is(row.torch2, 100);
  assert.is(row.bestThreads, 2);
  assert.is(row.ratio, 1.25);
  assert.is(row.ratioMin, 0.9);
  assert.is(row.ratioMax, 3);
  assert.is(row.gflops, 20);                 // 2e9 FLOPs in 100 ms
  assertClose([row.ofPeak2!], [2e9 / (300e6 * 50)], 1e-15);   // median of 20 %, 11 %, 13 %: each round against its own peak
  assert.is(summariseRounds("x", "x", rounds, 0, 50).gflops, null);
  const unmeasured = summariseRounds("x", "x", rounds.map((r) => ({ ...r, peak: null })), 2e9, 50);
  assert.is(unmeasured.ofPeak2, 0.2);          // the run's peak for every round: 20 GFLOP/s of 2 x 50
});

test.run();
