// The page in a real browser: `lipvae serve` on a free port of 127.0.0.1,
// Debian's chromium driven headless by playwright-core. Checks that the margin
// the page shows is `lipvae certify`'s for the same image and model (4 digits),
// that an attack runs in the worker and the page says whether ‖δ‖ is inside
// the margin, and that the dz = 2 view draws the posteriors. Skips, saying so,
// where chromium is missing. Screenshots go to dist/test-output/; with
// LIPVAE_SCREENSHOT_DOCS=1 the README's docs/browser.png is renewed too.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { writeFileAtomic } from "../src/io/atomic.js";
import { DEMO_MODELS } from "../src/cli/serve.js";
import { certifyCommand } from "../src/cli/certify.js";

/** The slice of the DOM the page functions below use (this project compiles without lib.dom). */
interface PageDocument {
  getElementById(id: string): { textContent: string | null; dataset: Record<string, string | undefined> };
  querySelectorAll(selector: string): { length: number };
}
const CHROMIUM = process.env.LIPVAE_CHROMIUM ?? "/usr/bin/chromium";
const OUT = path.join(projectRoot, "dist", "test-output");
const IMAGE = 3;

/** Starts `lipvae serve` on a free port; resolves to its URL. */
function serve(models: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(projectRoot, "bin", "lipvae.js"), "serve", "--port", "0",
    ...models.flatMap((m) => ["--model", m])], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "", err = "";
    child.stdout!.on("data", (c) => {
      out += c;
      const m = /serving (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on("data", (c) => (err += c));
    child.on("exit", (code) => reject(new Error(`lipvae serve exited with ${code}: ${err}`)));
  });
}

async function certifiedMargins(dir: string, out: string): Promise<{ paper: number; tight: number }> {
  const log = console.log;
  console.log = () => {};
  try {
    assert.is(await certifyCommand.run(["--model", dir, "--images", String(IMAGE + 1), "--out", out]), 0);
  } finally {
    console.log = log;
  }
  const margins = JSON.parse(readFileSync(out, "utf8")).images[IMAGE].margins;
  return { paper: margins["paper.measured"].margin, tight: margins["tight.measured"].margin };
}

test("the page certifies, attacks and plots like the library", async () => {
  if (!existsSync(CHROMIUM)) {
    console.log(`  skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set LIPVAE_CHROMIUM)`);
    return;
  }
  if (process.env.LIPVAE_WASM === "relaxed") {
    console.log("  skipped on the relaxed run: the page picks its own build, one browser run is enough");
    return;
  }
  const { chromium } = await import("playwright-core");
  // Copies, so that certify never touches the shipped model folders.
  const scratch = mkdtempSync(path.join(tmpdir(), "lipvae-browser-"));
  const models = DEMO_MODELS.map((dir) => {
    const copy = path.join(scratch, path.basename(dir));
    cpSync(dir, copy, { recursive: true });
    return copy;
  });
  const { child, url } = await serve(models);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 1300 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith("data:")) outside.push(r.url());
    });
    await page.goto(url);
    await page.waitForSelector("#status[data-ready=true]", { timeout: 60_000 });

    // The certified margins of a test image equal `lipvae certify`'s to 4 digits.
    await page.selectOption("#sample", String(IMAGE));
    const want = await certifiedMargins(models[0], path.join(scratch, "certificates.json"));
    await page.waitForFunction((v) => (globalThis as unknown as { document: PageDocument }).document.getElementById("margin-tight").textContent === v,
      want.tight.toFixed(4), { timeout: 10_000 }).catch(() => {});
    assert.is(await page.textContent("#margin-tight"), want.tight.toFixed(4));
    assert.is(await page.textContent("#margin-paper"), want.paper.toFixed(4));
    const tight = Number(await page.getAttribute("#margin-tight", "data-value"));

    // A short attack in the worker, then ‖δ‖ inside and outside the margin.
    await page.fill("#steps", "5");
    await page.fill("#radius", (tight / 2).toFixed(2));
    await page.click("#attack");
    await page.waitForSelector("#status[data-attack=done]", { timeout: 120_000 });
    const check = async (radius: number) => {
      await page.fill("#radius", radius.toFixed(2));
      await page.waitForFunction((r) => Math.abs(Number((globalThis as unknown as { document: PageDocument }).document.getElementById("delta-norm").dataset.value) - r) < 1e-3,
        Number(radius.toFixed(2)), { timeout: 10_000 });
      const norm = Number(await page.getAttribute("#delta-norm", "data-value"));
      const inside = await page.getAttribute("#inside", "data-inside");
      assert.is(inside, norm < tight ? "yes" : "no", `‖δ‖ = ${norm}, margin ${tight}`);
      assert.match((await page.textContent("#inside"))!, norm < tight ? "inside the certified margin" : "outside the certified margin");
      return inside;
    };
    assert.is(await check(tight / 2), "yes");
    mkdirSync(OUT, { recursive: true });
    writeFileAtomic(path.join(OUT, "browser-dz10.png"), await page.screenshot({ fullPage: true }));
    assert.is(await check(Math.min(3 * tight, 3)), "no");

    // The dz = 2 model: the posterior view with the clean and the perturbed ellipse.
    await page.selectOption("#model", "1");
    await page.click("#random");
    await page.waitForFunction(() => (globalThis as unknown as { document: PageDocument }).document.querySelectorAll("#latent-plot ellipse").length === 2,
      undefined, { timeout: 10_000 });
    assert.is(await page.isVisible("#latent"), true);
    const shot = await page.screenshot({ fullPage: true });
    writeFileAtomic(path.join(OUT, "browser-dz2.png"), shot);
    if (process.env.LIPVAE_SCREENSHOT_DOCS === "1") writeFileAtomic(path.join(projectRoot, "docs", "browser.png"), shot);
    assert.equal(errors, [], "no errors on the page");
    assert.equal(outside, [], "nothing fetched from outside the served site");
  } finally {
    await browser.close();
    child.kill("SIGINT");
    rmSync(scratch, { recursive: true, force: true });
  }
});

test.run();
