// A model as the page runs it: the `lipvae export` weights (Björck applied,
// scale folded in) on the WASM engine, plus the certificate for an input.
//
// The exported network is run through the library's own VAE class, built with
// every nominal constant set to 1 so that its per-layer scale is exactly 1:
// each layer then computes x W^T + b with the exported W and b, nothing else,
// and encode/decode (and the attacks written against them) run unchanged. The
// certificate uses the model's real configuration and its measured constants.

import { decodeSafetensors } from "../io/safetensors.js";
import { parsePlainVae } from "../model/plain.js";
import { VAE, type EffectiveWeights } from "../model/vae.js";
import { type Tensor, keep, tensor, tidy } from "../engine/tensor.js";
import { noGrad } from "../engine/tape.js";
import { type InputCertificate, type SigmaStats, certifyInput, certifyFixedSigma } from "../bounds/certify.js";
import type { AttackModel } from "../attacks/model.js";
import { LipvaeError } from "../errors.js";
import type { ModelCard } from "./card.js";

export interface Posterior {
  mu: Float32Array;
  sigma: Float32Array;
}

export class WebModel {
  private constructor(readonly card: ModelCard, readonly attackModel: AttackModel) {}

  /** Builds the model from its card and the bytes of its export file. */
  static fromExport(card: ModelCard, exportBytes: Uint8Array): WebModel {
    const plain = parsePlainVae(decodeSafetensors(exportBytes, card.exportPath), card.exportPath);
    const cfg = card.config;
    if (plain.inputDim !== cfg.inputDim || plain.latentDim !== cfg.latentDim) {
      throw new LipvaeError(`${card.exportPath}: sizes ${plain.inputDim}/${plain.latentDim} differ from the model's ${cfg.inputDim}/${cfg.latentDim}`);
    }
    if (plain.metadata.source_model_sha256 !== card.parametersSha256) {
      throw new LipvaeError(`${card.exportPath} was exported from other parameters than the model's; the certificate would not hold`);
    }
    const unit = new VAE({ ...cfg, lipschitz: { decoder: 1, encoderMean: 1, encoderStd: 1 } }, 0, { initialise: false });
    const load = (layers: typeof plain.decoder, net: typeof unit.decoder): Tensor[] => layers.map((layer, i) => {
      net.layers[i].bias.data.set(layer.bias);
      return keep(tensor(layer.weight, [layer.outDim, layer.inDim]));
    });
    const weights: EffectiveWeights = {
      iters: card.bjorckIters,
      encoderMean: load(plain.encoderMean, unit.encoderMean),
      encoderStd: plain.encoderStd && unit.encoderStd ? load(plain.encoderStd, unit.encoderStd) : null,
      decoder: load(plain.decoder, unit.decoder),
    };
    return new WebModel(card, { vae: unit, weights, dz: cfg.latentDim, n: cfg.inputDim });
  }

  get latentDim(): number {
    return this.card.config.latentDim;
  }

  /** μ(x) and σ(x) for `rows` inputs (rows × 784). */
  posterior(x: Float32Array, rows = 1): Posterior {
    const { vae, weights, n } = this.attackModel;
    return noGrad(() => tidy(() => {
      const p = vae.encode(tensor(x, [rows, n]), weights);
      return { mu: Float32Array.from(p.mu.data), sigma: Float32Array.from(p.sigma.data) };
    }));
  }

  /** g(z) for `rows` latent points. */
  decode(z: Float32Array, rows = 1): Float32Array {
    const { vae, weights, dz } = this.attackModel;
    return noGrad(() => tidy(() => Float32Array.from(vae.decode(tensor(z, [rows, dz]), weights).data)));
  }

  /** The four certificates (paper/tight × nominal/measured) of one input with posterior σ. */
  certificate(sigma: Float32Array, r: number, eps: number): InputCertificate {
    const k = this.card.constants, cfg = this.card.config;
    if (cfg.sigma.mode === "fixed") return certifyFixedSigma(cfg, k, { r, eps });
    return certifyInput(cfg, sigmaStats(sigma), k, { r, eps });
  }
}

/** ‖σ‖ and max σ_j, accumulated as `lipvae certify` does. */
export function sigmaStats(sigma: Float32Array): SigmaStats {
  let sq = 0, max = 0;
  for (const s of sigma) {
    sq += s ** 2;
    max = Math.max(max, s);
  }
  return { norm: Math.sqrt(sq), max };
}
