// Helpers of the crash-* and faults-* tests: lipvae in this process with its
// output captured, and a tiny training run driven through the library.
import { loadDataset } from "../src/data/datasets.js";
import { main } from "../src/cli/main.js";
import { buildConfig, buildSettings, parseTrainFlags } from "../src/cli/train.js";
import { type TrainRequest, Trainer } from "../src/model/train.js";

// A tiny model on 256 images: 4 steps per epoch, two training epochs and one fine-tune epoch.
export const TINY = ["--train-limit", "256", "--hidden", "16,16", "--latent-dim", "3", "--epochs", "2", "--finetune-epochs", "1",
  "--k-finetune", "4", "--batch-size", "64", "--validation-limit", "128", "--lr", "3e-3"];

/**
 * `base` flags with `extra` appended, where a flag in `extra` replaces the same flag's
 * value in `base` (lipvae refuses a flag given twice). Every flag in `base` takes a value.
 */
export function withFlags(base: string[], extra: string[]): string[] {
  const given = new Set(extra.filter((arg) => arg.startsWith("--")));
  const kept: string[] = [];
  for (let i = 0; i < base.length; i += 2) if (!given.has(base[i])) kept.push(base[i], base[i + 1]);
  return [...kept, ...extra];
}

export interface Run { status: number | null; stdout: string; stderr: string }

/** `lipvae ...args` through main() in this process, its output captured. */
export async function lipvae(args: string[]): Promise<Run> {
  let stdout = "", stderr = "";
  const out = process.stdout.write, err = process.stderr.write;
  const capture = (add: (s: string) => void) => ((chunk: string | Uint8Array) => {
    add(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture((s) => (stdout += s));
  process.stderr.write = capture((s) => (stderr += s));
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A Trainer for `lipvae train ...TINY ...extraFlags --out dir` (the same run the CLI would make). */
export function tinyTrainer(dir: string, opts: Partial<Pick<TrainRequest, "resume" | "onEvent" | "control" | "detectAnomaly">> = {}, extraFlags: string[] = []): Trainer {
  const { values } = parseTrainFlags(withFlags(TINY, extraFlags));
  const config = buildConfig(values);
  const settings = buildSettings(values, config);
  const dataset = loadDataset("mnist", { limit: 256 });
  return new Trainer({ config, seed: 0, dataset, outDir: dir, settings, ...opts });
}
