import type { Command } from "./command.js";
import { parseFlags } from "./args.js";
import { libraryVersion } from "../version.js";
import { loadEngine } from "../engine/engine.js";

export const versionCommand: Command = {
  name: "version",
  usage: "lipvae version    (or lipvae --version)\n\nPrints the library version and which WASM kernel build was selected.",
  options: {},
  async run(argv) {
    parseFlags(argv, {});
    const engine = await loadEngine();
    console.log(`lipvae ${libraryVersion} (wasm build: ${engine.build})`);
    return 0;
  },
};
