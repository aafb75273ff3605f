// The engine's public surface: tensors, differentiable ops, autodiff, optimisers.
export * from "./tensor.js";
export * as ops from "./ops.js";
export { grad, noGrad, requireGrad, gradEnabled } from "./tape.js";
export { Adam, MultiStepLR, type AdamOptions, type AdamState } from "./optim.js";
