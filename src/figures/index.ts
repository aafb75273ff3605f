// The paper's figures as renderers: plain data in, `${outBase}.svg` and
// `${outBase}.png` out (written atomically), the paths returned.
export type { FigureText, Written } from "./types.js";
export { type MarginVsSigmaPanel, drawMarginVsSigma } from "./margin-vs-sigma.js";
export { type BoundVsMarginPoint, ZERO_BOUND_LABEL, drawBoundVsMargin } from "./bound-vs-margin.js";
export { type HistogramOptions, drawLikelihoodVsMargin, drawMarginHistograms } from "./margins.js";
export { type Posterior2DPanel, DEFAULT_EXTENT, drawPosteriors } from "./posteriors.js";
export { type ImageRow, drawImageRows } from "./image-rows.js";
