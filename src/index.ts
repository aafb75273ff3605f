// The public interface of the `lipvae` package (Node): load a trained model or an
// exported file, run the effective network, certify inputs, attack and estimate
// margins. Everything else under dist/ is internal and may change in any release;
// docs/library.md states the stability promise. The pure certificate maths (no
// WASM) is also available on its own as `lipvae/bounds`.

// Engine start-up (optional: the kernels load on first use).
export { type EngineInfo, startEngine } from "./lib/engine.js";
export type { WasmBuild } from "./engine/wasm.js";

// Models: a directory written by `lipvae train`, or a file written by `lipvae export`.
export { type LoadedModel, type ModelMeta, loadModel } from "./model/store.js";
export { type ExportSummary, exportModel } from "./model/export.js";
export { type ExportedModel, type ForwardOutputs, type Model, forward, loadExport, modelConfig } from "./lib/models.js";
export type { ModelConfig, SigmaConfig } from "./model/config.js";
export type { PlainLayer, PlainSigma, PlainVae } from "./model/plain.js";

// Certificates: Lemma 2 / Theorem 3 in the paper's and the tight form, with nominal
// and measured constants.
export {
  type Certificate, type CertifyOptions, type ConstantsOptions,
  certifyInput, certifyInputs, measuredConstants,
} from "./lib/certify.js";
export type { Constants, ConstantsKind, Form, InputCertificate, SigmaStats } from "./bounds/certify.js";
export type { MarginBound } from "./bounds/types.js";
export * as bounds from "./bounds/index.js";

// Attacks and Algorithm 2's margin estimates (model directories only: they run on the engine).
export { attackModel } from "./lib/attacks.js";
export type { AttackModel } from "./attacks/model.js";
export { DEFAULT_MAX_DAMAGE, type MaxDamageAttack, type MaxDamageOptions, maxDamageAttack } from "./attacks/max-damage.js";
export { DEFAULT_LATENT, type LatentAttack, type LatentOptions, latentAttack } from "./attacks/latent.js";
export { DEFAULT_MARGIN, type MarginLevel, type MarginOptions, type MarginResult, estimateMargins } from "./attacks/margin.js";

// Data: MNIST / Fashion-MNIST as the paper's code sees them (pixels in [0, 1]).
export { type Dataset, type LoadOptions, type Split, loadDataset } from "./data/datasets.js";
export type { DatasetName } from "./data/catalog.js";

export { LipvaeError } from "./errors.js";
export { libraryVersion as version } from "./version.js";
