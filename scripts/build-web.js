// Bundles the browser page and library (src/web) with esbuild into dist/web/:
//   index.html, style.css     the page
//   app.js, attack-worker.js  the page's script and its Web Worker
//   lipvae-browser.js         the library (package entry "lipvae/browser")
//   chunk-*.js                code the three share
//   lipvae-browser-*.wasm     the kernels, built with a non-shared memory
// The bundle swaps the Node engine loader (src/engine/engine.ts) for the
// browser one and Node built-ins for the stand-ins in src/web/shims/; any other
// Node built-in that ends up in the bundle throws when used (never at load).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = (...p) => path.join(root, "src", ...p);
const out = path.join(root, "dist", "web");

// Modules replaced in the bundle: the Node engine loader, and the two that read files when loaded.
const replaced = new Map([
  [src("engine", "engine.js"), src("engine", "engine-browser.ts")],
  [src("version.js"), src("web", "shims", "version.ts")],
  [src("paths.js"), src("web", "shims", "paths.ts")],
]);
const shims = { "node:module": src("web", "shims", "node-module.ts"), "node:os": src("web", "shims", "node-os.ts") };

const browserPlugin = {
  name: "lipvae-browser",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const target = replaced.get(path.resolve(args.resolveDir, args.path));
      return target ? { path: target } : undefined;
    });
    b.onResolve({ filter: /^node:/ }, (args) => (shims[args.path] ? { path: shims[args.path] } : { path: args.path, namespace: "node-unavailable" }));
    b.onLoad({ filter: /.*/, namespace: "node-unavailable" }, (args) => ({
      contents: `module.exports = new Proxy({}, { get: (_, name) => () => { throw new Error("${args.path} (" + String(name) + ") is not available in the browser"); } });`,
      loader: "js",
    }));
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { app: src("web", "page", "app.ts"), "attack-worker": src("web", "page", "attack-worker.ts"), "lipvae-browser": src("web", "lib.ts") },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "browser",
  target: ["es2022"],
  // Chunks beside the entries: the library finds the .wasm files next to the module it runs in.
  chunkNames: "[name]-[hash]",
  minify: true,
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
  plugins: [browserPlugin],
  define: { LIPVAE_VERSION: JSON.stringify(JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version) },
});
for (const file of ["index.html", "style.css"]) copyFileSync(src("web", file), path.join(out, file));
for (const flavour of ["simd", "relaxed"]) {
  const name = `lipvae-browser-${flavour}.wasm`;
  copyFileSync(path.join(root, "build", name), path.join(out, name));
}
const unavailable = Object.keys(result.metafile.inputs).filter((f) => f.startsWith("node-unavailable:"));

console.log(`web bundle: ${out}${unavailable.length ? ` (stubbed, unused: ${unavailable.map((f) => f.slice(17)).join(", ")})` : ""}`);
