// One of the VAE's three networks: a stack of scaled affine layers.
//
// Lipschitz kind (docs/reference-code.md, 'Layer sequence'): every layer is
// s (x W_eff^T + b) with W_eff = Björck(W) and s = M^(1/L); GroupSort between
// layers only (never after the last). Standard kind: W used as is, s = 1, ReLU
// between layers.
// The output is the last layer's pre-activation; the VAE applies the sigmoid.

import { type Tensor, keep, tensor } from "../engine/tensor.js";
import * as ops from "../engine/ops.js";
import { requireGrad } from "../engine/tape.js";
import type { Random } from "../engine/random.js";
import { orthogonal, uniformVector } from "./init.js";
import type { BjorckOptions } from "./config.js";

export interface Linear {
  /** [out, in], as torch.nn.Linear. */
  weight: Tensor;
  bias: Tensor;
}

export class MLP {
  readonly layers: Linear[];
  /** Per-layer scale M^(1/L) (1 for the standard kind). */
  readonly layerScale: number;

  constructor(
    readonly name: string,
    readonly sizes: number[],
    readonly kind: "lipschitz" | "standard",
    readonly lipschitz: number,
    readonly groupSize: number,
    rand: Random | null,
  ) {
    const depth = sizes.length - 1;
    this.layerScale = kind === "lipschitz" ? lipschitz ** (1 / depth) : 1;
    this.layers = [];
    for (let l = 0; l < depth; l++) {
      const fanIn = sizes[l], fanOut = sizes[l + 1];
      const bound = 1 / Math.sqrt(fanIn);
      // rand = null: zero parameters, about to be overwritten by a load.
      const w = rand ? orthogonal(fanOut, fanIn, bound, rand) : new Float32Array(fanOut * fanIn);
      const b = rand ? uniformVector(fanOut, bound, rand) : new Float32Array(fanOut);
      this.layers.push({
        weight: keep(requireGrad(tensor(w, [fanOut, fanIn]))),
        bias: keep(requireGrad(tensor(b, [fanOut]))),
      });
    }
  }

  /** Parameters with their export names ("<net>.<layer>.weight" / ".bias"). */
  namedParameters(): [string, Tensor][] {
    return this.layers.flatMap((l, i): [string, Tensor][] => [
      [`${this.name}.${i}.weight`, l.weight],
      [`${this.name}.${i}.bias`, l.bias],
    ]);
  }

  /**
   * The weights the forward pass multiplies by: Björck(W, iters) for the
   * Lipschitz kind (differentiable when gradients are recorded), computed by
   * the configured method, W otherwise.
   */
  effectiveWeights(iters: number, opts: BjorckOptions): Tensor[] {
    const { beta, method, tolerance } = opts;
    const weights = this.layers.map((l) => l.weight);
    if (this.kind !== "lipschitz") return weights;
    // The spectral method takes the layers together: their eigendecompositions share the threads.
    if (method === "spectral") return ops.bjorckSpectralMany(weights, iters, beta, tolerance);
    return weights.map((w) => ops.bjorck(w, iters, beta, tolerance));
  }

  /** Pre-activation output for input x [batch, in], given effective weights. */
  forward(x: Tensor, weights: Tensor[]): Tensor {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = ops.affine(h, weights[i], layer.bias, this.layerScale);
      if (i < this.layers.length - 1) h = this.kind === "lipschitz" ? ops.groupsort(h, this.groupSize) : ops.relu(h);
    });
    return h;
  }
}
