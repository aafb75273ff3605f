// The three scales of `lipvae reproduce`: how long models train and how many
// images each analysis uses. Every scale runs the same code; only these
// numbers differ. "paper" is the paper's protocol (docs/reference-code.md,
// docs/attacks.md), "quick" takes about 11 minutes on two cores, "tiny" (hidden,
// for tests) takes seconds per figure.

import type { BjorckMethod } from "../model/config.js";
import { DEFAULT_MARGIN } from "../attacks/margin.js";
import { DEFAULT_OPTIMISER } from "../attacks/optimise.js";

export const SCALE_NAMES = ["tiny", "quick", "paper"] as const;
export type ScaleName = (typeof SCALE_NAMES)[number];

export interface Scale {
  name: ScaleName;
  /** Hidden layer widths (the paper's 512, 512; tiny shrinks them so tests run in seconds). */
  hidden: number[];
  bjorckMethod: BjorckMethod;
  /** K of the fine-tune phase and of evaluation (the paper's 50). */
  finetuneIters: number;
  /** Training: first N training images (null = all 54,000), epochs per phase (null = to convergence). */
  trainLimit: number | null;
  epochs: number | null;
  /**
   * Training epochs of the standard VAE when `epochs` is set: its steps cost a
   * small fraction of a Lipschitz step (no Björck), and after as few epochs as
   * the Lipschitz models get it decodes almost the same image for every input,
   * which no attack can move: robust for want of training, not by design.
   */
  standardEpochs: number | null;
  finetuneEpochs: number | null;
  validationLimit: number | null;
  /** Test images per model for certificates and Algorithm 2 margins (the paper's 25). */
  images: number;
  /** Algorithm 2's settings that differ from the reference code's. */
  margin: { samples: number; restarts: number; steps: number; maxRadius: number; step: number };
  /** Images attacked for Fig 1, and the optimiser of Fig 1 and Fig E.9. */
  attackImages: number;
  attack: { steps: number; restarts: number };
  /** Test images for the log-likelihood (null = all 10,000) and for the 2-D posterior plots. */
  evalImages: number | null;
  encodeImages: number;
}

const PAPER_MARGIN = {
  samples: DEFAULT_MARGIN.samples, restarts: DEFAULT_MARGIN.restarts, steps: DEFAULT_OPTIMISER.steps,
  maxRadius: DEFAULT_MARGIN.maxRadius, step: DEFAULT_MARGIN.step,
};

export const SCALES: Record<ScaleName, Scale> = {
  paper: {
    name: "paper", hidden: [512, 512], bjorckMethod: "iterate", finetuneIters: 50,
    trainLimit: null, epochs: null, standardEpochs: null, finetuneEpochs: null, validationLimit: null,
    images: 25, margin: PAPER_MARGIN, attackImages: 4, attack: { steps: DEFAULT_OPTIMISER.steps, restarts: DEFAULT_OPTIMISER.restarts },
    evalImages: null, encodeImages: 2000,
  },
  quick: {
    name: "quick", hidden: [512, 512], bjorckMethod: "spectral", finetuneIters: 50,
    trainLimit: 3000, epochs: 2, standardEpochs: 30, finetuneEpochs: 1, validationLimit: 1000,
    images: 10, margin: { samples: 20, restarts: 2, steps: 15, maxRadius: 10, step: 0.5 },
    attackImages: 3, attack: { steps: 30, restarts: 2 },
    evalImages: 2000, encodeImages: 1000,
  },
  tiny: {
    name: "tiny", hidden: [32, 32], bjorckMethod: "spectral", finetuneIters: 10,
    trainLimit: 256, epochs: 1, standardEpochs: 2, finetuneEpochs: 1, validationLimit: 100,
    images: 3, margin: { samples: 4, restarts: 1, steps: 2, maxRadius: 2, step: 0.5 },
    attackImages: 2, attack: { steps: 2, restarts: 1 },
    evalImages: 200, encodeImages: 100,
  },
};

/** The scale `name` with its Björck method replaced (`lipvae reproduce --bjorck-method`). */
export function scaleWith(name: ScaleName, bjorckMethod: BjorckMethod): Scale {
  return { ...SCALES[name], bjorckMethod };
}

/** The flags that select `scale`: its name, and the Björck method where it is not the name's default. */
export function scaleFlags(scale: Scale): string {
  return `--scale ${scale.name}${scale.bjorckMethod === SCALES[scale.name].bjorckMethod ? "" : ` --bjorck-method ${scale.bjorckMethod}`}`;
}

export function isScaleName(name: string): name is ScaleName {
  return (SCALE_NAMES as readonly string[]).includes(name);
}
