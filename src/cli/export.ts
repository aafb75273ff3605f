// `lipvae export`: write a model's effective network as plain affine layers.
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "./command.js";
import { loadModel, MODEL_WEIGHTS } from "../model/store.js";
import { exportModel } from "../model/export.js";

const DEFAULT_NAME = "export.safetensors";

const usage = `lipvae export --model DIR [--out FILE.safetensors]

Writes the model's effective network as plain affine layers
(encoder_mean.{i}.weight [out,in] / .bias, the same for encoder_std and
decoder) with Björck applied (the model's own iteration count) and the
per-layer scale M^(1/L) folded in, plus metadata describing the activations,
output sigmoids and sigma mode. Any safetensors reader (e.g. PyTorch with
nn.Linear) can rebuild the model from it: see docs/model-format.md.

Options:
  --model DIR   model directory (model.json + model.safetensors)
  --out FILE    output file (default DIR/${DEFAULT_NAME})`;

export const exportCommand: Command = {
  name: "export",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { model: { type: "string" }, out: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (name the model with --model DIR)`);
    const dir = values.model;
    if (dir === undefined) throw new UsageError(`--model DIR is required\n\n${usage}`);
    const out = values.out ?? path.join(dir, DEFAULT_NAME);
    if (existsSync(out) && statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a directory; give a file name such as ${path.join(out, DEFAULT_NAME)}`);
    if (path.resolve(out) === path.resolve(dir, MODEL_WEIGHTS)) {
      throw new UsageError(`--out ${out} would overwrite the model's own parameters; choose another file name`);
    }
    const model = loadModel(dir);
    const summary = exportModel(model, out);
    const nets = summary.nets.map((n) => `${n.name} (${n.layers} layers, scale ${n.scale.toPrecision(6)})`).join(", ");
    const bjorck = model.meta.config.kind === "lipschitz" ? `Björck K=${summary.bjorckIters} applied` : "standard layers (no Björck)";
    console.log(`exported ${nets}; ${bjorck}, scale folded in`);
    console.log(`wrote ${out} (${(summary.bytes / 1e6).toFixed(2)} MB); the format is described in docs/model-format.md`);
    return 0;
  },
};
