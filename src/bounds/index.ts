// Public API of the certificate maths (docs/certificates.md).
export * from "./types.js";
export { chi2Cdf, chi2Quantile, chi2Survival, inglotUStar, logInglotBound, logInglotConstant } from "./chi2.js";
export { gammaP, gammaQ } from "./gamma.js";
export { noncentralChi2Cdf, noncentralChi2Survival } from "./noncentral-chi2.js";
export {
  inglotP2,
  largestRootClamped,
  paperLemma2,
  paperLemma2M1,
  paperLemma2M2,
  paperP1,
  paperP2,
  paperTheorem1,
  paperTheorem3,
  paperTheorem3M1,
  paperTheorem3M2,
  paperTheorem3Probability,
} from "./paper.js";
export {
  MAX_EXACT_POISSON_MEAN,
  learnedVarianceBound,
  summariseFixedSigma,
  tightLemma2,
  tightLemma2M1,
  tightLemma2M2,
  tightP1,
  tightP2,
  tightTheorem1,
  tightTheorem3,
  tightTheorem3M1,
  tightTheorem3M2,
  tightTheorem3Probability,
} from "./tight.js";
export { codeTheorem3M2Exact, codeTheorem3M2Grid, type CodeTheorem3Input } from "./reference-code.js";
export { designTable, maxLipschitzConstant, paperMaxSigmaNorm, tightMaxGamma, type Design, type DesignInput, type DesignRow } from "./design.js";
export { answerLine, answerQuery, evaluateQuery, isError, parseQuery, type Answer, type Query, type QueryId } from "./query.js";
