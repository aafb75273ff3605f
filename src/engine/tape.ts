// Reverse-mode differentiation over the graph that ops.ts records.
//
// Every op output that depends on a tensor with requiresGrad carries a Node
// (its inputs, the tensors its rule reads, and the rule). grad() orders the
// graph topologically from the output and runs the rules in reverse,
// summing the contributions that reach each tensor.

import { type Tensor, empty, sameShape } from "./tensor.js";
import { axpbyInPlace } from "./kernels.js";
import { pollInterrupt } from "./interrupt.js";

let recording = true;
let anomalyMode = false;

/**
 * The first non-finite value that anomaly detection met: which op, forward or
 * backward, and whether an input of the op already held one (then the fault
 * lies before the graph: a parameter, the data).
 */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  constructor(readonly op: string, readonly pass: "forward" | "backward", readonly value: number, readonly inputAlready: boolean) {
    super(`the ${pass} of ${op} ${inputAlready ? "received" : "produced"} ${value}` +
      (inputAlready ? " from an input that is not itself an op's output (a parameter or the data)" : " from finite inputs"));
  }
}

/**
 * Runs fn with anomaly detection: every op's output, and every gradient the
 * backward pass computes, is checked for NaN and infinities, and the first one
 * throws a NonFiniteError naming the op. Costs one pass over every output.
 */
export function detectAnomaly<T>(fn: () => T): T {
  const before = anomalyMode;
  anomalyMode = true;
  try {
    return fn();
  } finally {
    anomalyMode = before;
  }
}

/** The first NaN or infinity in t, or null (x * 0 is NaN exactly for those). */
export function firstNonFinite(t: Tensor): number | null {
  const d = t.data;
  let probe = 0;
  for (let i = 0; i < d.length; i++) probe += d[i] * 0;
  if (probe === 0) return null;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return d[i];
  return null;
}

/**
 * ops.ts calls this with every op's output: the cheap place to notice a
 * pending Ctrl-C during a long synchronous step, and the op-level check of
 * anomaly detection.
 */
export function afterOp(op: string, out: Tensor, inputs: Tensor[]): void {
  pollInterrupt();
  if (anomalyMode) checkFinite(op, "forward", [out], inputs);
}

function checkFinite(op: string, pass: "forward" | "backward", outputs: (Tensor | null)[], inputs: Tensor[]): void {
  for (const out of outputs) {
    const bad = out ? firstNonFinite(out) : null;
    if (bad === null) continue;
    // A non-finite input reaching an op would have thrown at the op that made it, unless no op did.
    throw new NonFiniteError(op, pass, bad, inputs.some((t) => firstNonFinite(t) !== null));
  }
}

/** Whether ops currently record backward rules. */
export function gradEnabled(): boolean {
  return recording;
}

/** Runs fn without recording any graph (inference, attacks' inner loops, updates). */
export function noGrad<T>(fn: () => T): T {
  const before = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = before;
  }
}

/** Marks t as a leaf that gradients flow to (model parameters, attack perturbations). */
export function requireGrad<T extends Tensor>(t: T): T {
  t.requiresGrad = true;
  return t;
}

/**
 * Gradients of the scalar `output` with respect to each tensor in `wrt`
 * (zeros for one it does not depend on). The output must be a one-element tensor.
 */
export function grad(output: Tensor, wrt: Tensor[]): Tensor[] {
  if (output.size !== 1) {
    throw new Error(`grad: the output must be a scalar, got shape [${output.shape}]; reduce it with sum() or mean() first`);
  }
  const order = topologicalOrder(output);
  const wanted = new Set(wrt);
  // needsGrad: tensors on a path from a wanted leaf to the output.
  const needsGrad = new Set<Tensor>();
  for (const t of order) {
    if (wanted.has(t) || (t.node && t.node.inputs.some((i) => needsGrad.has(i)))) needsGrad.add(t);
  }
  const grads = new Map<Tensor, Tensor>();
  const seed = empty(output.shape, output.dtype);
  seed.data.fill(1);
  grads.set(output, seed);

  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = grads.get(t);
    if (!g || !t.node) continue;
    const needs = t.node.inputs.map((input) => needsGrad.has(input));
    if (!needs.some(Boolean)) continue;
    const inputGrads = t.node.backward(g, needs);
    if (anomalyMode) checkFinite(t.node.op, "backward", inputGrads, [g]);
    t.node.inputs.forEach((input, j) => {
      const gi = inputGrads[j];
      if (!needs[j] || !gi) return;
      if (!sameShape(gi.shape, input.shape)) {
        throw new Error(`internal: ${t.node!.op} returned a gradient of shape [${gi.shape}] for an input of shape [${input.shape}]`);
      }
      const prev = grads.get(input);
      grads.set(input, prev ? addFresh(prev, gi) : gi);
    });
  }
  return wrt.map((w) => grads.get(w) ?? zerosLike(w));
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  // Iterative DFS: graphs of deep models would overflow the call stack.
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    if (t.node) for (const input of t.node.inputs) if (!visited.has(input)) stack.push([input, false]);
  }
  return order;
}

/**
 * a + b into a new tensor. Never in place: a rule may pass its incoming
 * gradient straight through (add, addBias), so `a` can be another tensor's gradient.
 */
function addFresh(a: Tensor, b: Tensor): Tensor {
  const out = empty(a.shape, a.dtype);
  out.data.set(a.data);
  axpbyInPlace(1, b, 1, out);
  return out;
}

function zerosLike(t: Tensor): Tensor {
  const z = empty(t.shape, t.dtype);
  z.data.fill(0);
  return z;
}
