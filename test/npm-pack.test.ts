// The package as a user gets it: `npm pack`, install the tarball into a fresh project
// in a temporary directory, and run the README's library example there, against a
// tiny model trained here. The example's margins must equal what `lipvae certify`
// prints for the same image. Slow (an npm install), so it runs on the baseline
// WASM build only; the package is the same for both builds.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { type ModelConfig, PAPER_DEFAULTS } from "../src/model/config.js";
import { Trainer, defaultSettings } from "../src/model/train.js";
import { loadDataset } from "../src/data/datasets.js";

const onThisBuild = (process.env.LIPVAE_WASM ?? "simd") === "simd";
const run = onThisBuild ? test : test.skip;

/** The first ```js block of the README's library section. */
function readmeExample(readme: string): string {
  const section = readme.split(/^## /m).find((s) => s.startsWith("Using lipvae as a library"));
  const code = section && /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (!code) throw new Error("README.md has no ```js block under '## Using lipvae as a library'");
  return code;
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** Installs a tarball from the npm cache; if something is not cached, lets npm fetch it. */
function installTarball(app: string, tgz: string): void {
  const base = ["install", "--no-audit", "--no-fund", tgz];
  let r = sh(npm, [...base, "--offline"], app);
  if (r.status !== 0) r = sh(npm, [...base, "--prefer-offline"], app);
  assert.is(r.status, 0, `npm install failed: ${r.stderr}`);
}

/** The one image row of `lipvae certify`'s table: ||sigma|| and the four margins, as printed. */
function certifyRow(stdout: string): string[] {
  const lines = stdout.split("\n");
  const header = lines.findIndex((l) => /^\s*image\s+label\s+\|\|sigma\|\|/.test(l));
  assert.ok(header >= 0, `no margin table in:\n${stdout}`);
  const cells = lines[header + 1].trim().split(/\s+/);
  assert.is(cells[0], "0");
  return cells.slice(2).map((c) => c.replace(/\*$/, ""));
}

async function trainTinyModel(dir: string): Promise<void> {
  // Small constants so that r = 8 gives positive margins to compare.
  const config: ModelConfig = {
    ...PAPER_DEFAULTS, hidden: [16, 16], latentDim: 3,
    lipschitz: { decoder: 2, encoderMean: 2, encoderStd: 2 },
    bjorck: { beta: 0.5, trainIters: 2, finetuneIters: 10 },
  };
  const dataset = loadDataset("mnist", { limit: 256 });
  await new Trainer({ config, seed: 5, dataset, outDir: dir, settings: { ...defaultSettings(config), lr: 3e-3, epochs: 1, finetuneEpochs: 1, validationLimit: 100 } }).run();
}

run("the packed tarball installs into a fresh project and the README example prints lipvae certify's margins", async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "lipvae-pack-"));
  try {
    const packed = sh(npm, ["pack", "--ignore-scripts", "--pack-destination", tmp], projectRoot);
    assert.is(packed.status, 0, packed.stderr);
    const tgz = path.join(tmp, readdirSync(tmp).find((f) => f.endsWith(".tgz"))!);

    const app = path.join(tmp, "app");
    mkdirSync(app);
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "lipvae-pack-test", private: true, type: "module" }));
    installTarball(app, tgz);
    const installed = path.join(app, "node_modules", "lipvae");
    for (const f of ["dist/src/index.js", "dist/types/src/index.d.ts", "dist/types/src/bounds/index.d.ts", "build/lipvae-simd.wasm", "build/lipvae-relaxed.wasm", "bin/lipvae.js", "LICENSE", "docs/library.md"]) {
      assert.ok(existsSync(path.join(installed, f)), `the package lacks ${f}`);
    }
    for (const f of ["src", "dist/test", "dist/bench", "data", "assembly"]) {
      assert.not.ok(existsSync(path.join(installed, f)), `the package should not ship ${f}`);
    }

    // The model and the data the example reads, where the README says they are.
    await trainTinyModel(path.join(app, "runs", "demo"));
    mkdirSync(path.join(app, "data", "mnist"), { recursive: true });
    const mnist = path.join(projectRoot, "data", "mnist");
    for (const f of readdirSync(mnist)) copyFileSync(path.join(mnist, f), path.join(app, "data", "mnist", f));

    const env = { ...process.env, NODE_PATH: "", LIPVAE_WASM: "simd" };
    const cli = sh(process.execPath, ["bin/lipvae.js", "certify", "--model", path.join(app, "runs", "demo"), "--images", "1", "--r", "8", "--eps", "0.5", "--out", path.join(tmp, "certificates.json")], projectRoot, env);
    assert.is(cli.status, 0, cli.stderr);
    const expected = certifyRow(cli.stdout);
    const constants = /measured constants \(certified upper bounds\): (a = [\d.]+, b = [\d.]+, c = [\d.]+)/.exec(cli.stderr)?.[1];
    assert.ok(constants, `no constants line in:\n${cli.stderr}`);

    // Nothing of this checkout is reachable from the app: cwd there, no NODE_PATH.
    const resolved = sh(process.execPath, ["--input-type=module", "-e", `
      console.log(import.meta.resolve("lipvae"));
      console.log(import.meta.resolve("lipvae/bounds"));
      const bounds = await import("lipvae/bounds");
      console.log(typeof bounds.paperLemma2);
      await import("lipvae/dist/src/cli/main.js").catch((e) => console.log(e.code));`], app, env);
    assert.is(resolved.status, 0, resolved.stderr);
    const [main, boundsEntry, lemma, deep] = resolved.stdout.trim().split("\n");
    assert.is(main, new URL(`file://${path.join(installed, "dist", "src", "index.js")}`).href);
    assert.is(boundsEntry, new URL(`file://${path.join(installed, "dist", "src", "bounds", "index.js")}`).href);
    assert.is(lemma, "function");
    assert.is(deep, "ERR_PACKAGE_PATH_NOT_EXPORTED", "only the exports map's entries are public");

    // The installed command line starts and loads the installed kernels.
    const bin = sh(process.execPath, [path.join(app, "node_modules", ".bin", "lipvae"), "version"], app, env);
    assert.is(bin.status, 0, bin.stderr);
    assert.match(bin.stdout, `lipvae ${JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")).version} (wasm build: simd)`);

    const code = readmeExample(readFileSync(path.join(projectRoot, "README.md"), "utf8"));
    writeFileSync(path.join(app, "example.mjs"), code);
    // The same code as TypeScript type-checks against the package's declarations (strict:
    // a missing declaration file is an error).
    writeFileSync(path.join(app, "example.ts"), code);
    const tsc = sh(process.execPath, [path.join(projectRoot, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "--strict", "--skipLibCheck",
      "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom", "example.ts"], app, env);
    assert.is(tsc.status, 0, `the README example does not type-check against the package:\n${tsc.stdout}${tsc.stderr}`);
    const example = sh(process.execPath, ["example.mjs"], app, env);
    assert.is(example.status, 0, example.stderr);
    const out = example.stdout.trim().split("\n");
    assert.ok(out[0].startsWith(`${constants}, ||sigma|| = `), `constants differ from lipvae certify's (${constants}):\n${out[0]}`);
    const margins = out.slice(1).map((l) => l.split(": "));
    assert.equal(margins.map(([name]) => name), ["paper.nominal", "paper.measured", "tight.nominal", "tight.measured"]);
    assert.equal([out[0].split("||sigma|| = ")[1], ...margins.map(([, v]) => v)], expected);
    assert.ok(margins.some(([, v]) => Number(v) > 0), "the comparison needs a positive margin");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
