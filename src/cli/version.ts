import type { Command } from "./command.js";
import { libraryVersion } from "../version.js";
import { loadEngine } from "../engine/engine.js";

export const versionCommand: Command = {
  name: "version",
  usage: "lipvae version\n\nPrints the library version and which WASM kernel build was selected.",
  async run() {
    const engine = await loadEngine();
    console.log(`lipvae ${libraryVersion} (wasm build: ${engine.build})`);
    return 0;
  },
};
