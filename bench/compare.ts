// `npm run bench -- --compare pytorch`: PyTorch beside us, in the same run.
//
// bench/pytorch_baseline.py builds the same models in PyTorch and times the
// same steps at 1 and at 2 threads; this file finds a Python with torch, runs
// the script (with a timeout), parses its JSON lines, runs the same-model check
// (our initial weights, input and noise exported as safetensors; the script
// recomputes loss and gradients) and formats the comparison: the table, the
// `compare` section of --json and docs/performance.md.

import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "../src/paths.js";
import { tidy, tensor } from "../src/engine/tensor.js";
import { grad, noGrad } from "../src/engine/tape.js";
import { stream } from "../src/engine/random.js";
import { encodeSafetensors } from "../src/io/safetensors.js";
import { PAPER_DEFAULTS, type ModelConfig } from "../src/model/config.js";
import { VAE, normalNoise } from "../src/model/vae.js";
import { type BenchRow, formatTable, median } from "./harness.js";

/**
 * Our rows compared, each with the PyTorch row (bench/pytorch_baseline.py) it is
 * measured against: the same step, or for the spectral Björck (which PyTorch
 * lacks) PyTorch's exact K-step row of the same K. In a round, a PyTorch row is
 * timed once, right after the first of our rows that needs it.
 */
export const COMPARED_ROWS: readonly { name: string; torch: string }[] = [
  { name: "train.step.b128.k3", torch: "train.step.b128.k3" },
  { name: "train.step.b128.k15", torch: "train.step.b128.k15" },
  { name: "train.step.b128.k15.spectral", torch: "train.step.b128.k15" },
  { name: "train.step.b128.k50", torch: "train.step.b128.k50" },
  { name: "train.step.b128.k50.spectral", torch: "train.step.b128.k50" },
  { name: "train.step.standard.b128", torch: "train.step.standard.b128" },
  { name: "infer.1000", torch: "infer.1000" },
  { name: "attack.step.b25", torch: "attack.step.b25" },
];

/** Interleaved rounds of the comparison by default (--rounds). */
export const DEFAULT_ROUNDS = 3;

export const INSTALL_HINT = "apt-get update && apt-get install -y python3-torch libopenblas0-openmp";
export const SCRIPT = path.join(projectRoot, "bench", "pytorch_baseline.py");

export interface TorchEnv {
  python: string;
  executable: string;
  torch: string;
  blas: {
    name: string; variant: string; version: string | null; config: string | null;
    corename: string | null; libraries: string[]; torchBuildBlasInfo: string | null;
  };
  env: Record<string, string>;
  warnings: string[];
  params: Record<string, number>;
}

export interface TorchRow { name: string; threads: number; median: number; min: number; max: number; n: number; blasThreads: number | null }

export interface TorchCheck {
  file: string; kind: string; iters: number; params: number; loss: number; loss64: number;
  gradMaxRelErr?: number; gradWorst?: string;
  gradOursVs64?: number; gradOursVs64Worst?: string; gradTorchVs64?: number; gradTorchVs64Worst?: string;
}

/** Our side of one same-model check case. */
export interface CheckCase { file: string; kind: string; iters: number; params: number; loss: number; withGrad: boolean }

export interface CheckResult extends CheckCase {
  torchParams: number; torchLoss: number; torchLoss64: number;
  /** |ours − torch| / |torch| for the f32 losses. */
  lossRelDiff: number;
  /** |ours − torch f64| / |torch f64|: the f64 PyTorch loss referees the two f32 ones. */
  lossRelDiff64: number;
  /** Max over parameter tensors of max|g_a − g_b| / max|g_b| (absent without gradients). */
  gradMaxRelErr?: number;
  gradWorst?: string;
  gradOursVs64?: number;
  gradTorchVs64?: number;
}

/** One round of one compared row: medians in ms, and simd.peak (GFLOP/s, one core) measured at the round's start. */
export interface Round { ours: number; torch1: number; torch2: number; peak: number | null }

export interface CompareRow {
  name: string;
  /** The PyTorch row it is compared with. */
  torchRow: string;
  /** Medians over the rounds of the per-round medians (our main-run row without PyTorch). */
  ours: number | null;
  torch1: number | null;
  torch2: number | null;
  /** Thread count of the faster PyTorch setting (of the two medians). */
  bestThreads: number | null;
  /** Median over the rounds of ours / faster PyTorch in that round (< 1: we are faster). */
  ratio: number | null;
  /** Smallest and largest per-round ratio. */
  ratioMin: number | null;
  ratioMax: number | null;
  rounds: Round[];
  gflops: number | null;
  /** Our GFLOP/s as a fraction of 2 × simd.peak (both cores' WASM f32x4 ceiling); with rounds, the median of each round's fraction against that round's peak. */
  ofPeak2: number | null;
}

export interface Comparison {
  target: "pytorch";
  /** Why the PyTorch columns are missing, when they are. */
  skipped: string | null;
  python: string | null;
  torch: TorchEnv | null;
  /** simd.peak (GFLOP/s, one core) of the build the model rows ran on. */
  peak: number | null;
  peakBuild: string;
  /** simd.peak re-measured at the start of each round (the machine's speed drifts). */
  roundPeaks: number[];
  /** Rounds run (each: every compared row on our side, then PyTorch at 1 and at 2 threads). */
  rounds: number;
  rows: CompareRow[];
  checks: CheckResult[];
  pytorchRows: TorchRow[];
}

// --------------------------------------------------------------------------- finding Python

/** The first interpreter that imports torch: --python / LIPVAE_PYTHON, else python3, else /usr/bin/python3 (Debian's). */
export function findPython(explicit?: string): { python: string } | { missing: string } {
  const wanted = explicit ?? process.env.LIPVAE_PYTHON;
  const candidates = wanted ? [wanted] : ["python3", "/usr/bin/python3"];
  const tried: string[] = [];
  for (const py of candidates) {
    const probe = spawnSync(py, ["-c", "import torch, sys; print(torch.__version__)"], { encoding: "utf8", timeout: 120_000 });
    if (probe.error) {
      tried.push(`${py}: ${(probe.error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : probe.error.message}`);
    } else if (probe.status === 0) {
      return { python: py };
    } else {
      const last = (probe.stderr ?? "").trim().split("\n").pop() ?? "";
      tried.push(`${py}: ${probe.signal ? `killed by ${probe.signal}` : last || `exit ${probe.status}`}`);
    }
  }
  return {
    missing: `no Python with torch (${tried.join("; ")}).\n` +
      `  Install Debian's PyTorch with its OpenBLAS:  ${INSTALL_HINT}\n` +
      "  (it installs for /usr/bin/python3; another interpreter: --python PATH or LIPVAE_PYTHON=PATH)",
  };
}

// --------------------------------------------------------------------------- the PyTorch process

export interface RunOptions { quick: boolean; only: RegExp | null; timeoutMs: number }

type Message = { type?: string } & Record<string, unknown>;

/**
 * bench/pytorch_baseline.py --serve: started once, it answers one timing
 * request at a time, so that PyTorch's rows can be timed between ours.
 * stderr streams through (progress); every wait is bounded by one deadline.
 */
export class TorchServer {
  private readonly queue: Message[] = [];
  private wake: (() => void) | null = null;
  private exit: string | null = null;
  private errTail = "";

  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly deadline: number,
    private readonly what: string, progress: (text: string) => void) {
    let partial = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim().startsWith("{")) continue;
        try { this.queue.push(JSON.parse(line) as Message); } catch { continue; }
      }
      this.wake?.();
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      progress(d);
      this.errTail = (this.errTail + d).slice(-4000);
    });
    child.on("error", (e) => { this.exit = `cannot start: ${e.message}`; this.wake?.(); });
    child.on("close", (code, signal) => { this.exit = signal ? `signal ${signal}` : `exit ${code}`; this.wake?.(); });
    child.stdin.on("error", () => { /* a dead process: reported by the next wait */ });
  }

  /**
   * Starts the script (command: argv[0] and the rest) and reads up to its "ready" line: the environment and the
   * checks. Its stderr (progress) goes to `progress`; the last lines of it explain any failure.
   */
  static async start(command: string[], timeoutMs: number, progress = (text: string) => { process.stderr.write(text); }):
    Promise<{ server: TorchServer; env: TorchEnv; checks: TorchCheck[] }> {
    const child = spawn(command[0], command.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    const server = new TorchServer(child, Date.now() + timeoutMs, path.basename(command[1] ?? command[0]), progress);
    let env: TorchEnv | null = null;
    const checks: TorchCheck[] = [];
    for (;;) {
      const m = await server.next();
      if (m.type === "env") env = m as unknown as TorchEnv;
      else if (m.type === "check") checks.push(m as unknown as TorchCheck);
      else if (m.type === "ready") break;
    }
    if (!env) throw server.fail("was ready before its env line");
    return { server, env, checks };
  }

  /** The next JSON line; rejects if the process ends or the deadline passes first. */
  private async next(): Promise<Message> {
    for (;;) {
      const m = this.queue.shift();
      if (m) {
        if (m.type === "error") throw this.fail(String(m.message ?? m.error));
        return m;
      }
      if (this.exit !== null) throw this.fail(`ended (${this.exit})`);
      const left = this.deadline - Date.now();
      if (left <= 0) {
        this.kill();
        throw new Error(`${this.what} timed out (--compare-timeout SECONDS to raise it)`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
      this.wake = null;
    }
  }

  private fail(why: string): Error {
    const tail = this.errTail.trim().split("\n").slice(-8).join("\n");
    return new Error(`${this.what} ${why}${tail ? `:\n${tail}` : ""}`);
  }

  /** PyTorch's timing of one row at `threads` threads. */
  async time(name: string, threads: number): Promise<TorchRow> {
    this.child.stdin.write(JSON.stringify({ name, threads }) + "\n");
    const m = await this.next();
    if (m.type !== "row" || m.name !== name || m.threads !== threads) throw this.fail(`answered ${JSON.stringify(m).slice(0, 200)} to a request for ${name} at ${threads} threads`);
    return m as unknown as TorchRow;
  }

  /** Ends the input and waits (bounded) for the process to exit. */
  async close(): Promise<void> {
    this.child.stdin.end();
    try { while ((await this.next()).type !== "done"); } catch { /* ended anyway */ }
    this.kill();
  }

  private kill(): void {
    if (this.exit === null) {
      this.child.kill("SIGTERM");
      setTimeout(() => { if (this.exit === null) this.child.kill("SIGKILL"); }, 5000).unref();
    }
  }
}

// --------------------------------------------------------------------------- same-model check (our side)

/**
 * Writes one safetensors file per case into dir: our initial parameters (seed 0),
 * a fixed input batch and noise, and (with gradients) our gradients as "grad.<name>";
 * metadata: kind, iters, our loss.
 */
export function writeCheckCases(dir: string): CheckCase[] {
  const cases: { kind: ModelConfig["kind"]; iters: number; withGrad: boolean }[] = [
    { kind: "lipschitz", iters: PAPER_DEFAULTS.bjorck.trainIters, withGrad: true },
    { kind: "lipschitz", iters: PAPER_DEFAULTS.bjorck.finetuneIters, withGrad: false },
    { kind: "standard", iters: 0, withGrad: true },
  ];
  const rand = stream(0, "bench.check");
  const B = 128, n = PAPER_DEFAULTS.inputDim, dz = PAPER_DEFAULTS.latentDim;
  const xData = Float32Array.from({ length: B * n }, () => rand.uniform());
  const noiseData = Float32Array.from(normalNoise(B, dz, rand).data);
  return cases.map((c) => {
    const vae = new VAE({ ...PAPER_DEFAULTS, kind: c.kind }, 0);
    const named = vae.namedParameters();
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {
      x: { shape: [B, n], data: xData }, noise: { shape: [B, dz], data: noiseData },
    };
    for (const [name, t] of named) tensors[name] = { shape: [...t.shape], data: Float32Array.from(t.data) };
    const loss = tidy(() => {
      const run = () => {
        const { loss } = vae.elbo(tensor(xData, [B, n]), tensor(noiseData, [B, dz]), vae.effectiveWeights(c.iters));
        if (c.withGrad) {
          grad(loss, named.map(([, t]) => t)).forEach((g, i) => {
            tensors[`grad.${named[i][0]}`] = { shape: [...g.shape], data: Float32Array.from(g.data) };
          });
        }
        return loss.data[0];
      };
      return c.withGrad ? run() : noGrad(run);
    });
    const file = path.join(dir, `${c.kind}-k${c.iters}.safetensors`);
    writeFileSync(file, encodeSafetensors(tensors, { kind: c.kind, iters: String(c.iters), loss: String(loss) }));
    const params = named.reduce((s, [, t]) => s + t.data.length, 0);
    return { file, kind: c.kind, iters: c.iters, params, loss, withGrad: c.withGrad };
  });
}

function checkResults(cases: CheckCase[], torchChecks: TorchCheck[]): CheckResult[] {
  return cases.flatMap((c) => {
    const t = torchChecks.find((tc) => tc.file === path.basename(c.file));
    if (!t) return [];
    return [{
      ...c, file: path.basename(c.file), torchParams: t.params, torchLoss: t.loss, torchLoss64: t.loss64,
      lossRelDiff: Math.abs(c.loss - t.loss) / Math.abs(t.loss),
      lossRelDiff64: Math.abs(c.loss - t.loss64) / Math.abs(t.loss64),
      gradMaxRelErr: t.gradMaxRelErr, gradWorst: t.gradWorst, gradOursVs64: t.gradOursVs64, gradTorchVs64: t.gradTorchVs64,
    }];
  });
}

// --------------------------------------------------------------------------- the comparison

export interface CompareOptions extends RunOptions { python?: string; rounds: number }

/** How our side is timed again in each round: a row's median in ms and its FLOPs per call (0 if not counted), and simd.peak. */
export interface OurSide {
  time: (name: string) => { median: number; flopsPerCall: number };
  /** One core's simd.peak in GFLOP/s on the build of the rows, measured now. */
  peak: () => number;
}

/** A compared row from its rounds: medians of each column, the median and range of the per-round ratios. */
export function summariseRounds(name: string, torchRow: string, rounds: Round[], flopsPerCall: number, peak: number | null): CompareRow {
  const ours = median(rounds.map((r) => r.ours)), torch1 = median(rounds.map((r) => r.torch1)), torch2 = median(rounds.map((r) => r.torch2));
  const ratios = rounds.map((r) => r.ours / Math.min(r.torch1, r.torch2));
  const gflops = flopsPerCall > 0 ? flopsPerCall / (ours * 1e6) : null;
  // Each round's GFLOP/s against that round's peak when it was measured, else against the run's.
  const fractions = rounds.map((r) => (r.peak ?? peak) !== null ? flopsPerCall / (r.ours * 1e6) / (2 * (r.peak ?? peak)!) : NaN);
  return {
    name, torchRow, ours, torch1, torch2, bestThreads: torch1 <= torch2 ? 1 : 2,
    ratio: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios), rounds,
    gflops, ofPeak2: gflops !== null && fractions.every(Number.isFinite) ? median(fractions) : null,
  };
}

/**
 * Runs the PyTorch side (or explains why not) and joins it with our rows: with
 * PyTorch, `rounds` interleaved rounds, each timing every compared row on our
 * side (`timeOurs`) and then PyTorch's row at 1 and at 2 threads, so both
 * sides see the same drift of the machine. Never throws for a missing or failing PyTorch.
 */
export async function comparePytorch(ours: BenchRow[], peakBuild: string, opts: CompareOptions | null, ourSide: OurSide): Promise<Comparison> {
  const peakRow = ours.find((r) => r.name === "simd.peak" && r.build === peakBuild);
  const base: Comparison = {
    target: "pytorch", skipped: null, python: null, torch: null, peak: peakRow?.gflops ?? null, peakBuild,
    roundPeaks: [], rounds: 0, rows: [], checks: [], pytorchRows: [],
  };
  const compared = COMPARED_ROWS.filter((c) => !opts?.only || opts.only.test(c.name));
  const found: { python: string } | { missing: string } = opts ? findPython(opts.python) : { missing: "not requested (add --compare pytorch)" };
  if ("missing" in found) {
    base.skipped = found.missing;
  } else if (opts) {
    base.python = found.python;
    const dir = mkdtempSync(path.join(os.tmpdir(), "lipvae-compare-"));
    let server: TorchServer | null = null;
    try {
      process.stderr.write("same-model check: exporting our initial weights...\n");
      const cases = writeCheckCases(dir);
      process.stderr.write(`PyTorch baseline (${found.python} ${path.relative(process.cwd(), SCRIPT)} --serve), ${opts.rounds} interleaved round${opts.rounds > 1 ? "s" : ""}...\n`);
      const started = await TorchServer.start([found.python, SCRIPT, "--serve", ...(opts.quick ? ["--quick"] : []),
        ...cases.flatMap((c) => ["--check", c.file])], opts.timeoutMs);
      server = started.server;
      base.torch = started.env;
      base.checks = checkResults(cases, started.checks);
      const rounds = new Map<string, Round[]>(compared.map((c) => [c.name, []]));
      const flops = new Map<string, number>();
      for (let r = 0; r < opts.rounds; r++) {
        const torchThisRound = new Map<string, [TorchRow, TorchRow]>();
        const peak = ourSide.peak();
        base.roundPeaks.push(peak);
        for (const c of compared) {
          process.stderr.write(`round ${r + 1}/${opts.rounds}: ${c.name}\n`);
          const mine = ourSide.time(c.name);
          flops.set(c.name, mine.flopsPerCall);
          let torch = torchThisRound.get(c.torch);
          if (!torch) {
            torch = [await server.time(c.torch, 1), await server.time(c.torch, 2)];
            torchThisRound.set(c.torch, torch);
            base.pytorchRows.push(...torch);
          }
          rounds.get(c.name)!.push({ ours: mine.median, torch1: torch[0].median, torch2: torch[1].median, peak });
        }
        base.rounds = r + 1;
      }
      base.rows = compared.map((c) => summariseRounds(c.name, c.torch, rounds.get(c.name)!, flops.get(c.name) ?? 0, base.peak));
    } catch (e) {
      base.skipped = `the PyTorch baseline failed: ${(e as Error).message}`;
      base.rows = [];
    } finally {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (base.skipped !== null) {
    // Our main-run rows alone.
    for (const c of compared) {
      const mine = ours.find((r) => r.name === c.name);
      if (!mine) continue;
      base.rows.push({
        name: c.name, torchRow: c.torch, ours: mine.median, torch1: null, torch2: null, bestThreads: null,
        ratio: null, ratioMin: null, ratioMax: null, rounds: [],
        gflops: mine.gflops, ofPeak2: mine.gflops !== null && base.peak ? mine.gflops / (2 * base.peak) : null,
      });
    }
  }
  return base;
}

// --------------------------------------------------------------------------- output

const ms = (v: number | null) => (v === null ? "-" : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/** "; at the start of each round: a, b, c" when the rounds re-measured the peak. */
function roundPeaks(c: Comparison): string {
  return c.roundPeaks.length ? `; at the start of each round: ${c.roundPeaks.map((p) => p.toFixed(1)).join(", ")} GFLOP/s` : "";
}

function tableCells(c: Comparison): { header: string[]; body: string[][] } {
  const withTorch = c.skipped === null;
  const header = ["row", "ours ms", ...(withTorch ? ["PyTorch 1 thread", "PyTorch 2 threads", "ours / faster PyTorch", `range over ${c.rounds} rounds`] : []),
    "our GFLOP/s", "of 2x simd.peak"];
  const range = (r: CompareRow) => (r.ratioMin === null || r.ratioMax === null ? "-" : `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}`);
  const body = c.rows.map((r) => [
    r.name === r.torchRow ? r.name : `${r.name} (vs PyTorch ${r.torchRow.replace(/^train\.step\.b128\./, "")})`, ms(r.ours),
    ...(withTorch ? [ms(r.torch1), ms(r.torch2), r.ratio === null ? "-" : `${r.ratio.toFixed(2)} (${r.bestThreads}T)`, range(r)] : []),
    r.gflops === null ? "-" : r.gflops.toFixed(1), r.ofPeak2 === null ? "-" : `${(100 * r.ofPeak2).toFixed(0)}%`,
  ]);
  return { header, body };
}

export function blasSummary(t: TorchEnv): string {
  const b = t.blas;
  return `${b.name}${b.version ? ` ${b.version}` : ""}${b.variant ? ` (${b.variant})` : ""}${b.corename ? `, core ${b.corename}` : ""}`;
}

export function envSummary(t: TorchEnv): string {
  const vars = Object.entries(t.env).map(([k, v]) => `${k}=${v}`);
  return vars.length ? vars.join(" ") : "(no OPENBLAS_*/OMP_* variables set)";
}

function checkLines(c: Comparison): string[] {
  const e = (v: number | undefined) => (v === undefined ? "-" : v.toExponential(1));
  return c.checks.map((k) => {
    const same = k.params === k.torchParams ? `${k.params.toLocaleString("en-US")} parameters on both sides`
      : `PARAMETER COUNT DIFFERS: ours ${k.params}, PyTorch ${k.torchParams}`;
    const g = k.gradMaxRelErr === undefined ? ""
      : `; gradients (max rel. err): ours vs PyTorch ${e(k.gradMaxRelErr)}, ours vs f64 ${e(k.gradOursVs64)}, PyTorch vs f64 ${e(k.gradTorchVs64)}`;
    return `${k.kind}${k.kind === "lipschitz" ? ` K=${k.iters}` : ""}: ${same}; loss ours ${k.loss.toPrecision(8)}, ` +
      `PyTorch ${k.torchLoss.toPrecision(8)}, PyTorch f64 ${k.torchLoss64.toPrecision(8)} ` +
      `(rel. diff ours vs PyTorch ${e(k.lossRelDiff)}, ours vs f64 ${e(k.lossRelDiff64)})${g}`;
  });
}

/** The console report: header lines, the table, the checks. */
export function formatComparison(c: Comparison): string {
  const lines: string[] = [];
  if (c.skipped !== null) {
    lines.push(`PyTorch columns skipped: ${c.skipped}`);
  } else if (c.torch) {
    lines.push(`PyTorch ${c.torch.torch} (Python ${c.torch.python}, ${c.python}), BLAS: ${blasSummary(c.torch)}; ${envSummary(c.torch)}`);
    for (const w of c.torch.warnings) lines.push(`WARNING: ${w}`);
  }
  lines.push(`simd.peak (${c.peakBuild} build, one core): ${c.peak === null ? "not measured" : `${c.peak.toFixed(1)} GFLOP/s; 2x = ${(2 * c.peak).toFixed(1)}`}${roundPeaks(c)}`);
  const { header, body } = tableCells(c);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
  lines.push(line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line));
  if (c.skipped === null) {
    lines.push("ours / faster PyTorch: the median over the rounds of each round's ratio (below 1 we are faster); (1T)/(2T) is the",
      "PyTorch thread count with the faster median. Each round times every row on our side, then PyTorch's at 1 and 2 threads.",
      "Spectral rows are compared with PyTorch's exact K-step row of the same K (PyTorch has no spectral Björck).");
  }
  const checks = checkLines(c);
  if (checks.length) lines.push("same-model check (our initial weights, input and noise loaded into PyTorch):", ...checks.map((l) => `  ${l}`));
  return lines.join("\n");
}

function markdownTable(c: Comparison): string {
  const { header, body } = tableCells(c);
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [row(header), row(align), ...body.map((b) => row([`\`${b[0]}\``, ...b.slice(1)]))].join("\n");
}

export interface DocContext { command: string; date: Date; node: string; cpu: string; cores: number; quick: boolean }

/** docs/performance.md, generated from one run. */
export function performanceDoc(c: Comparison, ours: BenchRow[], ctx: DocContext): string {
  const t = c.torch;
  const out: string[] = [
    "# Performance: lipvae beside PyTorch",
    "",
    "<!-- Generated by `npm run bench -- --compare pytorch` (bench/compare.ts); do not edit by hand: rerun the command. -->",
    "",
    "Every number on this page comes from **one run** of one command on one machine; only the",
    "ratios within this run mean anything (`performance-notes.md`, \"How to compare\"). The",
    `comparison interleaves the two sides: in each of ${c.rounds} round${c.rounds === 1 ? "" : "s"}, every row is timed on our side and then`,
    "in PyTorch at 1 and at 2 threads, so a drift of the VM's speed reaches both.",
    "",
    `- Command: \`${ctx.command}\`${ctx.quick ? " (quick: few repetitions, a smoke test rather than a measurement)" : ""}`,
    `- Date: ${ctx.date.toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- Node ${ctx.node}; CPU: ${ctx.cpu} x${ctx.cores}; WASM build of the model rows: ${c.peakBuild}`,
    `- simd.peak (same run, one core): ${c.peak === null ? "not measured" : `${c.peak.toFixed(1)} GFLOP/s, so 2x simd.peak = ${(2 * c.peak).toFixed(1)} GFLOP/s`}${roundPeaks(c)}`,
  ];
  if (t) {
    out.push(
      `- PyTorch ${t.torch} (Python ${t.python}, \`${t.executable}\`); torch build BLAS_INFO=${t.blas.torchBuildBlasInfo ?? "?"}`,
      `- BLAS loaded by torch: ${blasSummary(t)}${t.blas.config ? ` — \`${t.blas.config}\`` : ""}`,
      `- BLAS libraries mapped: ${t.blas.libraries.map((l) => `\`${l}\``).join(", ") || "none found"}`,
      `- Environment: ${envSummary(t)}`,
    );
    for (const w of t.warnings) out.push(`- **Warning:** ${w}`);
  } else {
    out.push(`- PyTorch: skipped — ${c.skipped?.split("\n")[0]}`);
  }
  out.push("", markdownTable(c), "",
    "Columns: medians over the rounds of our median and of PyTorch's at 1 and at 2 threads",
    "(`torch.set_num_threads`, and OpenBLAS's own thread count set to match); the median over the",
    "rounds of our time over the faster PyTorch setting of the same round (below 1: lipvae is",
    "faster; (1T)/(2T) names the faster setting), and the smallest and largest of those per-round",
    "ratios; our GFLOP/s on the",
    "FLOPs our GEMM kernels executed, counted by the kernels (`assembly/flops.ts`; elementwise work",
    "not counted), and that as a fraction of 2 x simd.peak, the WASM f32x4 ceiling of both cores",
    "(the median over the rounds of each round's fraction, against simd.peak re-measured at the",
    "start of that round).",
    "The notes of the full run below also give autograd's accounting (what PyTorch's products",
    "add up to), which counts the Gram twice and a fourth backward product. On these VMs PyTorch's",
    "2-thread runs can be slower than 1 thread, which is why the faster setting is taken per row.",
    "", "## What each row times", "",
    "Both sides build the same model (`bench/pytorch_baseline.py` mirrors `src/model/`): the paper's",
    "784-512-512-10 encoder mean and σ nets and 10-512-512-784 decoder, every layer s(x W_effᵀ + b)",
    "with s = 10^(1/3), W_eff = order-1 Björck(W, K, β = 0.5) on the smaller Gram, GroupSort(2)",
    "between layers, σ = sigmoid(net), continuous-Bernoulli likelihood, batch 128, Adam lr 1e-4.",
    "PyTorch differentiates through Björck with autograd; lipvae uses its fused kernels.",
    "",
    "- `train.step.b128.k3`, `.k15`, `.k50`: Björck with K iterations on all 9 weights, the negative",
    "  ELBO, backward, Adam step (`bench/train.ts`).",
    "- `train.step.b128.k15.spectral`, `.k50.spectral`: the same step with `--bjorck-method spectral`",
    "  (the K steps as one function of each weight's f64 eigendecomposition), against PyTorch's",
    "  exact K-step row: PyTorch has no such option, so this is the speed-up a user gets by choosing it.",
    "- `train.step.standard.b128`: the standard VAE (plain weights, ReLU, scale 1), same step.",
    "- `infer.1000`: `lipvae eval`'s loop on 1000 images — batches of 500, encode, sample, decode,",
    "  log-likelihood and KL per image, no gradients; the K = 50 Björck weights are computed once,",
    "  outside the timing.",
    "- `attack.step.b25`: one maximum-damage step on 25 rows (`src/attacks/max-damage.ts`, fresh",
    "  noise): clean reconstruction target, encode x + δ, sample, decode, distance, gradient",
    "  with respect to δ, a step and the exact ball ∩ box projection; weights frozen at K = 50.",
    "");
  const checks = checkLines(c);
  if (checks.length) {
    out.push("## Same model", "",
      "Our initial parameters (seed 0), a fixed batch of 128 inputs and the noise, exported as",
      "safetensors and loaded into the PyTorch model; loss and gradients recomputed there, in",
      "float32 and, as a referee, in float64 (with the model's float32 logit clamp). Gradient errors",
      "are max |a − b| / max |b| per parameter tensor, worst tensor. PyTorch's float32",
      "continuous-Bernoulli normaliser loses digits near λ = ½ (log|log(1−λ) − log λ| − log|1−2λ|",
      "cancels); ours evaluates it through the logit in double precision (`src/model/likelihood.ts`).", "",
      ...checks.map((l) => `- ${l}`), "");
  }
  out.push("## The full run", "", "Every row of the same run (`npm run bench` prints this table):", "",
    "```", formatTable(ours), "```", "");
  return out.join("\n");
}
