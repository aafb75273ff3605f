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

/** Why the browser tests cannot or need not run here, or null. */
function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `no chromium at ${CHROMIUM} (apt-get install chromium, or set LIPVAE_CHROMIUM)`;
  if (process.env.LIPVAE_WASM === "relaxed") return "the relaxed run: the page picks its own build, one browser run is enough";
  return null;
}

test("the page certifies, attacks and plots like the library", async () => {
  const skip = skipReason();
  if (skip) {
    console.log(`  skipped: ${skip}`);
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
    // Both forms are certificates: the page compares ‖δ‖ with the larger.
    const margin = Math.max(...await Promise.all(["#margin-tight", "#margin-paper"].map(async (id) => Number(await page.getAttribute(id, "data-value")))));

    // A short attack in the worker, then ‖δ‖ inside and outside the margin.
    await page.fill("#steps", "5");
    await page.fill("#radius", (margin / 2).toFixed(2));
    await page.click("#attack");
    await page.waitForSelector("#status[data-attack=done]", { timeout: 120_000 });
    const check = async (radius: number) => {
      await page.fill("#radius", radius.toFixed(2));
      await page.waitForFunction((r) => Math.abs(Number((globalThis as unknown as { document: PageDocument }).document.getElementById("delta-norm").dataset.value) - r) < 1e-3,
        Number(radius.toFixed(2)), { timeout: 10_000 });
      const norm = Number(await page.getAttribute("#delta-norm", "data-value"));
      const inside = await page.getAttribute("#inside", "data-inside");
      assert.is(inside, norm < margin ? "yes" : "no", `‖δ‖ = ${norm}, margin ${margin}`);
      assert.match((await page.textContent("#inside"))!, norm < margin ? "inside the certified margin" : "outside the certified margin");
      return inside;
    };
    assert.is(await check(margin / 2), "yes");
    mkdirSync(OUT, { recursive: true });
    writeFileAtomic(path.join(OUT, "browser-dz10.png"), await page.screenshot({ fullPage: true }));
    assert.is(await check(Math.min(3 * margin, 3)), "no");

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

test("at phone width the page fits without sideways scrolling, and a digit can be drawn with the keyboard", async () => {
  const skip = skipReason();
  if (skip) {
    console.log(`  skipped: ${skip}`);
    return;
  }
  const { chromium } = await import("playwright-core");
  const { child, url } = await serve([DEMO_MODELS[0]]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 360, height: 800 } });
    await page.goto(url);
    await page.waitForSelector("#status[data-ready=true]", { timeout: 60_000 });
    const widths = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return [root.scrollWidth, root.clientWidth];
    });
    assert.ok(widths[0] <= widths[1], `page is ${widths[0]} px wide in a ${widths[1]} px viewport`);
    // Keyboard only: Tab to the clear button, press it, Tab to the canvas, ink a stroke.
    await page.focus("#clear");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    assert.is(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), "input");
    const blank = await page.getAttribute("#margin-tight", "data-value");
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press("Space");
      await page.keyboard.press("ArrowDown");
    }
    await page.waitForFunction((before) => (globalThis as unknown as { document: PageDocument }).document.getElementById("margin-tight").dataset.value !== before,
      blank, { timeout: 10_000 });
    assert.is(await page.inputValue("#sample"), "", "the drawing replaced the test image");
  } finally {
    await browser.close();
    child.kill("SIGINT");
  }
});

test.run();
