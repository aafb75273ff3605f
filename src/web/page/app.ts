// The page: load the models, certify the input, perturb it, show what happens.
import {
  type ModelCard, MANIFEST, WebModel, alongDirection, engine, memoryFor, pixelsOf, randomDirection,
  robustnessEstimate, startBrowserEngine,
} from "../lib.js";
import { DrawingPad, paint } from "./pixels.js";
import { LatentPlot } from "./latent-plot.js";
import type { FromWorker, ToWorker } from "./protocol.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $("status");
const modelSelect = $<HTMLSelectElement>("model");
const sampleSelect = $<HTMLSelectElement>("sample");
const rInput = $<HTMLInputElement>("r"), epsInput = $<HTMLInputElement>("eps");
const radiusInput = $<HTMLInputElement>("radius"), radiusOut = $<HTMLOutputElement>("radius-out");
const stepsInput = $<HTMLInputElement>("steps");
const progress = $<HTMLProgressElement>("progress");
const attackButton = $<HTMLButtonElement>("attack");
const latentPlot = new LatentPlot($("latent-plot") as unknown as SVGSVGElement);

interface Loaded {
  model: WebModel;
  samples: Uint8Array;
  /** μ of every sample (for the dz = 2 background). */
  sampleMus: Float32Array | null;
}

/** Where the current perturbation comes from: its direction, and the radius an attack was run at. */
let direction: { kind: "random" | "attack"; v: Float32Array; radius: number } | null = null;
let models: Loaded[] = [];
let current = 0;
let attackId = 0;
/** Set when a model is chosen: the slider then starts just inside its certified margin. */
let resetRadius = true;
let worker: Worker | null = null;
const pad = new DrawingPad($("input") as HTMLCanvasElement, () => {
  sampleSelect.value = "";
  direction = null;
  schedule();
});

function fail(err: unknown): void {
  status.textContent = `Error: ${(err as Error).message}`;
  status.classList.add("error");
}

async function fetchBytes(path: string): Promise<ArrayBuffer> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`could not load ${path} (HTTP ${res.status})`);
  return res.arrayBuffer();
}

async function start(): Promise<void> {
  const res = await fetch(MANIFEST);
  if (!res.ok) throw new Error(`could not load ${MANIFEST} (HTTP ${res.status})`);
  const { models: cards } = (await res.json()) as { models: ModelCard[] };
  const exports = await Promise.all(cards.map((c) => fetchBytes(c.exportPath)));
  const samples = await Promise.all(cards.map((c) => fetchBytes(c.samples.path)));
  const memoryBytes = memoryFor(exports.reduce((n, e) => n + e.byteLength, 0));
  await startBrowserEngine(memoryBytes);
  models = cards.map((card, i) => {
    const model = WebModel.fromExport(card, new Uint8Array(exports[i]));
    const s = new Uint8Array(samples[i]);
    const sampleMus = card.config.latentDim === 2 ? model.posterior(pixelsOf(s), card.samples.count).mu : null;
    return { model, samples: s, sampleMus };
  });
  worker = new Worker("attack-worker.js", { type: "module" });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onWorker(e.data);
  worker.postMessage({ type: "init", cards, exports, memoryBytes } satisfies ToWorker);
  for (const [i, card] of cards.entries()) {
    modelSelect.append(new Option(`${card.title} (d_z = ${card.config.latentDim}, ${card.config.sigma.mode} σ)`, String(i)));
  }
  modelSelect.addEventListener("change", () => selectModel(Number(modelSelect.value)));
  sampleSelect.addEventListener("change", () => selectSample());
  $("clear").addEventListener("click", () => {
    pad.set(new Float32Array(784));
    sampleSelect.value = "";
    direction = null;
    schedule();
  });
  for (const input of [rInput, epsInput]) input.addEventListener("input", () => schedule());
  radiusInput.addEventListener("input", () => schedule());
  $("random").addEventListener("click", () => {
    direction = { kind: "random", v: randomDirection(784, Date.now() % 1e9), radius: Number(radiusInput.value) };
    schedule();
  });
  attackButton.addEventListener("click", () => runAttack());
  selectModel(0);
  status.dataset.ready = "true";
}

function showReady(): void {
  status.classList.remove("error");
  status.textContent = `Ready: ${engine().build === "relaxed" ? "relaxed" : "baseline"} WASM SIMD build; everything runs in this page.`;
}

function selectModel(i: number): void {
  current = i;
  resetRadius = true;
  showReady();
  const { model } = models[i];
  const card = model.card;
  rInput.value = String(card.defaults.r);
  epsInput.value = String(card.defaults.eps);
  sampleSelect.replaceChildren(new Option("(your drawing)", ""));
  card.samples.labels.forEach((label, j) => sampleSelect.append(new Option(`test image ${j} (a ${label})`, String(j))));
  const dz2 = card.config.latentDim === 2;
  $("latent").hidden = !dz2;
  if (dz2) latentPlot.setSamples(models[i].sampleMus!, card.samples.labels);
  sampleSelect.value = "0";
  selectSample();
}

function selectSample(): void {
  const j = Number(sampleSelect.value);
  if (sampleSelect.value === "" || !Number.isInteger(j)) return;
  pad.set(pixelsOf(models[current].samples.subarray(j * 784, (j + 1) * 784)));
  direction = null;
  schedule();
}

let pending = false;
/** Recomputes at most once per frame however fast the input changes. */
function schedule(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    try {
      update();
    } catch (err) {
      fail(err);
    }
  });
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

function setValue(id: string, v: number, text = fmt(v)): void {
  const e = $(id);
  e.textContent = text;
  e.dataset.value = String(v);
}

function update(): void {
  const { model } = models[current];
  const card = model.card;
  const x = pad.image;
  const clean = model.posterior(x);
  const cleanRecon = model.decode(clean.mu);
  paint($("recon") as HTMLCanvasElement, cleanRecon);
  const r = Number(rInput.value), eps = Number(epsInput.value);
  const valid = r > 0 && eps > 0 && eps < 1;
  rInput.setAttribute("aria-invalid", String(!valid));
  epsInput.setAttribute("aria-invalid", String(!valid));
  if (!valid) {
    status.textContent = "r must be positive and ε in (0, 1).";
    return;
  }
  const cert = model.certificate(clean.sigma, r, eps);
  const paper = cert.margins["paper.measured"].margin, tight = cert.margins["tight.measured"].margin;
  setValue("margin-paper", paper);
  setValue("margin-tight", tight);
  const k = card.constants;
  $("constants").textContent = `measured constants (certified upper bounds on these weights): a = ${fmt(k.a)}, b = ${fmt(k.b)}` +
    (card.config.sigma.mode === "fixed" ? "" : `, c = ${fmt(k.c)}`) +
    `; nominal M = ${card.config.lipschitz.decoder}, ${card.config.lipschitz.encoderMean}, ${card.config.lipschitz.encoderStd}; ‖σ(x)‖ = ${fmt(cert.sigma.norm)}`;
  const rows = Array.from(clean.mu, (m, j) => `<tr><th>z${j + 1}</th><td>${m.toFixed(3)}</td><td>${clean.sigma[j].toFixed(4)}</td></tr>`);
  $("posterior-table").innerHTML = `<tr><th></th><th>μ</th><th>σ</th></tr>${rows.join("")}`;
  radiusInput.max = String(Math.max(4, Math.ceil(3 * Math.max(paper, tight))));
  if (resetRadius) {
    radiusInput.value = (Math.floor(90 * Math.max(paper, tight)) / 100).toFixed(2);
    resetRadius = false;
  }
  const radius = Number(radiusInput.value);
  radiusOut.textContent = radius.toFixed(2);

  if (!direction) {
    $("delta-norm").textContent = "–";
    delete $("delta-norm").dataset.value;
    const inside = $("inside");
    inside.textContent = "Choose a perturbation: a random direction or the maximum-damage attack.";
    inside.dataset.inside = "";
    paint($("perturbed") as HTMLCanvasElement, x);
    paint($("perturbed-recon") as HTMLCanvasElement, cleanRecon);
    $("damage").textContent = "";
    if (card.config.latentDim === 2) latentPlot.show(clean, null);
    return;
  }
  const { delta, norm } = alongDirection(x, direction.v, radius);
  const moved = x.map((v, i) => v + delta[i]);
  const post = model.posterior(moved);
  const recon = model.decode(post.mu);
  paint($("perturbed") as HTMLCanvasElement, moved);
  paint($("perturbed-recon") as HTMLCanvasElement, recon);
  setValue("delta-norm", norm);
  // Both forms are valid certificates, so the larger one is the margin that holds.
  const margin = Math.max(paper, tight), form = tight >= paper ? "tight" : "paper";
  const isInside = norm < margin;
  const inside = $("inside");
  inside.dataset.inside = isInside ? "yes" : "no";
  const what = direction.kind === "attack"
    ? `maximum-damage attack direction${Math.abs(direction.radius - radius) > 1e-9 ? ` (found at ‖δ‖ ≤ ${direction.radius.toFixed(2)}, rescaled)` : ""}`
    : "random direction";
  inside.textContent = isInside
    ? `‖δ‖ = ${fmt(norm)} is inside the certified margin ${fmt(margin)} (${form}): P[‖g(z_δ) − g(z)‖ ≤ ${r}] > ${eps} is guaranteed (${what}).`
    : `‖δ‖ = ${fmt(norm)} is outside the certified margin ${fmt(margin)} (${form}): no guarantee (${what}).`;
  let dist = 0;
  for (let i = 0; i < recon.length; i++) dist += (recon[i] - cleanRecon[i]) ** 2;
  const p = robustnessEstimate(model.attackModel, x, delta, r, 64, 1);
  $("damage").textContent = `‖g(μ(x+δ)) − g(μ(x))‖ = ${Math.sqrt(dist).toFixed(3)}; estimated P[‖g(z_δ) − g(z)‖ ≤ ${r}] = ${p.toFixed(2)} (64 samples)`;
  if (card.config.latentDim === 2) latentPlot.show(clean, post);
}

function runAttack(): void {
  if (!worker) return;
  const id = ++attackId;
  const radius = Number(radiusInput.value);
  progress.hidden = false;
  progress.value = 0;
  attackButton.disabled = true;
  status.textContent = `Running the maximum-damage attack at ‖δ‖ ≤ ${radius.toFixed(2)}…`;
  const steps = Math.max(1, Math.min(500, Math.round(Number(stepsInput.value)) || 30));
  worker.postMessage({ type: "attack", id, model: current, x: Float32Array.from(pad.image), radius, steps, restarts: 2, seed: id } satisfies ToWorker);
}

function onWorker(msg: FromWorker): void {
  if (msg.id !== attackId) return;
  if (msg.type === "progress") {
    progress.value = msg.fraction;
    return;
  }
  progress.hidden = true;
  attackButton.disabled = false;
  if (msg.type === "error") {
    fail(new Error(msg.message));
    return;
  }
  status.textContent = `Attack done: mean damage ‖g(z_δ) − g(z)‖ = ${msg.damage.toFixed(3)} (32 samples).`;
  direction = { kind: "attack", v: msg.delta, radius: Number(radiusInput.value) };
  status.dataset.attack = "done";
  schedule();
}

start().catch(fail);
