// `lipvae serve`: the live certification page over HTTP, or (--build) as
// static files for any web server.

import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { type Command, UsageError } from "./command.js";
import { integer, parseFlags } from "./args.js";
import { checkOutputDir } from "./out-path.js";
import { projectRoot } from "../paths.js";
import { writeFileAtomic } from "../io/atomic.js";
import { prepareModel } from "../server/model-card.js";
import { buildSite, type Site } from "../server/site.js";
import { listen } from "../server/http.js";

/** The models shipped in the repository (trained by the commands in models/README.md). */
export const DEMO_MODELS = [path.join(projectRoot, "models", "demo"), path.join(projectRoot, "models", "demo-2d")];

const usage = `lipvae serve [--model DIR]... [--port 8080] [--host 127.0.0.1]
lipvae serve --build OUT [--model DIR]...

A page that certifies a digit live in the browser: pick a test image or draw
one, see its reconstruction, posterior and certified margins (paper and tight,
constants measured on the weights), perturb it along a random direction or by
the maximum-damage attack, and watch whether ||delta|| stays inside the margin.
With a dz = 2 model the latent posterior is drawn as it moves (Fig 6).
Everything runs in the browser on the WASM engine; nothing is fetched from
anywhere but this server. docs/browser.md has the details.

options
  --model DIR     model directory; repeat for several (default: the shipped
                  models/demo and models/demo-2d)
  --port N        port to listen on (default 8080; 0 picks a free one)
  --host H        address to listen on (default 127.0.0.1, this machine only)
  --build OUT     write the page and the models as static files into OUT
                  instead of serving them (any static web server can host it)
  --samples N     test images shipped with the page (default 100)
  --data-dir DIR  where the dataset's IDX files are (default: shipped MNIST)`;

const OPTIONS = {
  model: { type: "string", multiple: true },
  port: { type: "string", default: "8080" },
  host: { type: "string", default: "127.0.0.1" },
  build: { type: "string" },
  samples: { type: "string", default: "100" },
  "data-dir": { type: "string" },
} as const;

export const serveCommand: Command = {
  name: "serve",
  usage,
  options: OPTIONS,
  async run(argv) {
    const { values } = parseFlags(argv, OPTIONS);
    if (values.build !== undefined && existsSync(values.build) && !statSync(values.build).isDirectory()) {
      throw new UsageError(`--build ${values.build} is a file; give a folder to write the site into`);
    }
    if (values.build !== undefined) checkOutputDir("--build", values.build);
    const port = integer("--port", values.port!, 0);
    if (port > 65535) throw new UsageError(`--port must be at most 65535 (got ${values.port})`);
    const samples = integer("--samples", values.samples!, 1);
    if (values.host!.trim() === "") throw new UsageError("--host must not be empty (use 127.0.0.1 for this machine only)");
    const dirs = values.model ?? DEMO_MODELS;
    const log = (line: string) => console.error(line);
    const models = dirs.map((dir, i) => prepareModel(dir, String(i), { samples, dataDir: values["data-dir"], log }));
    const site = buildSite(models);
    for (const m of models) {
      const { a, b, c } = m.card.constants;
      log(`model ${m.card.id}: ${dirs[Number(m.card.id)]} (dz = ${m.card.config.latentDim}; a = ${a.toFixed(4)}, b = ${b.toFixed(4)}, c = ${c.toFixed(4)} from ${m.constantsSource})`);
    }
    if (values.build !== undefined) {
      writeSite(site, values.build);
      console.log(`wrote ${site.size} files to ${values.build}; serve that folder with any static web server (docs/browser.md)`);
      return 0;
    }
    const { server, url } = await listen(site, values.host!, port);
    console.log(`serving ${url}  (Ctrl-C stops)`);
    // Serves until interrupted, then closes every connection so the process can end.
    return new Promise<number>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
          server.closeAllConnections();
          server.close(() => resolve(0));
        });
      }
    });
  },
};

/** Writes every file of the site under out (atomically, one file at a time). */
export function writeSite(site: Site, out: string): void {
  for (const [urlPath, file] of site) {
    const target = path.join(out, ...urlPath.split("/"));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileAtomic(target, file.bytes);
  }
}
