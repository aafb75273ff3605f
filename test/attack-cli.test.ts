// `lipvae attack` and `lipvae margin` on the small trained fixtures: run in
// process (a CLI start and a data load per run would cost seconds), plus one
// spawned run for the one-line error a user sees.
import { FIGURE_SCALE, captionedGridSvg } from "../src/io/image-grid.js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { UsageError } from "../src/cli/command.js";
import { attackCaption, attackCommand, attackFileStem } from "../src/cli/attack.js";
import { marginCommand } from "../src/cli/margin.js";
import { type Fixture, fixture } from "./attack-fixtures.js";

let fixed: Fixture, clipped: Fixture;
const out = mkdtempSync(path.join(os.tmpdir(), "lipvae-attack-cli-"));
process.on("exit", () => rmSync(out, { recursive: true, force: true }));

test.before(async () => {
  fixed = await fixture("fixed");
  clipped = await fixture("constrained");
});

/** Runs a command in process, returning its exit status and what it printed. */
async function run(cmd: { run(argv: string[]): Promise<number> }, ...argv: string[]): Promise<{ status: number; stdout: string }> {
  const log = console.log, write = process.stderr.write.bind(process.stderr);
  let stdout = "";
  console.log = (...a: unknown[]) => { stdout += a.join(" ") + "\n"; };
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { status: await cmd.run(argv), stdout };
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const b = readFileSync(file);
  assert.equal([...b.subarray(1, 4)], [0x50, 0x4e, 0x47], "PNG signature");
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

const cheap = ["--steps", "5", "--restarts", "1"];

/**
 * Size of the captioned strip PNG an attack record describes: the bare grid
 * (columns × images cells) plus the caption's bands, which must be non-empty.
 */
function captionedSize(rec: Record<string, any>, modelDir: string, columns: number): [number, number] {
  const images = rec.images.length;
  const caption = attackCaption({
    kind: rec.kind, mode: rec.mode, radius: rec.radius ?? Infinity, lambda: rec.lambda ?? 1,
    model: modelDir, seed: rec.seed, optimiser: rec.optimiser, images: rec.images,
  });
  const { layout } = captionedGridSvg(new Float32Array(columns * images * 784), { columns, scale: FIGURE_SCALE }, caption);
  const bare = [columns * 28 + (columns + 1) * 2, images * 28 + (images + 1) * 2].map((v) => v * FIGURE_SCALE);
  // a long note may make the figure wider than the grid and its label band
  assert.ok(layout.width >= layout.gridX + bare[0], "the grid fits");
  assert.is(layout.height - layout.gridY, bare[1], "the grid itself is unchanged");
  assert.ok(layout.gridX > 0 && layout.gridY > 0, "a caption band on the left and on top");
  assert.equal(caption.rows!.map((lines) => lines[1]), rec.images.map((im: { deltaNorm: number }) => `‖δ‖ = ${im.deltaNorm.toFixed(3)}`));
  return [layout.width, layout.height];
}

test("lipvae attack --kind latent: a 6-column strip per image (Fig E.9) and its JSON record", async () => {
  const dir = path.join(out, "latent");
  const r = await run(attackCommand, "--model", fixed.dir, "--kind", "latent", "--images", "2", ...cheap, "--out", dir);
  assert.is(r.status, 0);
  assert.match(r.stdout, /image\s+0 → target 1/); // test image 0 is a 7, image 1 a 2: the paper's 7 → 2 pair
  const rec = JSON.parse(readFileSync(path.join(dir, "latent-r3.json"), "utf8"));
  assert.equal(pngSize(path.join(dir, "latent-r3.png")), captionedSize(rec, fixed.dir, 6));
  const caption = attackCaption({ ...rec, model: fixed.dir });
  assert.is(caption.title, "Latent-space attack (eq. 3), ‖δ‖ ≤ 3");
  assert.equal(caption.columns, ["x", "recon(x)", "δ", "x+δ", "recon(x+δ)", "target"]);
  assert.equal(caption.rows![0], ["image 0 → 1", `‖δ‖ = ${rec.images[0].deltaNorm.toFixed(3)}`, `KL = ${Number(rec.images[0].kl.toPrecision(4))}`]);
  assert.is(rec.kind, "latent");
  assert.is(rec.radius, 3);
  assert.equal([rec.png, rec.json], ["latent-r3.png", "latent-r3.json"]);
  assert.is(rec.images.length, 2);
  assert.is(rec.images[0].target, 1);
  for (const im of rec.images) assert.ok(im.deltaNorm <= 3 * (1 + 1e-6) && im.kl >= 0);
});

test("lipvae attack --kind max-damage on the sphere, two budgets: 5 columns (Fig 1), ‖δ‖ = R", async () => {
  const dir = path.join(out, "damage");
  const r = await run(attackCommand, "--model", clipped.dir, "--kind", "max-damage", "--constraint", "sphere", "--radius", "1.5,0.5",
    "--first", "3", "--images", "3", "--noise", "common", "--samples", "2", ...cheap, "--out", dir);
  assert.is(r.status, 0);
  const runs = ["1.5", "0.5"].map((r) => JSON.parse(readFileSync(path.join(dir, `max-damage-sphere-r${r}.json`), "utf8")));
  assert.equal(pngSize(path.join(dir, "max-damage-sphere-r1.5.png")), captionedSize(runs[0], clipped.dir, 5));
  assert.equal(pngSize(path.join(dir, "max-damage-sphere-r0.5.png")), captionedSize(runs[1], clipped.dir, 5));
  assert.match(attackCaption({ ...runs[0], model: clipped.dir }).title, /^Maximum-damage attack \(eq\. 4\), ‖δ‖ = 1\.5$/);
  assert.equal(runs.map((run: { radius: number }) => run.radius), [1.5, 0.5]);
  const rec = { ...runs[0], runs };
  for (const run of rec.runs) {
    assert.equal(run.images.map((im: { index: number }) => im.index), [3, 4, 5]);
    for (const im of run.images) assert.ok(Math.abs(im.deltaNorm - run.radius) < 1e-4 && im.meanDamage > 0);
  }
  // A larger sphere does more damage.
  for (let i = 0; i < 3; i++) assert.ok(rec.runs[0].images[i].meanDamage > rec.runs[1].images[i].meanDamage);
  assert.equal(rec.noise, { mode: "common", samples: 2 });
});

test("lipvae attack: runs with other kinds, modes or budgets into one --out keep each other's JSON and PNG", async () => {
  const dir = path.join(out, "shared");
  const runs: [string[], string][] = [
    [["--kind", "latent", "--radius", "2"], "latent-r2"],
    [["--kind", "latent", "--radius", "3"], "latent-r3"],
    [["--kind", "latent", "--soft"], "latent-soft-rinf"],
    [["--kind", "max-damage", "--radius", "1.5"], "max-damage-r1.5"],
    [["--kind", "max-damage", "--radius", "1.5", "--constraint", "sphere"], "max-damage-sphere-r1.5"],
  ];
  for (const [argv] of runs) {
    const r = await run(attackCommand, "--model", fixed.dir, "--images", "1", ...cheap, ...argv, "--out", dir);
    assert.is(r.status, 0);
  }
  const files = readdirSync(dir).sort();
  assert.equal(files, runs.flatMap(([, stem]) => [`${stem}.json`, `${stem}.png`]).sort());
  for (const [argv, stem] of runs) {
    const rec = JSON.parse(readFileSync(path.join(dir, `${stem}.json`), "utf8"));
    assert.is(rec.kind, argv[1], stem);
    assert.is(rec.json, `${stem}.json`);
    assert.is(rec.png, `${stem}.png`);
  }
  assert.is(JSON.parse(readFileSync(path.join(dir, "latent-r2.json"), "utf8")).radius, 2);
  assert.is(JSON.parse(readFileSync(path.join(dir, "latent-soft-rinf.json"), "utf8")).radius, null);
  assert.is(JSON.parse(readFileSync(path.join(dir, "max-damage-sphere-r1.5.json"), "utf8")).mode, "sphere");
  assert.equal([attackFileStem("latent", "hard", 3), attackFileStem("max-damage", "ball", 0.25)], ["latent-r3", "max-damage-r0.25"]);
});

test("lipvae attack: bad flags are usage errors", async () => {
  const expectUsage = async (argv: string[], fragment: RegExp) => {
    try {
      await run(attackCommand, ...argv);
    } catch (err) {
      assert.instance(err, UsageError);
      assert.match((err as Error).message, fragment);
      return;
    }
    assert.unreachable(`expected a usage error for ${argv.join(" ")}`);
  };
  await expectUsage(["--model", fixed.dir], /--kind must be latent or max-damage/);
  await expectUsage(["--model", fixed.dir, "--kind", "max-damage", "--soft"], /--soft applies to --kind latent/);
  await expectUsage(["--model", fixed.dir, "--kind", "latent", "--first", "9999", "--images", "5"], /runs past the 10000 test images/);
  await expectUsage(["--model", fixed.dir, "--kind", "latent", "--method", "sgd"], /--method must be normalised or adam/);
  const spawned = spawnSync(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "attack", "--model", fixed.dir, "--kind", "pgd"], { encoding: "utf8" });
  assert.is(spawned.status, 2);
  assert.is(spawned.stderr.trim().split("\n").length, 1, spawned.stderr);
  assert.match(spawned.stderr, /^lipvae attack: --kind must be latent or max-damage \(got 'pgd'\)/);
});

test("lipvae margin: margins of two models on two images, margins.json and the histogram", async () => {
  const dir = path.join(out, "margin");
  const r = await run(marginCommand, "--model", fixed.dir, "--model", clipped.dir, "--images", "2", "--first", "1", "--r", "1",
    "--samples", "8", "--grid", "paper", "--max-radius", "2", "--step", "0.5", ...cheap, "--out", dir);
  assert.is(r.status, 0);
  assert.match(r.stdout, /estimated \(r = 1, ε = 0\.5\)-margins, 2 test images/);
  const rec = JSON.parse(readFileSync(path.join(dir, "margins.json"), "utf8"));
  assert.is(rec.format, "lipvae-margins");
  assert.is(rec.models.length, 2);
  for (const m of rec.models) {
    assert.equal(m.images.map((im: { index: number }) => im.index), [1, 2]);
    for (const im of m.images) assert.ok([0, 0.5, 1, 1.5, 2].includes(im.margin), `margin ${im.margin} on the grid`);
  }
  assert.is(rec.settings.restarts, 1);
  assert.is(rec.settings.attack.steps, 5);
  const [w, h] = pngSize(path.join(dir, "margin-histogram.png"));
  assert.ok(w > 400 && h > 200);
});

test("lipvae margin: bad flags are usage errors", async () => {
  for (const [argv, fragment] of [
    [["--model", fixed.dir, "--interval", "wilson"], /--interval needs --confidence/],
    [["--model", fixed.dir, "--grid", "fine"], /--grid must be reference or paper/],
    [[], /--model DIR is required/],
  ] as [string[], RegExp][]) {
    try {
      await run(marginCommand, ...argv);
      assert.unreachable(`expected a usage error for ${argv.join(" ")}`);
    } catch (err) {
      assert.instance(err, UsageError);
      assert.match((err as Error).message, fragment);
    }
  }
});

test.run();
