// A served tiny model for the serve-* tests: prepared once per process.
import { prepareModel, type ServedModel } from "../src/server/model-card.js";
import { tinyModel } from "./export-fixture.js";

let served: Promise<{ dir: string; model: ServedModel }> | null = null;

/** The constrained-σ tiny model (its margins are positive) as `lipvae serve` prepares it. */
export function servedTinyModel(): Promise<{ dir: string; model: ServedModel }> {
  served ??= tinyModel("constrained").then((dir) => ({ dir, model: prepareModel(dir, "0", { samples: 8, log: () => {} }) }));
  return served;
}
