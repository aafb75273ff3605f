// `lipvae reproduce`: every figure of the paper from one command. Trains (or
// reuses) the models the figures need, runs the analyses, draws the figures
// and writes report.md. Resumable (everything is cached by configuration
// hash) and shardable (--plan, --shard I/N, --job ID, --report DIR).

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { Progress, formatDuration } from "./progress.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { FIGURE_IDS, type FigureId } from "../reproduce/models.js";
import { SCALES, SCALE_NAMES, type ScaleName, isScaleName, scaleWith } from "../reproduce/scales.js";
import type { BjorckMethod } from "../model/config.js";
import { bjorckMethod } from "./train.js";
import { type Plan, type Shard, buildPlan, jobCommand, shardJobs } from "../reproduce/plan.js";
import { ASSUMED_EPOCHS, estimateJobSeconds } from "../reproduce/estimate.js";
import { type Control, Interrupted, runJob } from "../reproduce/jobs.js";
import { writeReport } from "../reproduce/report.js";

export const RUN_FILE = "reproduce.json";

const usage = `lipvae reproduce [--scale quick|paper] [--only fig3,fig5,...] [--out DIR] [options]

Reproduces every figure of the paper: trains (or reuses, by configuration
hash) each model the figures need, runs its analyses (certificates,
Algorithm 2 margins, log-likelihood, attacks, 2-D encodings), then draws the
figures (SVG + PNG) and writes DIR/report.md. Stopped runs continue where they
left off: run the same command again.

  --scale S      quick (default: few epochs on 3,000 images, 10 images per
                 analysis, spectral Björck; about 11 minutes on 2 cores) or
                 paper (the paper's settings: to convergence, K = 50 fine-tune,
                 25 images; days on 2 cores: the estimate is printed first)
  --only LIST    only these figures: ${FIGURE_IDS.join(",")}
  --out DIR      output directory (default runs/reproduce-<scale>)
  --seed S       seed of every random stream (default 0)
  --bjorck-method iterate|spectral
                 how every model computes W_K (default: the scale's, spectral for
                 quick, the paper's iteration for paper). spectral gives the same K
                 steps up to rounding at a cost independent of K: at the paper scale
                 the K = 50 fine-tune steps run about 13x faster (estimate: --plan)

Sharding (each job trains one model and runs its analyses; jobs are independent):
  --plan         print one command per job and exit (--json: JSON lines with the
                 job, its model, the command and an estimated wall time)
  --shard I/N    run jobs I, I+N, I+2N, ... (I from 0 to N-1), no report
  --job ID       run the one job ID (a model id from --plan), no report
  --report DIR   draw the figures and write DIR/report.md from the results in DIR
                 (scale, figures, seed and method as the run in DIR recorded them)

Examples: docs/reproduce.md (Slurm job array, GNU parallel).`;

interface RunSettings { scale: ScaleName; only: FigureId[]; seed: number; bjorckMethod: BjorckMethod }

const OPTIONS = {
  scale: { type: "string" }, only: { type: "string" }, out: { type: "string" }, seed: { type: "string" }, "bjorck-method": { type: "string" },
  plan: { type: "boolean" }, json: { type: "boolean" }, shard: { type: "string" }, job: { type: "string" }, report: { type: "string" },
} as const;

export const reproduceCommand: Command = {
  name: "reproduce",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseFlags(argv, OPTIONS);
    if (values.json && !values.plan) throw new UsageError("--json goes with --plan");
    if ([values.plan, values.shard !== undefined, values.job !== undefined, values.report !== undefined].filter(Boolean).length > 1) {
      throw new UsageError("give at most one of --plan, --shard, --job and --report");
    }
    if (values.report !== undefined && values.out !== undefined && path.resolve(values.out) !== path.resolve(values.report)) {
      throw new UsageError("--report DIR names the output directory: drop --out");
    }
    const out = values.report ?? values.out ?? path.join("runs", `reproduce-${values.scale ?? "quick"}`);
    const settings = runSettings(values, values.report !== undefined ? out : null);
    const plan = buildPlan(scaleWith(settings.scale, settings.bjorckMethod), settings.only, settings.seed);

    if (values.report !== undefined) {
      if (!existsSync(out)) throw new UsageError(`--report ${out}: no such directory; run the jobs first`);
      console.log(`wrote ${await writeReport(out, plan)}`);
      return 0;
    }
    if (values.plan) {
      for (const job of plan.jobs) {
        const command = jobCommand(plan, job, out);
        const estimate = estimateJobSeconds(job, plan.scale);
        console.log(values.json
          ? JSON.stringify({ job: job.model.id, index: job.index, model: job.model.label, hash: job.modelHash, analyses: job.analyses.map((a) => a.analysis), command, estimatedSeconds: Math.round(estimate) })
          : command);
      }
      if (!values.json) console.log(`lipvae reproduce --report ${out}`);
      return 0;
    }
    const shard = values.shard === undefined ? null : parseShard(values.shard);
    let jobs = shardJobs(plan, shard);
    if (values.job !== undefined) {
      jobs = plan.jobs.filter((j) => j.model.id === values.job);
      if (jobs.length === 0) throw new UsageError(`--job ${values.job} is not a job of this plan; \`lipvae reproduce --plan\` lists them (${plan.jobs.map((j) => j.model.id).join(", ")})`);
    }
    checkOutputDir(values.out === undefined ? "--out (default)" : "--out", out);
    mkdirSync(out, { recursive: true });
    writeJsonAtomic(path.join(out, RUN_FILE), settings);
    if (!(await runJobs(out, plan, jobs))) return 130;
    if (shard !== null || values.job !== undefined) {
      console.log(`done; once every job has finished: lipvae reproduce --report ${out}`);
      return 0;
    }
    console.log(`wrote ${await writeReport(out, plan)}`);
    return 0;
  },
};

/** Runs the jobs in order; false when Ctrl-C stopped them (with checkpoints to continue from). */
async function runJobs(out: string, plan: Plan, jobs: Plan["jobs"]): Promise<boolean> {
  const estimates = jobs.map((j) => estimateJobSeconds(j, plan.scale));
  const total = estimates.reduce((a, b) => a + b, 0);
  const progress = new Progress();
  progress.log(`lipvae reproduce: scale ${plan.scale.name}, ${jobs.length} of ${plan.jobs.length} jobs, into ${out}; estimated ${formatDuration(total)} on 2 cores` +
    (plan.scale.epochs === null ? ` (assuming ${ASSUMED_EPOCHS.train} training and ${ASSUMED_EPOCHS.finetune} fine-tune epochs per model: convergence takes what it takes)` : ""));
  const control: Control = { stop: false };
  const onSigint = () => {
    if (control.stop) process.exit(130);
    control.stop = true;
    progress.log("\nstopping after this step with a checkpoint (Ctrl-C again to quit at once); run the same command to continue");
  };
  process.on("SIGINT", onSigint);
  const t0 = performance.now();
  let estimatedDone = 0;
  try {
    for (const [i, job] of jobs.entries()) {
      const elapsed = (performance.now() - t0) / 1000;
      // The estimates' total, corrected by how fast the jobs so far went compared with their estimate.
      const eta = estimatedDone > 0 ? (total - estimatedDone) * (elapsed / estimatedDone) : total;
      progress.log(`[job ${i + 1}/${jobs.length}] ${job.model.id}: ${job.model.label} (${job.analyses.map((a) => a.analysis).join(", ")}); ETA ${formatDuration(eta)}`);
      const record = await runJob(out, job, progress, control);
      if (record.status === "skipped") progress.log(`  ${record.reason}`);
      estimatedDone += estimates[i];
    }
    return true;
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    progress.finish();
    console.log(`\nInterrupted (${err.message}). Run the same command again to continue.`);
    return false;
  } finally {
    progress.finish();
    process.off("SIGINT", onSigint);
  }
}

function parseShard(raw: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(raw);
  if (!m) throw new UsageError(`--shard must be I/N, e.g. 0/4 (got '${raw}')`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || index >= count) throw new UsageError(`--shard ${raw}: I must be from 0 to N-1`);
  return { index, count };
}

/** The run's scale, figures, seed and Björck method: from the flags, or for --report from the run recorded in DIR. */
function runSettings(values: { scale?: string; only?: string; seed?: string; "bjorck-method"?: string }, reportDir: string | null): RunSettings {
  let recorded: Partial<RunSettings> = {};
  const file = reportDir === null ? null : path.join(reportDir, RUN_FILE);
  if (file !== null && existsSync(file)) recorded = JSON.parse(readFileSync(file, "utf8")) as Partial<RunSettings>;
  const scale = values.scale ?? recorded.scale ?? "quick";
  if (!isScaleName(scale)) throw new UsageError(`--scale must be ${SCALE_NAMES.filter((s) => s !== "tiny").join(" or ")} (got '${scale}')`);
  const only = values.only === undefined ? recorded.only ?? [] : values.only.split(",").map((f) => f.trim()).filter((f) => f !== "");
  for (const f of only) {
    if (!(FIGURE_IDS as readonly string[]).includes(f)) throw new UsageError(`--only: unknown figure '${f}'; one of ${FIGURE_IDS.join(", ")}`);
  }
  const seed = values.seed === undefined ? recorded.seed ?? 0 : integer("--seed", values.seed, 0);
  const method = values["bjorck-method"] === undefined ? recorded.bjorckMethod ?? SCALES[scale].bjorckMethod : bjorckMethod(values["bjorck-method"]);
  return { scale, only: only as FigureId[], seed, bjorckMethod: method };
}
