// What lipvae commands do with their inputs and what they print: margin loads
// every model before the first Algorithm 2; certify on a read-only model
// directory notes that it could not cache and still certifies; certify's
// footnote and train's phase line say what is true of a standard VAE; the
// progress line shows no rate until one means something; a failed
// `data fetch` removes the directories it created.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { storeBestEffort } from "../src/lib/certify.js";
import { Progress, rateAndEta } from "../src/cli/progress.js";
import { fetchDataset } from "../src/data/fetch.js";
import { tinyModel } from "./export-fixture.js";
import { assertUsageLine, runMain, spawnLipvae } from "./cli-run.js";

const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-cli-inputs-"));
process.on("exit", () => rmSync(root, { recursive: true, force: true }));

test("margin loads every --model before computing: a bad second model fails at once, nothing printed or written", async () => {
  const good = await tinyModel("learned");
  const missing = path.join(root, "no-such-model");
  const out = path.join(root, "margin-out");
  const r = await spawnLipvae(["margin", "--model", good, "--model", missing, "--images", "1", "--samples", "4", "--restarts", "1", "--steps", "2", "--out", out], 15_000);
  assertUsageLine(r, "margin", missing);
  assert.is(r.stdout, "", "margins of the first model were computed before the second was loaded");
  assert.not.ok(existsSync(out));
});

test("certify: failing to cache the constants is a note, any other error still fails", () => {
  const erofs = Object.assign(new Error("EROFS: read-only file system, open '/m/.model.json.tmp'"), { code: "EROFS", syscall: "open" });
  const note = storeBestEffort(() => { throw erofs; }, "/m");
  assert.ok(note !== null && !note.includes("\n"), String(note));
  assert.match(note!, /^note: could not store the measured constants in \/m\/model\.json \(EROFS\)/);
  assert.is(storeBestEffort(() => {}, "/m"), null);
  assert.throws(() => storeBestEffort(() => { throw new TypeError("a bug"); }, "/m"), /a bug/);
});

/** Whether this machine lets us mount a directory read-only in a private namespace (root on Linux). */
function canMountReadOnly(): boolean {
  const dir = mkdtempSync(path.join(root, "ro-probe-"));
  const r = spawnSync("unshare", ["-m", "sh", "-c", `mount --bind "${dir}" "${dir}" && mount -o remount,bind,ro "${dir}" && ! touch "${dir}/x" 2>/dev/null`]);
  return r.status === 0;
}

test("certify on a read-only model directory prints a note and still writes the certificate", async () => {
  if (!canMountReadOnly()) {
    console.log("  (no read-only mount available here: the storeBestEffort test above covers the logic)");
    return;
  }
  const model = path.join(root, "read-only-model");
  cpSync(await tinyModel("learned"), model, { recursive: true });
  const before = readFileSync(path.join(model, "model.json"), "utf8");
  const out = path.join(root, "ro-certificates.json");
  const cli = [process.execPath, path.join(projectRoot, "bin", "lipvae.js"), "certify", "--model", model, "--images", "2", "--remeasure", "--out", out];
  const script = `mount --bind "${model}" "${model}" && mount -o remount,bind,ro "${model}" && exec "$@"`;
  const r = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", ...cli], { encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: could not store the measured constants in .*model\.json \(EROFS\)/);
  assert.not.match(r.stderr, /^\s+at /m);
  assert.ok(existsSync(out), "no certificate written");
  assert.is(readFileSync(path.join(model, "model.json"), "utf8"), before);
  // Without --out, the default DIR/certificates.json cannot be written: refused before measuring.
  const cliDefault = cli.filter((arg, i) => arg !== "--out" && cli[i - 1] !== "--out");
  const d = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", ...cliDefault], { encoding: "utf8", timeout: 60_000 });
  assertUsageLine({ status: d.status, stdout: d.stdout, stderr: d.stderr, ms: 0, timedOut: false }, "certify", "cannot create files in", "(EROFS)");
  assert.is(d.stdout, "");
});

test("certify's footnote on a standard VAE says why its nominal columns certify nothing, true to the numbers", async () => {
  const model = path.join(root, "standard-model");
  cpSync(await tinyModel("standard"), model, { recursive: true });
  const r = await runMain(["certify", "--model", model, "--images", "2", "--out", path.join(root, "std-cert.json")]);
  assert.is(r.status, 0, r.stderr);
  const constants = /measured constants \(certified upper bounds\): a = ([\d.]+), b = ([\d.]+), c = ([\d.]+)\s+nominal M: a = ([\d.]+), b = ([\d.]+), c = ([\d.]+)/.exec(r.stderr);
  assert.ok(constants, r.stderr);
  const [ma, mb, mc, na, nb, nc] = constants!.slice(1).map(Number);
  const footnote = r.stdout.split("\n").find((line) => line.startsWith("* "));
  assert.ok(footnote, "a standard VAE's nominal columns must carry a footnote");
  assert.match(footnote!, /standard VAE/);
  // Whatever the footnote says about the constants must hold for the printed numbers.
  const exceed = ma > na || mb > nb || mc > nc;
  if (/measured constants exceed|nominal constants are below/.test(footnote!)) assert.ok(exceed, `${footnote} but measured ${[ma, mb, mc]} vs nominal ${[na, nb, nc]}`);
});

test("train --kind standard prints no Björck settings (it has no Björck step)", async () => {
  const out = path.join(root, "standard-run");
  const r = await runMain(["train", "--kind", "standard", "--train-limit", "128", "--hidden", "8,8", "--latent-dim", "2", "--epochs", "1",
    "--batch-size", "64", "--validation-limit", "64", "--out", out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /phase train: 2 batches per epoch/);
  assert.not.match(r.stderr + r.stdout, /Björck/);
});

test("train with a missing --data-dir prints that one line and creates no run directory", async () => {
  const out = path.join(root, "no-data-run");
  const data = path.join(root, "no-such-data");
  assertUsageLine(await runMain(["train", "--data-dir", data, "--out", out]), "train", `data directory ${data} does not exist`);
  assert.not.ok(existsSync(out));
});

/** A non-terminal stream that records what Progress writes. */
function recorder(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = "";
  const stream = { isTTY: tty, columns: 200, write: (s: string) => { text += s; return true; } } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

test("progress shows a rate only once it rests on at least a second of steps", () => {
  for (const tty of [false, true]) {
    const rec = recorder(tty);
    const progress = new Progress(rec.stream, 0);
    progress.update({ label: "train epoch 1", done: 1, total: 1 });
    progress.finish();
    assert.match(rec.text(), /1\/1/);
    assert.not.match(rec.text(), /it\/s|ETA/, `tty ${tty}: ${rec.text()}`);
  }
  assert.is(rateAndEta(999, 1000, 10), "");
  assert.is(rateAndEta(1500, 0, 10), "");
  assert.is(rateAndEta(2000, 3, 6), "  1.50 it/s  ETA 0:04");
  assert.is(rateAndEta(1000, 500, 1000), "  500 it/s  ETA 0:02");
});

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.match(String((err as Error).message), pattern);
    return;
  }
  assert.unreachable("resolved");
}

const offline = (async () => { throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ENOTFOUND" } }); }) as unknown as typeof fetch;

test("a failed data fetch removes the directories it created and nothing else", async () => {
  const base = path.join(root, "fetch");
  mkdirSync(base);
  await rejects(fetchDataset("fashion-mnist", { dataDir: path.join(base, "new", "fashion"), fetchImpl: offline }), /ENOTFOUND/);
  assert.equal(readdirSync(base), [], "an empty directory was left behind");

  const existing = path.join(base, "existing");
  mkdirSync(existing);
  await rejects(fetchDataset("fashion-mnist", { dataDir: existing, fetchImpl: offline }), /ENOTFOUND/);
  assert.ok(existsSync(existing), "removed a directory the user had made");

  // A verified file saved before a later failure is kept (a retry skips it).
  const shipped = path.join(projectRoot, "data", "mnist");
  const partly = (async (url: string) => {
    if (!String(url).endsWith("train-images-idx3-ubyte.gz")) throw new TypeError("fetch failed");
    const bytes = readFileSync(path.join(shipped, "train-images-idx3-ubyte.gz"));
    return new Response(bytes);
  }) as unknown as typeof fetch;
  const kept = path.join(base, "partly", "mnist");
  await rejects(fetchDataset("mnist", { dataDir: kept, fetchImpl: partly }), /could not download/);
  assert.equal(readdirSync(kept), ["train-images-idx3-ubyte.gz"]);
  const lines: string[] = [];
  await rejects(fetchDataset("mnist", { dataDir: kept, fetchImpl: partly, log: (line) => lines.push(line) }), /could not download/);
  assert.ok(lines.some((line) => line.endsWith("train-images-idx3-ubyte.gz: already present and official")), lines.join("\n"));
});

test.run();
