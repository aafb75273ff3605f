// Where a reproduction keeps things in its output directory:
//   models/<id>-<hash>/                 the model directory (lipvae train's format)
//   results/<id>/<analysis>-<key>.json  one analysis of one model
//   jobs/<id>-<hash>.json               what the job did: trained or reused, skipped, wall times
//   figures/<figure>.svg|png, report.md the rendering (from the JSON results only)
// Every name carries its hash, so results of other scales or settings sit
// side by side and are never mistaken for the current ones.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../errors.js";
import { writeJsonAtomic } from "../io/atomic.js";
import type { AnalysisJob, Job } from "./plan.js";

export const RESULT_FORMAT = "lipvae-reproduce-result";

export interface ResultFile<T = unknown> {
  format: typeof RESULT_FORMAT;
  model: { id: string; hash: string };
  analysis: string;
  settings: unknown;
  /** Wall time of the analysis (the only field that differs between identical runs). */
  seconds: number;
  data: T;
}

export interface JobRecord {
  model: { id: string; hash: string };
  status: "done" | "skipped";
  /** Why the job was skipped (e.g. the dataset is not downloaded). */
  reason?: string;
  training: { reused: boolean; seconds: number; epochs: { train: number; finetune: number }; bestValLoss: number | null; stoppedBecause: string } | null;
}

export const modelDir = (out: string, job: Job) => path.join(out, "models", `${job.model.id}-${job.modelHash}`);
export const resultPath = (out: string, job: Job, a: AnalysisJob) => path.join(out, "results", job.model.id, `${a.analysis}-${a.key}.json`);
export const jobPath = (out: string, job: Job) => path.join(out, "jobs", `${job.model.id}-${job.modelHash}.json`);
export const figuresDir = (out: string) => path.join(out, "figures");

function readJson<T>(file: string): T | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (err) {
    throw new LipvaeError(`${file} is not valid JSON (${(err as Error).message}); delete it and run its job again`);
  }
}

export function readResult<T>(out: string, job: Job, a: AnalysisJob): ResultFile<T> | null {
  const r = readJson<ResultFile<T>>(resultPath(out, job, a));
  return r && r.format === RESULT_FORMAT ? r : null;
}

export function writeResult(out: string, job: Job, a: AnalysisJob, data: unknown, seconds: number): void {
  const file = resultPath(out, job, a);
  mkdirSync(path.dirname(file), { recursive: true });
  const record: ResultFile = { format: RESULT_FORMAT, model: { id: job.model.id, hash: job.modelHash }, analysis: a.analysis, settings: a.settings, seconds, data };
  writeJsonAtomic(file, record);
}

export function readJobRecord(out: string, job: Job): JobRecord | null {
  return readJson<JobRecord>(jobPath(out, job));
}

export function writeJobRecord(out: string, job: Job, record: JobRecord): void {
  mkdirSync(path.dirname(jobPath(out, job)), { recursive: true });
  writeJsonAtomic(jobPath(out, job), record);
}
