import path from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the lipvae checkout (compiled code lives in dist/src/). */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
