// The results of a plan as found in an output directory: what the report and
// the figures are drawn from (never from models).

import type { Analysis } from "./models.js";
import type { Job, Plan } from "./plan.js";
import { type JobRecord, type ResultFile, readJobRecord, readResult } from "./store.js";
import { jobCommand } from "./plan.js";

export interface Results {
  plan: Plan;
  jobs: Map<string, { job: Job; record: JobRecord | null; results: Map<Analysis, ResultFile> }>;
}

export function collectResults(out: string, plan: Plan): Results {
  const jobs: Results["jobs"] = new Map();
  for (const job of plan.jobs) {
    const results = new Map<Analysis, ResultFile>();
    for (const a of job.analyses) {
      const r = readResult(out, job, a);
      if (r) results.set(a.analysis, r);
    }
    jobs.set(job.model.id, { job, record: readJobRecord(out, job), results });
  }
  return { plan, jobs };
}

/** The analysis' data, or null when it is not on disk. */
export function resultOf<T>(res: Results, id: string, analysis: Analysis): T | null {
  return (res.jobs.get(id)?.results.get(analysis)?.data as T | undefined) ?? null;
}

/** Why a model's result is missing: the job's skip reason, or the command that produces it. */
export function missingReason(res: Results, id: string): string {
  const entry = res.jobs.get(id);
  if (!entry) return `model ${id} is not in this plan`;
  if (entry.record?.status === "skipped") return `skipped: ${entry.record.reason}`;
  return `not run yet: \`${jobCommand(res.plan, entry.job, "$OUT")}\``;
}

// The shapes of the analyses' data (see jobs.ts).
export interface CertifyData {
  constants: { a: number; b: number; c: number; converged: boolean };
  nominalValid: { paper: boolean; tight: boolean };
  images: { index: number; label: number; sigmaNorm: number; margins: Record<string, { m1: number; m2: number; margin: number }> }[];
}
export interface MarginsData { images: { index: number; label: number; margin: number }[]; mean: number; sd: number }
export interface EvalData { images: number; logLikelihood: { mean: number; stdErr: number }; elbo: { mean: number; stdErr: number }; priorSamples: number[][] }
export interface MaxDamageData { columns: string[]; images: { index: number; label: number; deltaNorm: number; damage: number; strip: number[][] }[] }
export interface LatentData { source: number; target: number; columns: string[]; runs: { radius: number; deltaNorm: number; kl: number; strip: number[][] }[] }
export interface EncodeData { points: { mu: number[]; sigma: number[]; label: number }[] }
