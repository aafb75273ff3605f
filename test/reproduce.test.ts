// `lipvae reproduce`: the job table (every model in exactly one job, shards
// partition the jobs, cache keys follow the configuration), the one-line
// errors, and the whole pipeline at the hidden tiny scale: every figure file
// and report section, finite numbers, resuming from the cache, and two shards
// plus --report giving the report of one unsharded run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { FIGURE_IDS, MODELS } from "../src/reproduce/models.js";
import { SCALES, scaleWith } from "../src/reproduce/scales.js";
import { buildPlan, jobCommand, shardJobs } from "../src/reproduce/plan.js";
import { WALL_TIMES_HEADING } from "../src/reproduce/report.js";
import { Interrupted, missingData, runJob } from "../src/reproduce/jobs.js";
import { modelDir, readJobRecord } from "../src/reproduce/store.js";
import { Progress } from "../src/cli/progress.js";
import { loadModel } from "../src/model/store.js";
import { removeOnExit } from "./helpers.js";

interface Run { status: number | null; stdout: string; stderr: string }

function lipvae(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "reproduce", ...args], { cwd: projectRoot });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "lipvae-reproduce-"));
removeOnExit(tmp);

test("every model the figures need belongs to exactly one job, and shards partition the jobs", () => {
  const plan = buildPlan(SCALES.tiny, [], 0);
  const ids = plan.jobs.map((j) => j.model.id);
  assert.is(new Set(ids).size, ids.length, "one job per model");
  assert.equal(ids.sort(), MODELS.map((m) => m.id).sort(), "all figures together need every model");
  assert.is(new Set(plan.jobs.map((j) => j.modelHash)).size, ids.length, "distinct configurations, distinct hashes");
  for (let n = 1; n <= 5; n++) {
    const seen = Array.from({ length: n }, (_, i) => shardJobs(plan, { index: i, count: n }).map((j) => j.model.id)).flat();
    assert.equal([...seen].sort(), [...ids].sort(), `shards of ${n}: each job exactly once`);
  }
});

test("--only keeps the models and analyses of the chosen figures; hashes follow the settings", () => {
  const fig7 = buildPlan(SCALES.tiny, ["fig7"], 0);
  assert.equal(fig7.jobs.map((j) => [j.model.id, j.analyses.map((a) => a.analysis)]), [["lip-M10", ["eval"]]]);
  const all = buildPlan(SCALES.tiny, [], 0).jobs.find((j) => j.model.id === "lip-M10")!;
  assert.is(fig7.jobs[0].modelHash, all.modelHash, "the model is shared by every figure selection");
  assert.is(fig7.jobs[0].analyses[0].key, all.analyses.find((a) => a.analysis === "eval")!.key);
  assert.is.not(buildPlan(SCALES.quick, ["fig7"], 0).jobs[0].modelHash, fig7.jobs[0].modelHash, "another scale trains another model");
  assert.is.not(buildPlan(SCALES.tiny, ["fig7"], 1).jobs[0].modelHash, fig7.jobs[0].modelHash, "another seed trains another model");
});

test("bad flags end with one line and status 2", async () => {
  const runs = await Promise.all([
    lipvae("--shard", "2/2", "--scale", "tiny", "--out", path.join(tmp, "bad")),
    lipvae("--only", "fig3,fig99", "--plan"),
    lipvae("--scale", "huge", "--plan"),
    lipvae("--job", "no-such-model", "--scale", "tiny", "--out", path.join(tmp, "bad")),
    lipvae("--bjorck-method", "qr", "--plan"),
  ]);
  const expected = [/--shard 2\/2: I must be from 0 to N-1/, /unknown figure 'fig99'/, /--scale must be quick or paper/, /--job no-such-model is not a job/,
    /--bjorck-method must be iterate or spectral \(got 'qr'\)/];
  runs.forEach((r, i) => {
    assert.is(r.status, 2, r.stderr);
    assert.is(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, expected[i]);
  });
});

test("--plan prints one command per job, and JSON lines with --json", async () => {
  const [text, json] = await Promise.all([lipvae("--plan", "--scale", "tiny", "--out", "D"), lipvae("--plan", "--json", "--scale", "tiny", "--out", "D")]);
  const jobs = buildPlan(SCALES.tiny, [], 0).jobs;
  const lines = text.stdout.trimEnd().split("\n");
  assert.is(lines.length, jobs.length + 1);
  assert.equal(lines.slice(0, -1), jobs.map((j) => `lipvae reproduce --scale tiny --out D --job ${j.model.id}`));
  assert.is(lines.at(-1), "lipvae reproduce --report D");
  const records = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(records.map((r) => r.job), jobs.map((j) => j.model.id));
  for (const r of records) assert.ok(Number.isFinite(r.estimatedSeconds) && r.estimatedSeconds >= 0, JSON.stringify(r));
});

test("--bjorck-method: the paper scale with the spectral method trains other models, each job's command carries it, the estimate drops", async () => {
  const [iterate, spectral] = await Promise.all([
    lipvae("--plan", "--json", "--scale", "paper", "--out", "D"),
    lipvae("--plan", "--json", "--scale", "paper", "--bjorck-method", "spectral", "--out", "D"),
  ]);
  const parse = (r: Run) => r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { job: string; hash: string; command: string; estimatedSeconds: number });
  const [a, b] = [parse(iterate), parse(spectral)];
  assert.equal(b.map((r) => r.job), a.map((r) => r.job), "the same jobs");
  for (const r of a) assert.not.match(r.command, /--bjorck-method/, "the scale's own method needs no flag");
  for (const r of b) assert.match(r.command, /^lipvae reproduce --scale paper --bjorck-method spectral --out D --job /);
  b.forEach((r, i) => {
    const lipschitz = !r.job.startsWith("std-");
    if (lipschitz) assert.is.not(r.hash, a[i].hash, `${r.job}: another method trains another model`);
    else assert.is(r.hash, a[i].hash, `${r.job}: the standard VAE has no Björck`);
  });
  const total = (rs: { estimatedSeconds: number }[]) => rs.reduce((t, r) => t + r.estimatedSeconds, 0);
  assert.ok(total(b) < total(a) / 2, `spectral ${total(b)} s against iterate ${total(a)} s`);
  // quick defaults to spectral: asking for it changes nothing, asking for iterate is carried.
  const quick = buildPlan(SCALES.quick, [], 0);
  assert.is(jobCommand(quick, quick.jobs[0], "D"), `lipvae reproduce --scale quick --out D --job ${quick.jobs[0].model.id}`);
  const quickIterate = buildPlan(scaleWith("quick", "iterate"), [], 0);
  assert.is(jobCommand(quickIterate, quickIterate.jobs[0], "D"), `lipvae reproduce --scale quick --bjorck-method iterate --out D --job ${quick.jobs[0].model.id}`);
});

test("a job stopped during training continues from its checkpoint and ends with the uninterrupted model", async () => {
  const job = buildPlan(SCALES.tiny, ["fig7"], 0).jobs[0];
  const lines: string[] = [];
  const quiet = new Progress({ write: () => true, isTTY: false } as unknown as NodeJS.WriteStream);
  quiet.log = (line: string) => void lines.push(line);
  const [stopped, straight] = [path.join(tmp, "stopped"), path.join(tmp, "straight")];
  // Ctrl-C during the first training step: the trainer stops before the second with a checkpoint.
  const control = { stop: false };
  const stopping = Object.assign(Object.create(quiet), { update: () => void (control.stop = true) }) as Progress;
  const err = await runJob(stopped, job, stopping, control).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof Interrupted, String(err));
  assert.ok(existsSync(path.join(modelDir(stopped, job), "checkpoint.safetensors")));
  assert.is(readJobRecord(stopped, job), null, "no record for an unfinished job");
  lines.length = 0;
  const resumed = await runJob(stopped, job, quiet, { stop: false });
  assert.ok(lines.some((l) => l.includes("(continuing from its checkpoint)")), lines.join("\n"));
  await runJob(straight, job, quiet, { stop: false });
  assert.is(resumed.status, "done");
  assert.is(loadModel(modelDir(stopped, job)).meta.parameters.sha256, loadModel(modelDir(straight, job)).meta.parameters.sha256, "bit-identical parameters");
});

const withoutWallTimes = (report: string) => report.slice(0, report.indexOf(WALL_TIMES_HEADING));

// The pipeline trains 30 tiny models three times (one unsharded run, two
// shards); it does not depend on the WASM build, so it runs on one build only.
const pipeline = process.env.LIPVAE_WASM === "relaxed" ? test.skip : test;

pipeline("the tiny pipeline: every figure and section, finite numbers, resume, and two shards give the same report", async () => {
  const single = path.join(tmp, "single"), sharded = path.join(tmp, "sharded");
  const [one, s0, s1] = await Promise.all([
    lipvae("--scale", "tiny", "--out", single),
    lipvae("--scale", "tiny", "--out", sharded, "--shard", "0/2"),
    lipvae("--scale", "tiny", "--out", sharded, "--shard", "1/2"),
  ]);
  for (const r of [one, s0, s1]) assert.is(r.status, 0, r.stderr);
  assert.not.ok(existsSync(path.join(sharded, "report.md")), "a shard writes no report");
  const merged = await lipvae("--report", sharded);
  assert.is(merged.status, 0, merged.stderr);

  const report = readFileSync(path.join(single, "report.md"), "utf8");
  for (const heading of ["## Settings", "## Commands", "## Models", WALL_TIMES_HEADING]) assert.ok(report.includes(`\n${heading}\n`), heading);
  const titles = ["Figure 1:", "Figure 2:", "Figure 3:", "Figure 4a:", "Figure 4b:", "Figure 4c:", "Figure 5:", "Figure 6:", "Figure B.8:", "Figure 7:", "Figure E.9:"];
  assert.is(titles.length, FIGURE_IDS.length);
  for (const t of titles) assert.ok(report.includes(`\n## ${t}`), t);
  assert.is((report.match(/\*\*Agreement:\*\*/g) ?? []).length, FIGURE_IDS.length, "a verdict per figure");
  assert.not.match(report, /NaN|Infinity|undefined|null/);
  for (const n of report.match(/-?\d+\.\d+/g) ?? []) assert.ok(Number.isFinite(Number(n)), n);
  const noFashion = missingData("fashion-mnist") !== null;
  if (noFashion) assert.match(report, /skipped: Fashion-MNIST not downloaded; run `lipvae data fetch fashion-mnist`/);

  // Every file a section lists exists; figures not drawn can only be the placeholder renderers' (STUB figures).
  const listed = [...report.matchAll(/`(figures\/[^`]+)`/g)].map((m) => m[1]);
  for (const f of listed) assert.ok(existsSync(path.join(single, f)), f);
  assert.ok(listed.includes("figures/fig2.svg") && listed.includes("figures/fig2.png"));
  const undrawn = report.match(/Figure not drawn: .*/g) ?? [];
  for (const line of undrawn) assert.is(line, "Figure not drawn: not yet.");
  if (undrawn.length === 0) {
    for (const f of ["fig1", "fig3", "fig4a", "fig4c", "fig5-left", "fig5-right", "fig6", "figB8", "fig7", "figE9"]) {
      for (const ext of ["svg", "png"]) assert.ok(listed.includes(`figures/${f}.${ext}`), `${f}.${ext}`);
    }
  }

  assert.is(withoutWallTimes(readFileSync(path.join(sharded, "report.md"), "utf8")), withoutWallTimes(report), "sharded = unsharded");

  const again = await lipvae("--scale", "tiny", "--out", single);
  assert.is(again.status, 0, again.stderr);
  assert.not.match(again.stderr, /training /, "nothing is trained again");
  assert.is((again.stderr.match(/already trained: reused/g) ?? []).length, MODELS.length - (noFashion ? 1 : 0), "every model trained before is reused");
  assert.is(withoutWallTimes(readFileSync(path.join(single, "report.md"), "utf8")), withoutWallTimes(report));
});

test.run();
