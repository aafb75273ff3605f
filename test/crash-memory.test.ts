// Long runs: the WASM arena's bytes in use come back to the same value after
// every epoch and after each repeated attack, margin, certify or eval call in one
// process, so memory stays flat however long a run or a session is. Counted
// bytes, not timings or resident memory (bench/memory.ts measures those).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { engine } from "../src/engine/engine.js";
import { loadDataset } from "../src/data/datasets.js";
import { attackModel } from "../src/attacks/model.js";
import { DEFAULT_LATENT, latentAttack } from "../src/attacks/latent.js";
import { DEFAULT_MAX_DAMAGE, maxDamageAttack } from "../src/attacks/max-damage.js";
import { DEFAULT_MARGIN, estimateMargins } from "../src/attacks/margin.js";
import { measureConstants } from "../src/bounds/measured.js";
import { evaluate } from "../src/model/evaluate.js";
import type { VAE } from "../src/model/vae.js";
import { tinyTrainer } from "./crash-util.js";

const root = mkdtempSync(path.join(os.tmpdir(), "lipvae-crash-memory-"));
test.after(() => rmSync(root, { recursive: true, force: true }));
const live = () => engine().arena.stats().liveBytes;

let vae: VAE;

test("training: arena bytes in use never grow from one epoch of a phase to the next", async () => {
  const perEpoch: Record<string, number[]> = { train: [], finetune: [] };
  const trainer = tinyTrainer(path.join(root, "run"), { onEvent: (e) => { if (e.type === "epoch") perEpoch[e.record.phase].push(live()); } },
    ["--epochs", "4", "--finetune-epochs", "3"]);
  vae = (await trainer.run()).vae;
  assert.is(perEpoch.train.length, 4);
  assert.is(perEpoch.finetune.length, 3);
  for (const phase of ["train", "finetune"]) {
    const bytes = perEpoch[phase];
    assert.ok(bytes[0] > 0);
    // No growth: no epoch ends holding more than the first did. (The last may hold a
    // little less: which kernel calls split across threads, and so which workspaces
    // exist, depends on when the worker threads come up.)
    assert.ok(bytes.every((b) => b <= bytes[0]), `${phase}: ${bytes.join(", ")} bytes`);
  }
});

test("attacks, margins, certify and eval: arena bytes in use return to the same value after every repeated call", () => {
  const data = loadDataset("mnist", { limit: 256 });
  const model = attackModel(vae, 4);
  const n = model.n, count = 2;
  const x = data.test.images.slice(0, count * n), target = data.test.images.slice(count * n, 2 * count * n);
  const opt = { steps: 3, restarts: 2 };
  const calls: Record<string, () => unknown> = {
    latent: () => latentAttack(model, x, target, count, { ...DEFAULT_LATENT, ...opt, seed: 1 }),
    "max-damage": () => maxDamageAttack(model, x, count, 1, { ...DEFAULT_MAX_DAMAGE, ...opt, seed: 1 }),
    margin: () => estimateMargins(model, x, 1, { ...DEFAULT_MARGIN, samples: 4, restarts: 1, maxRadius: 1, step: 0.5, attack: { ...DEFAULT_MARGIN.attack, steps: 2 } }),
    certify: () => measureConstants(vae, 4),
    eval: () => evaluate(vae, data.test.images, 20, { seed: 0, bjorckIters: 4, reconstructions: 2, priorSamples: 2 }),
  };
  for (const [name, call] of Object.entries(calls)) {
    call(); // the first call may keep a reusable workspace
    const after: number[] = [];
    for (let i = 0; i < 5; i++) {
      call();
      after.push(live());
    }
    assert.equal(after, after.map(() => after[0]), `${name}: ${after.join(", ")} bytes after each call`);
  }
});

test.run();
