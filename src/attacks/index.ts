// Public API of the attacks and the margin estimator (docs/attacks.md).
export { type AttackModel, attackModel, rowNoise } from "./model.js";
export {
  type NormConstraint, type Projection, clipRowsToBox, project, projectBallBox, projectRows, projectSphereBox,
} from "./projection.js";
export {
  type AscentProblem, type AscentResult, DEFAULT_OPTIMISER, type InitKind, type OptimiserOptions, type StepMethod,
  initialDelta, projectedAscent,
} from "./optimise.js";
export {
  DEFAULT_MAX_DAMAGE, type MaxDamageAttack, type MaxDamageOptions, type NoiseMode, type RowAttack,
  countWithin, damageSamples, maxDamageAttack, maxDamageProblem, maxDamageRows, rowNormsOf,
} from "./max-damage.js";
export {
  DEFAULT_LATENT, type LatentAttack, type LatentOptions, type LatentRowAttack, gaussianKlRows, latentAttack, latentProblem, latentRows,
} from "./latent.js";
export {
  DEFAULT_MARGIN, type MarginLevel, type MarginOptions, type MarginProgress, type MarginResult, REFERENCE_GRID_START,
  estimateMargins, marginGrid,
} from "./margin.js";
export { type IntervalMethod, type Side, binomialCdf, clopperPearson, proportionBound, wilson } from "./stats.js";

export { type EmpiricalRobustness, empiricalRobustness } from "./verify.js";
