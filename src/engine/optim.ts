// Optimisers: Adam with torch.optim.Adam's defaults, and MultiStepLR.

import { adamStep } from "./kernels.js";
import { type Tensor, keep, zeros } from "./tensor.js";

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** The optimiser state that a checkpoint must hold to resume exactly. */
export interface AdamState {
  step: number;
  lr: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private t = 0;
  private readonly m: Tensor[];
  private readonly v: Tensor[];

  constructor(readonly params: Tensor[], opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    for (const p of params) {
      if (p.dtype !== "f32") throw new Error("Adam: parameters must be f32 tensors");
    }
    this.m = params.map((p) => keep(zeros(p.shape, p.dtype)));
    this.v = params.map((p) => keep(zeros(p.shape, p.dtype)));
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update; grads[i] belongs to params[i]. */
  step(grads: Tensor[]): void {
    if (grads.length !== this.params.length) {
      throw new Error(`Adam.step: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    this.t += 1;
    const stepSize = this.lr / (1 - this.beta1 ** this.t);
    const vScale = 1 / Math.sqrt(1 - this.beta2 ** this.t);
    this.params.forEach((p, i) => {
      const g = grads[i];
      if (g.size !== p.size) throw new Error(`Adam.step: gradient ${i} has shape [${g.shape}], parameter has [${p.shape}]`);
      adamStep(p, g, this.m[i], this.v[i], this.beta1, this.beta2, stepSize, vScale, this.eps);
    });
  }

  state(): AdamState {
    return {
      step: this.t,
      lr: this.lr,
      m: this.m.map((t) => Float32Array.from(t.data)),
      v: this.v.map((t) => Float32Array.from(t.data)),
    };
  }

  loadState(state: AdamState): void {
    if (state.m.length !== this.m.length) throw new Error("Adam.loadState: parameter count differs from the checkpoint");
    this.t = state.step;
    this.lr = state.lr;
    state.m.forEach((src, i) => this.m[i].data.set(src));
    state.v.forEach((src, i) => this.v[i].data.set(src));
  }
}

/** torch.optim.lr_scheduler.MultiStepLR: lr = base * gamma^(milestones passed), stepped per epoch. */
export class MultiStepLR {
  private epoch = 0;
  constructor(
    private readonly optimizer: { lr: number },
    private readonly baseLr: number,
    readonly milestones: number[] = [60, 100, 150],
    readonly gamma = 0.1,
  ) {
    optimizer.lr = this.lrAt(0);
  }

  lrAt(epoch: number): number {
    const passed = this.milestones.filter((m) => epoch >= m).length;
    return this.baseLr * this.gamma ** passed;
  }

  /** Call once at the end of every epoch. */
  step(): void {
    this.epoch += 1;
    this.optimizer.lr = this.lrAt(this.epoch);
  }

  get lastEpoch(): number {
    return this.epoch;
  }

  set lastEpoch(e: number) {
    this.epoch = e;
    this.optimizer.lr = this.lrAt(e);
  }
}
