// Rough wall-time estimates of the jobs on two cores, for --plan, the paper
// scale's warning and the ETA. Step times are the bench's (docs/performance.md,
// training step at batch 128 and hidden 512 on two threads: Björck K = 3
// iterate 0.30 s, spectral 0.32 s; K = 50 iterate 4.4 s, spectral 0.33 s;
// the standard VAE 0.018 s); the analysis costs
// come from one quick-scale job timed on a heavily loaded machine and scaled
// by how much slower its training steps ran there (about 13×): rough.

import type { Job } from "./plan.js";
import type { Scale } from "./scales.js";

const TRAIN_IMAGES = 54_000;
/** Training to convergence has no known length: assumed epochs per phase for the estimate. */
export const ASSUMED_EPOCHS = { train: 100, finetune: 20 };

/** Seconds per training step of a full-size model. */
function stepSeconds(job: Job, phase: "train" | "finetune"): number {
  if (job.config.kind === "standard") return 0.018;
  const spectral = job.config.bjorck.method === "spectral";
  if (phase === "train") return spectral ? 0.32 : 0.3;
  return spectral ? 0.33 : 4.4 * (job.config.bjorck.finetuneIters / 50);
}

/** Per image and per attack step, relative to the paper's 512-wide nets. */
const ANALYSIS_SECONDS = { certify: 4, marginStep: 0.0005, evalImage: 0.0002, attackStep: 0.002, encodeImage: 0.0002 };

export function estimateJobSeconds(job: Job, scale: Scale): number {
  const size = (scale.hidden[0] / 512) ** 2;
  const batches = Math.ceil((scale.trainLimit ?? TRAIN_IMAGES) / 128);
  const epochs = { train: job.train.settings.epochs ?? ASSUMED_EPOCHS.train, finetune: job.train.settings.finetune ? scale.finetuneEpochs ?? ASSUMED_EPOCHS.finetune : 0 };
  let seconds = size * batches * (epochs.train * stepSeconds(job, "train") + epochs.finetune * stepSeconds(job, "finetune"));
  const m = scale.margin;
  for (const a of job.analyses) {
    if (a.analysis === "certify") seconds += size * ANALYSIS_SECONDS.certify;
    // Algorithm 2: at worst every radius of the grid, T attacks of `steps` steps, per image.
    if (a.analysis === "margins") seconds += size * scale.images * (m.maxRadius / m.step) * m.restarts * m.steps * ANALYSIS_SECONDS.marginStep * 0.5;
    if (a.analysis === "eval") seconds += size * (scale.evalImages ?? 10_000) * ANALYSIS_SECONDS.evalImage;
    if (a.analysis === "max-damage") seconds += size * scale.attackImages * scale.attack.restarts * scale.attack.steps * ANALYSIS_SECONDS.attackStep;
    if (a.analysis === "latent") seconds += size * 3 * scale.attack.restarts * scale.attack.steps * ANALYSIS_SECONDS.attackStep;
    if (a.analysis === "encode") seconds += size * scale.encodeImages * ANALYSIS_SECONDS.encodeImage;
  }
  return seconds;
}
