import { readFileSync } from "node:fs";
import { projectRoot } from "./paths.js";
import path from "node:path";

/** The version in package.json, recorded in every saved model. */
export const libraryVersion: string = JSON.parse(
  readFileSync(path.join(projectRoot, "package.json"), "utf8"),
).version;
