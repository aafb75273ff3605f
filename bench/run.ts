// `npm run bench [-- --json FILE] [--quick] [--only REGEX] [--compare pytorch] [--write-docs]`
//
// Kernel rows run on both WASM builds in this one process; model rows run on
// the build the library selects. Every ratio in the table (of peak, between
// builds, against PyTorch) comes from this single run. With --compare pytorch,
// bench/pytorch_baseline.py times the same steps in PyTorch right after ours
// (bench/compare.ts) and docs/performance.md is rewritten from the run.

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import os from "node:os";
import path from "node:path";
import { instantiate, relaxedUsable } from "../src/engine/wasm.js";
import { engine, setThreads } from "../src/engine/engine.js";
import { projectRoot } from "../src/paths.js";
import { parsedOrUsage } from "./args.js";
import { type BenchRow, engineLabel, formatTable, measureSpecs, measureTimed, specCache } from "./harness.js";
import { kernelBenchmarks, measurePeak } from "./kernels.js";
import { modelRowSpecs } from "./model.js";
import { trainRowSpecs } from "./train.js";
import { type Comparison, DEFAULT_ROUNDS, comparePytorch, formatComparison, performanceDoc } from "./compare.js";

const USAGE = `usage: npm run bench -- [--json FILE] [--quick] [--only REGEX] [--compare pytorch] [--write-docs]

  --json FILE              also write the rows (and the comparison) as JSON
  --quick                  fewer repetitions (smoke test)
  --only REGEX             run only rows whose name matches (simd.peak always runs with --compare)
  --compare pytorch        time the same steps in PyTorch in this run (bench/pytorch_baseline.py,
                           at 1 and 2 threads) and rewrite docs/performance.md from the run
  --python PATH            the Python to use for --compare (default: LIPVAE_PYTHON, python3, /usr/bin/python3)
  --rounds N               interleaved rounds of the comparison (default ${DEFAULT_ROUNDS}, 1 with --quick): each
                           times every compared row on our side, then PyTorch's at 1 and 2 threads
  --compare-timeout SEC    give up on the PyTorch process after SEC seconds (default 3600, 900 with --quick)
  --write-docs             rewrite docs/performance.md from this run even without PyTorch
  --threads N              kernel threads for the engine rows (default: every core); kernel rows
                           labelled <build>×N run on the engine, the others on one core`;

/** "peak RSS N MiB ..." of a child process running two steps of the row alone (bench/step-memory.ts). */
function stepPeakRss(name: string): string {
  const child = spawnSync(process.execPath, [path.join(projectRoot, "dist", "bench", "step-memory.js"), name], { encoding: "utf8", timeout: 300_000 });
  try {
    const { peakRssMiB, beforeStepsMiB } = JSON.parse(child.stdout.trim().split("\n").pop() ?? "");
    return `peak RSS of a process running two steps alone: ${Math.round(peakRssMiB)} MiB (${Math.round(beforeStepsMiB)} MiB before them)`;
  } catch {
    return `peak RSS not measured (${child.error?.message ?? (child.stderr.trim().split("\n").pop() || `exit ${child.status}`)})`;
  }
}

/** Waits (up to 20 s) until the engine's worker threads take jobs. */
async function workersReady(): Promise<void> {
  const e = engine();
  const deadline = Date.now() + 20_000;
  while (e.activeThreads() < e.threads && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

async function main(): Promise<number> {
  const values = parsedOrUsage(() => parseArgs({
    options: {
      json: { type: "string" },
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      compare: { type: "string" },
      python: { type: "string" },
      "compare-timeout": { type: "string" },
      rounds: { type: "string" },
      "write-docs": { type: "boolean", default: false },
      threads: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values, USAGE);
  if (values === null) return 2;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.compare !== undefined && values.compare !== "pytorch") {
    console.error(`--compare: unknown baseline '${values.compare}' (only 'pytorch')\n\n${USAGE}`);
    return 2;
  }
  const compare = values.compare === "pytorch";
  const timeoutSec = values["compare-timeout"] !== undefined ? Number(values["compare-timeout"]) : values.quick ? 900 : 3600;
  if (!(timeoutSec > 0)) {
    console.error(`--compare-timeout: expected a positive number of seconds (got ${values["compare-timeout"]})`);
    return 2;
  }
  const rounds = values.rounds !== undefined ? Number(values.rounds) : values.quick ? 1 : DEFAULT_ROUNDS;
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`--rounds: expected a whole number ≥ 1 (got ${values.rounds})`);
    return 2;
  }
  if (values.threads !== undefined) {
    const t = Number(values.threads);
    if (!Number.isInteger(t) || t < 1) {
      console.error(`--threads: expected a whole number ≥ 1 (got ${values.threads})`);
      return 2;
    }
    setThreads(t);
  }
  const only = values.only ? new RegExp(values.only) : null;
  // The comparison reports fractions of simd.peak, so it is measured whatever --only says.
  const kernelOnly = only && (compare || values["write-docs"]) ? new RegExp(`(?:${only.source})|^simd\\.peak$`) : only;
  const rows: BenchRow[] = [];
  const builds = relaxedUsable() ? (["simd", "relaxed"] as const) : (["simd"] as const);
  for (const build of builds) {
    process.stderr.write(`kernels on the ${build} build...\n`);
    rows.push(...kernelBenchmarks(instantiate(build), values.quick, kernelOnly));
  }
  const e = engine();
  if (e.threads > 1) {
    await workersReady();
    process.stderr.write(`kernels on the engine (${e.build} build, ${e.activeThreads()} threads)...\n`);
    const corePeak = rows.find((r) => r.name === "simd.peak" && r.build === e.build)?.gflops ?? NaN;
    rows.push(...kernelBenchmarks({ ...e, memory: e.arena.memory }, values.quick, only, { arena: e.arena, threads: e.activeThreads(), corePeak }));
  }
  // Model rows are made once and kept: the comparison times them again between PyTorch's.
  const label = engineLabel(e), made = specCache();
  const trainSpecs = trainRowSpecs(values.quick), modelSpecs = modelRowSpecs(values.quick);
  process.stderr.write("training steps...\n");
  rows.push(...measureSpecs(trainSpecs, only, label, made));
  // Peak resident memory of a K = 50 step, each in a process of its own.
  for (const row of rows.filter((r) => /^train\.step\.b128\.k50(\.spectral)?$/.test(r.name))) {
    const peak = stepPeakRss(row.name);
    row.note = `${row.note}; ${peak}`;
  }
  process.stderr.write("inference, attacks and margins...\n");
  rows.push(...measureSpecs(modelSpecs, only, label, made));

  const cpu = os.cpus()[0]?.model ?? "cpu", cores = os.cpus().length;
  let comparison: Comparison | null = null;
  if (compare || values["write-docs"]) {
    comparison = await comparePytorch(rows, engine().build, compare
      ? { quick: values.quick, only, timeoutMs: timeoutSec * 1000, python: values.python, rounds }
      : null, {
      time: (name) => {
        const spec = [...trainSpecs, ...modelSpecs].find((s) => s.name === name);
        if (!spec) throw new Error(`no bench row named ${name}`);
        const row = measureTimed(name, label, made(spec));
        return { median: row.median, flopsPerCall: row.flopsPerCall ?? 0 };
      },
      peak: () => measurePeak(e.kernels, e.arena, e.build, values.quick).gflops!,
    });
  }

  console.log(`lipvae bench: node ${process.version}, ${cpu} x${cores}, builds: ${builds.join(", ")}`);
  console.log(formatTable(rows));
  if (comparison) console.log("\n" + formatComparison(comparison));
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ node: process.version, cpu, rows, ...(comparison ? { compare: comparison } : {}) }, null, 2) + "\n");
    console.log(`\nwrote ${values.json}`);
  }
  // A comparison whose PyTorch side is missing does not overwrite the page unless asked to.
  if (comparison && (values["write-docs"] || comparison.skipped === null)) {
    const doc = path.join(projectRoot, "docs", "performance.md");
    const command = process.env.npm_lifecycle_event === "bench"
      ? `npm run bench -- ${process.argv.slice(2).join(" ")}`
      : `node ${path.relative(process.cwd(), process.argv[1]) || process.argv[1]} ${process.argv.slice(2).join(" ")}`;
    writeFileSync(doc, performanceDoc(comparison, rows, {
      command: command.trim(), date: new Date(), node: process.version, cpu, cores, quick: values.quick,
    }));
    console.log(`wrote ${path.relative(process.cwd(), doc) || doc}`);
  } else if (comparison && compare) {
    console.log("docs/performance.md left as it is (no PyTorch columns; --write-docs to write it anyway)");
  }
  return 0;
}

main().then((code) => { process.exitCode = code; });
