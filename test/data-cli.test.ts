// `lipvae data`: help, info, usage errors (through the real bin, as a user runs
// it) and fetch against a fake network (there is no internet here).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { datasets, fileRoles } from "../src/data/catalog.js";
import { fetchDataset } from "../src/data/fetch.js";
import { sha256Hex } from "../src/data/files.js";
import { inspectDataset } from "../src/data/inspect.js";
import { expectLipvaeErrorAsync, tempDir } from "./io-util.js";

const { dir: tmp, cleanup } = tempDir();
test.after(cleanup);

function lipvae(...args: string[]) {
  const run = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), ...args], { encoding: "utf8", cwd: projectRoot });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("data --help prints the usage", () => {
  const r = lipvae("data", "fetch", "--help");
  assert.is(r.status, 0);
  assert.match(r.stdout, "lipvae data fetch <mnist|fashion-mnist> [--data-dir DIR]");
  assert.match(r.stdout, "lipvae data info");
});

test("data info --dataset mnist reports the shipped files as official", () => {
  const r = lipvae("data", "info", "--dataset", "mnist");
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `data dir:    ${path.join(projectRoot, "data", "mnist")}`);
  assert.match(r.stdout, "train-images 60000 items, checksum OK (official)");
  assert.match(r.stdout, "test-labels  10000 items, checksum OK (official)");
  assert.match(r.stdout, "splits:      train 54000, validation 6000, test 10000");
  assert.match(r.stdout, /fingerprint: sha256:[0-9a-f]{64}/);
});

test("usage errors are one line on stderr with status 2", () => {
  for (const args of [["data", "info", "--dataset", "cifar"], ["data", "fetch"], ["data", "frob"], ["data", "info", "--bogus"]]) {
    const r = lipvae(...args);
    assert.is(r.status, 2, args.join(" "));
    assert.match(r.stderr, /^lipvae data: /, args.join(" "));
  }
  assert.match(lipvae("data", "info", "--dataset", "cifar").stderr, "unknown dataset 'cifar': choose mnist or fashion-mnist");
});

test("info on an empty folder: every file missing, with the fix", () => {
  const s = inspectDataset("fashion-mnist", tmp);
  assert.equal(s.files.map((f) => f.state), ["missing", "missing", "missing", "missing"]);
  assert.match(s.hint ?? "", `lipvae data fetch fashion-mnist --data-dir ${tmp}`);
  assert.is(s.fingerprint, undefined);
});

/** A fake fetch serving the shipped MNIST files, or failing the way we ask. */
function fakeFetch(mode: (url: string) => "ok" | "garbage" | "404" | "offline"): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = String(input);
    const m = mode(url);
    if (m === "offline") {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("getaddrinfo ENOTFOUND example"), { code: "ENOTFOUND" }) });
    }
    if (m === "404") return new Response("not found", { status: 404 });
    if (m === "garbage") return new Response("<html>captive portal</html>");
    return new Response(readFileSync(path.join(projectRoot, "data", "mnist", path.basename(url))));
  }) as typeof fetch;
}

test("fetch: no network gives one clear error line", async () => {
  const dir = path.join(tmp, "offline");
  const msg = await expectLipvaeErrorAsync(
    fetchDataset("mnist", { dataDir: dir, fetchImpl: fakeFetch(() => "offline") }),
    "could not download MNIST train-images-idx3-ubyte.gz", "fetch failed: ENOTFOUND", "check the internet connection", dir,
  );
  assert.match(msg, datasets.mnist.mirrors[1]!); // every mirror was tried
});

test("fetch: skips a bad mirror, verifies, saves, and then finds the files present", async () => {
  const dir = path.join(tmp, "fetched");
  const lines: string[] = [];
  let calls = 0;
  const get = fakeFetch((url) => {
    calls++;
    return url.startsWith(datasets.mnist.mirrors[0]!) ? (url.includes("labels") ? "404" : "garbage") : "ok";
  });
  assert.is(await fetchDataset("mnist", { dataDir: dir, fetchImpl: get, log: (l) => lines.push(l) }), dir);
  for (const role of fileRoles) {
    const f = datasets.mnist.files[role];
    assert.is(sha256Hex(readFileSync(path.join(dir, f.name + ".gz"))), f.gzSha256);
  }
  assert.is(calls, 8);
  await fetchDataset("mnist", { dataDir: dir, fetchImpl: fakeFetch(() => "offline"), log: (l) => lines.push(l) });
  assert.is(lines.filter((l) => l.endsWith("already present and official")).length, 4);
});

test.run();
