// STUB: the figure renderers are written by another branch (src/figures/); this
// placeholder only lets `lipvae reproduce` compile until they land. Every
// renderer throws, and the reproduction reports the figure as not drawn.
export interface Written { svg: string; png: string }
export interface FigureText { title: string; subtitle?: string }
export interface MarginVsSigmaPanel { title: string; points: { sigma: number; mean: number; sd: number; n: number }[] }
export interface BoundVsMarginPoint { image: number; series: string; bound: number; margin: number }
export interface Posterior2DPanel { title: string; points: { mu: [number, number]; sigma: [number, number]; label: number }[] }
export interface ImageRow { label: string; images: Float32Array[] }

const notYet = (): Promise<Written> => Promise.reject(new Error("not yet"));
export const drawMarginVsSigma = (_p: MarginVsSigmaPanel[], _t: FigureText & { xLabel: string }, _o: string): Promise<Written> => notYet();
export const drawBoundVsMargin = (_p: BoundVsMarginPoint[], _t: FigureText, _o: string): Promise<Written> => notYet();
export const drawMarginHistograms = (_m: { label: string; margins: number[] }[], _t: FigureText, _o: string): Promise<Written> => notYet();
export const drawLikelihoodVsMargin = (_p: { label: string; meanMargin: number; logLikelihood: number }[], _t: FigureText, _o: string): Promise<Written> => notYet();
export const drawPosteriors = (_p: Posterior2DPanel[], _t: FigureText & { extent?: number }, _o: string): Promise<Written> => notYet();
export const drawImageRows = (_r: ImageRow[], _t: FigureText & { columnLabels?: string[] }, _o: string): Promise<Written> => notYet();
