// `npm run bench:memory [-- --attack-steps N]`: resident memory, JS heap and
// WASM arena over a 3-epoch tiny training run and over N (default 1,000)
// latent-attack steps (calls of 10 steps) in one process. Flat numbers mean nothing accumulates; growth
// would show as a rising last column. Correctness only: the figures are sizes,
// not timings, so a loaded machine does not distort them. The heap is measured
// after a full garbage collection (the script runs with --expose-gc).

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { parsedOrExit } from "./args.js";
import path from "node:path";
import { engine } from "../src/engine/engine.js";
import { loadDataset } from "../src/data/datasets.js";
import { buildConfig, buildSettings, parseTrainFlags } from "../src/cli/train.js";
import { Trainer } from "../src/model/train.js";
import { attackModel } from "../src/attacks/model.js";
import { DEFAULT_LATENT, latentAttack } from "../src/attacks/latent.js";

const MB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

interface Sample { label: string; rssMB: number; heapMB: number; externalMB: number; arenaLiveMB: number; arenaReservedMB: number }

function sample(label: string): Sample {
  gc?.();
  const m = process.memoryUsage();
  const a = engine().arena.stats();
  return { label, rssMB: m.rss / MB, heapMB: m.heapUsed / MB, externalMB: m.external / MB, arenaLiveMB: a.liveBytes / MB, arenaReservedMB: a.reservedBytes / MB };
}

function print(title: string, samples: Sample[]): void {
  console.log(`\n${title}`);
  console.log("  when                      RSS MB   heap MB   external MB   arena live MB   arena reserved MB");
  for (const s of samples) {
    console.log(`  ${s.label.padEnd(24)} ${s.rssMB.toFixed(1).padStart(7)} ${s.heapMB.toFixed(1).padStart(9)} ${s.externalMB.toFixed(1).padStart(13)} ${s.arenaLiveMB.toFixed(2).padStart(15)} ${s.arenaReservedMB.toFixed(2).padStart(19)}`);
  }
  const first = samples[1] ?? samples[0], last = samples.at(-1)!;
  console.log(`  from "${first.label}" to the end: RSS ${signed(last.rssMB - first.rssMB)} MB, heap ${signed(last.heapMB - first.heapMB)} MB, external ${signed(last.externalMB - first.externalMB)} MB, arena live ${signed(last.arenaLiveMB - first.arenaLiveMB)} MB`);
}

const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(2)}`;

async function main(): Promise<void> {
  const values = parsedOrExit(() => parseArgs({ options: { "attack-steps": { type: "string", default: "1000" } } }).values,
    "usage: npm run bench:memory -- [--attack-steps N]");
  const attackSteps = Number(values["attack-steps"]);
  if (!Number.isInteger(attackSteps) || attackSteps < 10) {
    console.error(`--attack-steps: expected a whole number ≥ 10 (got ${values["attack-steps"]})`);
    process.exit(2);
  }
  if (!gc) console.log("(run with node --expose-gc for heap figures after a full collection)");
  const dir = mkdtempSync(path.join(os.tmpdir(), "lipvae-bench-memory-"));
  try {
    const flags = ["--train-limit", "2000", "--hidden", "128,128", "--latent-dim", "8", "--epochs", "3", "--no-finetune",
      "--validation-limit", "500", "--batch-size", "128"];
    const train = parseTrainFlags(flags).values;
    const config = buildConfig(train);
    const settings = buildSettings(train, config);
    const dataset = loadDataset("mnist", { limit: 2000 });
    const training: Sample[] = [sample("start")];
    const trainer = new Trainer({
      config, seed: 0, dataset, outDir: dir, settings,
      onEvent: (e) => { if (e.type === "epoch") training.push(sample(`after epoch ${e.record.epoch}`)); },
    });
    const { vae } = await trainer.run();
    print(`training: lipvae train ${flags.join(" ")}`, training);

    const model = attackModel(vae, 3);
    const count = 4, n = model.n;
    const x = dataset.test.images.slice(0, count * n), target = dataset.test.images.slice(count * n, 2 * count * n);
    const calls = Math.max(1, Math.round(attackSteps / 10));
    const attacks: Sample[] = [sample("before")];
    for (let call = 1; call <= calls; call++) {
      latentAttack(model, x, target, count, { ...DEFAULT_LATENT, steps: 10, restarts: 1, seed: call });
      if (call === 1 || call % Math.max(1, Math.round(calls / 5)) === 0) attacks.push(sample(`after ${call * 10} steps`));
    }
    print(`latent attack: ${calls} calls x 10 steps on ${count} images`, attacks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
