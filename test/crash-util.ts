// Helpers of the crash-* and faults-* tests: lipvae in this process with its
// output captured, and a tiny training run driven through the library.
import { loadDataset } from "../src/data/datasets.js";
import { runMain, withFlags } from "./cli-run.js";

export { withFlags };
import { buildConfig, buildSettings, parseTrainFlags } from "../src/cli/train.js";
import { type TrainRequest, Trainer } from "../src/model/train.js";

// A tiny model on 256 images: 4 steps per epoch, two training epochs and one fine-tune epoch.
export const TINY = ["--train-limit", "256", "--hidden", "16,16", "--latent-dim", "3", "--epochs", "2", "--finetune-epochs", "1",
  "--k-finetune", "4", "--batch-size", "64", "--validation-limit", "128", "--lr", "3e-3"];


export type { Run } from "./cli-run.js";

/** `lipvae ...args` through main() in this process, its output captured. */
export const lipvae = runMain;

/** A Trainer for `lipvae train ...TINY ...extraFlags --out dir` (the same run the CLI would make). */
export function tinyTrainer(dir: string, opts: Partial<Pick<TrainRequest, "resume" | "onEvent" | "control" | "detectAnomaly">> = {}, extraFlags: string[] = []): Trainer {
  const { values } = parseTrainFlags(withFlags(TINY, extraFlags));
  const config = buildConfig(values);
  const settings = buildSettings(values, config);
  const dataset = loadDataset("mnist", { limit: 256 });
  return new Trainer({ config, seed: 0, dataset, outDir: dir, settings, ...opts });
}
