// The paper's figures (src/figures/) drawn from small synthetic data: files
// exist and parse, titles and axis labels are in the SVG, Fig 6's ellipses
// are at true size, Fig 4 keeps points whose bound is ≤ 0.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import pngjs from "pngjs";
import {
  type Posterior2DPanel,
  type Written,
  ZERO_BOUND_LABEL,
  drawBoundVsMargin,
  drawImageRows,
  drawLikelihoodVsMargin,
  drawMarginHistograms,
  drawMarginVsSigma,
  drawPosteriors,
} from "../src/figures/index.js";
import { textWidth } from "../src/io/svg-png.js";
import { expectLipvaeErrorAsync, tempDir } from "./io-util.js";

const { dir, cleanup } = tempDir();
test.after(cleanup);

/** The lines of every <text> element (one per <tspan> in multi-line text), entities decoded. */
function texts(svg: string): string[] {
  const lines = [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)].flatMap((m) => m[1]!.split(/<\/?tspan[^>]*>/).filter((line) => line !== ""));
  return lines.map((line) =>
    line.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
}

/** Checks both files exist, the PNG decodes at `scale` × the SVG's size; returns the SVG text. */
function checkWritten(written: Written, outBase: string, scale: number): string {
  assert.equal(written, { svg: `${outBase}.svg`, png: `${outBase}.png` });
  assert.ok(existsSync(written.svg) && existsSync(written.png));
  const svg = readFileSync(written.svg, "utf8");
  const size = /<svg[^>]* width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  assert.ok(size, "the SVG states its size");
  const png = pngjs.PNG.sync.read(readFileSync(written.png));
  assert.is(png.width, Math.round(Number(size[1]) * scale));
  assert.is(png.height, Math.round(Number(size[2]) * scale));
  return svg;
}

function assertHasTexts(svg: string, ...wanted: string[]): void {
  const all = texts(svg);
  for (const w of wanted) assert.ok(all.includes(w), `the SVG should show ${JSON.stringify(w)}; it shows ${JSON.stringify(all.slice(0, 40))}`);
}

/** The markup of the first mark group whose class contains `name`, up to the end of that group's own elements. */
function markGroup(svg: string, name: string): string {
  const start = svg.indexOf(name);
  assert.ok(start >= 0, `the SVG has a mark group '${name}'`);
  return svg.slice(start, svg.indexOf("</g>", start));
}

/** Pixels = offset + perUnit × value, fitted through the first and last ticks of an axis (labels give the values). */
function axisScale(svg: string, axisTitle: string): { offset: number; perUnit: number } {
  const group = svg.slice(svg.indexOf(`axis titled '${axisTitle}'`));
  const section = (role: string) => group.slice(group.indexOf(role), group.indexOf("</g>", group.indexOf(role)));
  const ticks = [...section("role-axis-tick").matchAll(/translate\(([-\d.]+),([-\d.]+)\)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
  const values = [...section("role-axis-label").matchAll(/>([^<]*)<\/text>/g)].map((m) => Number(m[1]!.replace("−", "-")));
  assert.ok(ticks.length >= 2 && ticks.length === values.length, `axis '${axisTitle}' has a numeric label per tick`);
  const horizontal = ticks[0]!.y === ticks[ticks.length - 1]!.y;
  const pos = (i: number) => (horizontal ? ticks[i]!.x : ticks[i]!.y);
  const last = ticks.length - 1;
  const perUnit = (pos(last) - pos(0)) / (values[last]! - values[0]!);
  return { offset: pos(0) - perUnit * values[0]!, perUnit };
}

/** Vertices of an SVG path made of M/L commands. */
function vertices(d: string): { x: number; y: number }[] {
  return [...d.matchAll(/[ML]([-\d.]+),([-\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
}

test("Fig 3: margin vs ‖σ‖, one panel per M, with title, panel titles and axis labels", async () => {
  const panels = [5, 10].map((M) => ({
    title: `M = ${M}`,
    points: [0.06, 0.13, 0.25].map((sigma, i) => ({ sigma, mean: 10 / M + i * 0.1, sd: 0.05, n: 25 })),
  }));
  const outBase = path.join(dir, "fig3");
  const svg = checkWritten(await drawMarginVsSigma(panels, { title: "Margins against ‖σ‖", xLabel: "encoder ‖σ‖₂" }, outBase), outBase, 2);
  assertHasTexts(svg, "Margins against ‖σ‖", "M = 5", "M = 10", "encoder ‖σ‖₂", "estimated margin R̂ (‖δ‖₂)");
});

test("Fig 4: a bound ≤ 0 goes in the 'bound = 0' strip at the height of its margin, never dropped", async () => {
  const points = [
    { image: 0, series: "paper bound (nominal)", bound: 0, margin: 1.5 },
    { image: 1, series: "paper bound (nominal)", bound: -0.3, margin: 0.75 },
    { image: 2, series: "tight bound (measured)", bound: 0.2, margin: 1.5 },
    { image: 3, series: "tight bound (measured)", bound: 0.6, margin: 2 },
  ];
  const outBase = path.join(dir, "sub", "fig4"); // a missing folder is created
  const svg = checkWritten(await drawBoundVsMargin(points, { title: "Bounds against margins", subtitle: "r = 8, ε = 0.5" }, outBase), outBase, 2);
  assertHasTexts(svg, "Bounds against margins", "r = 8, ε = 0.5", ZERO_BOUND_LABEL, "y = x",
    "certified lower bound on the margin (‖δ‖₂, log scale)", "estimated margin R̂ (‖δ‖₂)",
    "paper bound (nominal)", "tight bound (measured)");
  const heights = (group: string) => [...markGroup(svg, group).matchAll(/<path aria-label="[^"]*" [^>]*transform="translate\(([-\d.]+),([-\d.]+)\)"/g)]
    .map((m) => Number(m[2]));
  const strip = heights("zero_bound_strip_marks");
  const logPanel = heights("bounded_points_marks");
  assert.is(strip.length, 2, "both points with bound ≤ 0 are drawn in the strip");
  assert.is(logPanel.length, 2);
  // the strip shares the y axis: margin 1.5 sits at the same height on both sides, margin 0.75 lower
  assert.ok(Math.abs(strip[0]! - logPanel[0]!) < 1e-6, `margin 1.5 at ${strip[0]} in the strip and ${logPanel[0]} on the log axis`);
  assert.ok(strip[1]! > strip[0]!);
});

test("Fig 5: margin histograms and log-likelihood vs mean margin, with legends and labels", async () => {
  const models = [{ label: "M = 5", margins: [0.5, 1, 1.2, 2] }, { label: "standard", margins: [0, 0.1, 0.3] }];
  const histBase = path.join(dir, "fig5-left");
  const hist = checkWritten(await drawMarginHistograms(models, { title: "Margins per model" }, histBase), histBase, 2);
  assertHasTexts(hist, "Margins per model", "M = 5", "standard", "estimated margin R̂ (‖δ‖₂)", "images");
  const llBase = path.join(dir, "fig5-right");
  const points = [{ label: "M = 5", meanMargin: 1.2, logLikelihood: -120 }, { label: "M = 10", meanMargin: 0.8, logLikelihood: -100 }];
  const ll = checkWritten(await drawLikelihoodVsMargin(points, { title: "Reconstruction against robustness" }, llBase), llBase, 2);
  assertHasTexts(ll, "Reconstruction against robustness", "M = 5", "M = 10",
    "mean estimated margin R̂ (‖δ‖₂)", "mean test log-likelihood (nats per image)");
});

test("Fig 6: each posterior ellipse spans 2σ per axis at the axes' scale (true size), centred on μ", async () => {
  const posterior = { mu: [4, -2] as [number, number], sigma: [3, 1.5] as [number, number], label: 7 };
  const panels: Posterior2DPanel[] = [
    { title: "Lipschitz-VAE, M = 10", points: [posterior, { mu: [0, 0], sigma: [0.5, 0.5], label: 1 }] },
    { title: "Standard VAE", points: [{ mu: [1, 1], sigma: [0.2, 0.4], label: 3 }] },
  ];
  const outBase = path.join(dir, "fig6");
  const svg = checkWritten(await drawPosteriors(panels, { title: "Learned encodings" }, outBase), outBase, 2);
  assertHasTexts(svg, "Learned encodings", "Lipschitz-VAE, M = 10", "Standard VAE", "z₁", "z₂", "digit", "7");
  const x = axisScale(svg, "z₁");
  const y = axisScale(svg, "z₂");
  assert.ok(Math.abs(x.perUnit - 300 / 30) < 1e-9, `x axis spans ±15 (default extent): ${x.perUnit} px per unit`);
  assert.ok(Math.abs(Math.abs(y.perUnit) - x.perUnit) < 1e-9, "equal scales on both axes, so circles look round");
  const path7 = /<path aria-label="[^"]*digit: 7[^"]*"[^>]* d="([^"]*)"/.exec(markGroup(svg, "posterior_marks"));
  assert.ok(path7, "the digit-7 posterior is drawn");
  const v = vertices(path7[1]!);
  const xs = v.map((p) => p.x), ys = v.map((p) => p.y);
  const width = Math.max(...xs) - Math.min(...xs), height = Math.max(...ys) - Math.min(...ys);
  // true size: semi-axes σ, so the drawn extent is 2σ (half size, as matplotlib's diameters give, would be σ)
  assert.ok(Math.abs(width - 2 * posterior.sigma[0] * x.perUnit) < 0.01, `width ${width} px, expected ${2 * posterior.sigma[0] * x.perUnit}`);
  assert.ok(Math.abs(height - 2 * posterior.sigma[1] * Math.abs(y.perUnit)) < 0.01, `height ${height} px`);
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2, cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  assert.ok(Math.abs(cx - (x.offset + x.perUnit * posterior.mu[0])) < 0.01 && Math.abs(cy - (y.offset + y.perUnit * posterior.mu[1])) < 0.01);
  // the prior's 1σ/2σ/3σ circles in every panel (vega draws one line group per circle)
  assert.is((svg.match(/class="mark-line role-mark prior_marks"/g) ?? []).length, 3 * panels.length);
});

test("Fig 6: a custom extent sets both axes to ±extent", async () => {
  const outBase = path.join(dir, "fig6-extent");
  const svg = checkWritten(await drawPosteriors([{ title: "p", points: [{ mu: [0, 0], sigma: [1, 1], label: 0 }] }], { title: "t", extent: 5 }, outBase), outBase, 2);
  assert.ok(Math.abs(axisScale(svg, "z₁").perUnit - 300 / 10) < 1e-9);
});

test("image rows: labelled rows of 28×28 images in a self-contained SVG; short rows padded", async () => {
  const image = (v: number) => new Float32Array(784).fill(v);
  const rows = [
    { label: "standard VAE", images: [image(0), image(0.5), image(1)] },
    { label: "Lipschitz-VAE\nM = 5", images: [image(1), image(0.2)] },
  ];
  const outBase = path.join(dir, "fig1");
  const text = { title: "Maximum damage attacks", subtitle: "‖δ‖₂ ≤ 3", columnLabels: ["x", "x + δ", "g(z_δ)"] };
  const svg = checkWritten(await drawImageRows(rows, text, outBase), outBase, 1);
  assertHasTexts(svg, "Maximum damage attacks", "‖δ‖₂ ≤ 3", "x", "x + δ", "g(z_δ)", "standard VAE", "Lipschitz-VAE", "M = 5");
  assert.match(svg, 'href="data:image/png;base64,');
  assert.not.match(svg, /href="(?!data:)/, "no external references");
});

test("charts are laid out with text widths as resvg draws them, not vega's 0.8 em per character", async () => {
  const subtitle = "a long subtitle, far wider than the plot under it, that sets the width of the whole figure on its own".repeat(2);
  const outBase = path.join(dir, "wide");
  const points = [{ label: "M = 5", meanMargin: 1, logLikelihood: -100 }];
  const svg = checkWritten(await drawLikelihoodVsMargin(points, { title: "t", subtitle }, outBase), outBase, 2);
  const width = Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
  const drawn = textWidth(subtitle, 12); // vega's default subtitle size
  assert.ok(width >= drawn, `the figure (${width}) holds its subtitle (${drawn})`);
  assert.ok(width < drawn + 60, `no empty band beside the subtitle: figure ${width}, subtitle ${drawn} (vega's guess: ${0.8 * 12 * subtitle.length})`);
});

test("bad input: one clear error naming the problem", async () => {
  const out = path.join(dir, "bad");
  await expectLipvaeErrorAsync(drawBoundVsMargin([{ image: 3, series: "s", bound: 0.1, margin: NaN }], { title: "t" }, out), "margin of image 3", "NaN");
  await expectLipvaeErrorAsync(drawBoundVsMargin([], { title: "t" }, out), "no points");
  await expectLipvaeErrorAsync(drawMarginVsSigma([{ title: "M = 5", points: [] }], { title: "t", xLabel: "x" }, out), "no points in panel 'M = 5'");
  await expectLipvaeErrorAsync(drawPosteriors([{ title: "p", points: [{ mu: [0, 0], sigma: [1, 1], label: 10 }] }], { title: "t" }, out), "labels are digits 0–9");
  await expectLipvaeErrorAsync(drawPosteriors([{ title: "p", points: [{ mu: [0, 0], sigma: [-1, 1], label: 1 }] }], { title: "t" }, out), "negative");
  await expectLipvaeErrorAsync(drawImageRows([{ label: "r", images: [new Float32Array(100)] }], { title: "t" }, out), "100 values", "784");
  await expectLipvaeErrorAsync(drawImageRows([{ label: "r", images: [new Float32Array(784)] }], { title: "t", columnLabels: ["a", "b"] }, out), "2 column labels for 1 columns");
  assert.not.ok(existsSync(`${out}.svg`), "nothing is written on bad input");
});

test.run();
