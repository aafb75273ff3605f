// A model directory frozen for the attacks and the margin estimator: its effective
// weights with the saved Björck iterations, computed once.

import { type AttackModel, attackModel as freeze } from "../attacks/model.js";
import type { LoadedModel } from "../model/store.js";

export function attackModel(model: LoadedModel): AttackModel {
  return freeze(model.vae, model.meta.bjorckIters);
}
