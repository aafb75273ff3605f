// Every command of the `lipvae` CLI, in the order `lipvae --help` lists them.
// Modules load only when their command runs, so that `lipvae train` does not
// pay for the plotting libraries and start-up stays fast.
import type { Command } from "./command.js";

export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  { name: "train", summary: "train a Lipschitz-VAE (or the standard VAE) with the paper's settings",
    load: async () => (await import("./train.js")).trainCommand },
  { name: "eval", summary: "test-set log-likelihood and ELBO, reconstruction and prior-sample grids",
    load: async () => (await import("./eval.js")).evalCommand },
  { name: "certify", summary: "certified robustness margins from constants measured on the saved weights",
    load: async () => (await import("./certify.js")).certifyCommand },
  { name: "export", summary: "write a model as plain affine layers (safetensors) for PyTorch and other readers",
    load: async () => (await import("./export.js")).exportCommand },
  { name: "bounds", summary: "certified probabilities and margins: Theorem 1, Lemma 2, Theorem 3 (paper and tight)",
    load: async () => (await import("./bounds.js")).boundsCommand },
  { name: "design", summary: "Lipschitz constants and fixed σ that guarantee a global margin (Theorem 3 turned around)",
    load: async () => (await import("./design.js")).designCommand },
  { name: "plot", summary: "figures as SVG and PNG (plot bounds: the paper's Figure 2)",
    load: async () => (await import("./plot.js")).plotCommand },
  { name: "attack", summary: "latent-space and maximum-damage attacks on test images, drawn as strips (Fig 1, Fig E.9)", load: async () => (await import("./attack.js")).attackCommand },
  { name: "margin", summary: "Algorithm 2's estimated robustness margins on test images, JSON and histogram (Fig 5 left)", load: async () => (await import("./margin.js")).marginCommand },
  { name: "reproduce", summary: "every figure of the paper and a report from one command (resumable, shardable)", load: async () => (await import("./reproduce.js")).reproduceCommand },
  { name: "serve", summary: "a browser page that certifies a digit live (or --build it as static files)", load: async () => (await import("./serve.js")).serveCommand },
  { name: "data", summary: "fetch MNIST / Fashion-MNIST, or show what data is on disk",
    load: async () => (await import("./data.js")).dataCommand },
  { name: "version", summary: "print the lipvae version and the WASM build in use",
    load: async () => (await import("./version.js")).versionCommand },
];
