// Output paths are checked before any command loads data or trains: an
// existing file where a directory is needed, a dangling symbolic link, a path
// under /proc or /sys (where mkdir -p never returned) and a parent that is a
// file each end in one usage line within seconds, for every command that writes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkOutputDir, checkOutputFile } from "../src/cli/out-path.js";
import { UsageError } from "../src/cli/command.js";
import { tinyModel } from "./export-fixture.js";
import { assertUsageLine, spawnLipvae } from "./cli-run.js";
import { removeOnExit } from "./helpers.js";

const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-cli-out-"));
removeOnExit(root);
const file = path.join(root, "a-file");
writeFileSync(file, "not a directory");
const dangling = path.join(root, "dangling");
symlinkSync(path.join(root, "no-such-target"), dangling);
const dir = path.join(root, "a-dir");
mkdirSync(dir);

const refusal = (fn: () => void): string => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, UsageError, String(err));
    return (err as Error).message;
  }
  assert.unreachable("accepted");
  return "";
};

test("checkOutputDir accepts an existing or creatable directory and leaves nothing behind", () => {
  checkOutputDir("--out", dir);
  checkOutputDir("--out", path.join(dir, "new", "deeper"));
  assert.not.ok(existsSync(path.join(dir, "new")), "the check created the directory");
  assert.equal(readdirSync(dir), [], "the write probe was left behind");
});

test("checkOutputDir refuses files, dangling links, kernel file systems and file parents, naming the path", () => {
  assert.match(refusal(() => checkOutputDir("--out", file)), `--out ${file} is a file, not a directory`);
  assert.match(refusal(() => checkOutputDir("--out", path.join(file, "run"))), `${file} is a file, so no directory can be made inside it`);
  assert.match(refusal(() => checkOutputDir("--out", dangling)), `${dangling} is a dangling symbolic link`);
  assert.match(refusal(() => checkOutputDir("--out", path.join(dangling, "run"))), `${dangling} is a dangling symbolic link`);
  assert.is(refusal(() => checkOutputDir("--out", "")), "--out is empty; give a path");
  assert.is(refusal(() => checkOutputFile("--out", " ", "x.json")), "--out is empty; give a path");
  for (const p of ["/proc/lipvae-x", "/proc/self/lipvae", "/sys/lipvae/x", "/proc"]) {
    assert.match(refusal(() => checkOutputDir("--out", p)), /inside \/(proc|sys), a kernel file system/, p);
  }
});

test("checkOutputFile: a file in an existing directory; not a directory, not in a missing directory", () => {
  checkOutputFile("--out", path.join(dir, "x.json"), "x.json");
  checkOutputFile("--out", file, "x.json");
  assert.match(refusal(() => checkOutputFile("--out", dir, "x.json")), `--out ${dir} is a directory; give a file name such as ${path.join(dir, "x.json")}`);
  assert.match(refusal(() => checkOutputFile("--out", path.join(root, "missing", "x.json"), "x.json")), `the directory ${path.join(root, "missing")} does not exist`);
  assert.match(refusal(() => checkOutputFile("--out", path.join(file, "x.json"), "x.json")), `${file} is a file`);
  assert.match(refusal(() => checkOutputFile("--out", dangling, "x.json")), "dangling symbolic link");
  assert.match(refusal(() => checkOutputFile("--out", "/proc/x.json", "x.json")), "inside /proc");
  assert.equal(readdirSync(dir), []);
});

/** Runs at most `limit` CLI processes at a time (the machine is shared). */
async function inBatches<T>(jobs: (() => Promise<T>)[], limit = 3): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += limit) out.push(...(await Promise.all(jobs.slice(i, i + limit).map((job) => job()))));
  return out;
}

// Well below one training epoch or one attack on a loaded machine; the old code hung on /proc.
const LIMIT_MS = 15_000;

test("every writing command refuses a bad --out in one line, before loading data or training", async () => {
  const model = await tinyModel("learned");
  const train = ["train", "--train-limit", "200", "--epochs", "1", "--hidden", "16,16", "--latent-dim", "2", "--no-finetune"];
  const cases: { args: string[]; fragments: string[] }[] = [
    { args: [...train, "--out", file], fragments: [`--out ${file} is a file`] },
    { args: [...train, "--out", path.join(dangling, "run")], fragments: [`${dangling} is a dangling symbolic link`] },
    { args: [...train, "--out", "/proc/lipvae-run"], fragments: ["--out /proc/lipvae-run is inside /proc"] },
    { args: [...train, "--out", path.join(file, "run")], fragments: [`${file} is a file, so no directory`] },
    { args: ["eval", "--model", model, "--out", "/proc/lipvae-eval"], fragments: ["--out /proc/lipvae-eval is inside /proc"] },
    { args: ["eval", "--model", model, "--out", file], fragments: [`--out ${file} is a file`] },
    { args: ["attack", "--model", model, "--kind", "latent", "--out", "/sys/lipvae"], fragments: ["is inside /sys"] },
    { args: ["attack", "--model", model, "--kind", "max-damage", "--out", dangling], fragments: ["dangling symbolic link"] },
    { args: ["margin", "--model", model, "--images", "1", "--out", "/proc/lipvae-margin"], fragments: ["is inside /proc"] },
    { args: ["margin", "--model", model, "--images", "1", "--out", path.join(file, "m")], fragments: [`${file} is a file`] },
    { args: ["export", "--model", model, "--out", "/proc/lipvae.safetensors"], fragments: ["is inside /proc"] },
    { args: ["export", "--model", model, "--out", path.join(root, "missing", "e.safetensors")], fragments: ["does not exist; create it first"] },
    { args: ["certify", "--model", model, "--out", "/proc/lipvae.json"], fragments: ["is inside /proc"] },
    { args: ["certify", "--model", model, "--out", dangling], fragments: ["dangling symbolic link"] },
    { args: ["plot", "bounds", "--out", "/proc/lipvae-figures"], fragments: ["--out /proc/lipvae-figures is inside /proc"] },
    { args: ["data", "fetch", "fashion-mnist", "--data-dir", "/proc/lipvae-data"], fragments: ["--data-dir /proc/lipvae-data is inside /proc"] },
  ];
  const runs = await inBatches(cases.map((c) => () => spawnLipvae(c.args, LIMIT_MS)));
  cases.forEach((c, i) => {
    assertUsageLine(runs[i], c.args[0], ...c.fragments);
    assert.is(runs[i].stdout, "", `${c.args.join(" ")}: printed results before failing`);
  });
});

test.run();
