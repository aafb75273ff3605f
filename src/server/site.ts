// The site `lipvae serve` serves and `lipvae serve --build` writes: a fixed
// table from URL path to content, made once at start-up. Requests are looked
// up in the table as they arrive (no decoding, no joining with a folder), so
// nothing outside it can ever be reached: `..`, `%2e%2e`, encoded slashes,
// absolute paths and symlinks are simply not keys.

import { lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../paths.js";
import { LipvaeError } from "../errors.js";
import { MANIFEST } from "../web/card.js";
import { EXPORT_NAME, SAMPLES_NAME, type ServedModel } from "./model-card.js";

export interface SiteFile {
  bytes: Uint8Array;
  type: string;
}

/** URL path ("/index.html") → file. */
export type Site = Map<string, SiteFile>;

/** The bundled page (scripts/build-web.js). */
export const WEB_DIR = path.join(projectRoot, "dist", "web");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".safetensors": "application/octet-stream",
  ".u8": "application/octet-stream",
};

export function mimeType(file: string): string {
  const type = TYPES[path.extname(file)];
  if (!type) throw new LipvaeError(`no MIME type known for ${file}`);
  return type;
}

/** Every regular file under dir (symlinks are skipped: they could point anywhere). */
function pageFiles(dir: string, prefix = "/"): [string, SiteFile][] {
  return readdirSync(dir).flatMap((name): [string, SiteFile][] => {
    const file = path.join(dir, name);
    const stat = lstatSync(file);
    if (stat.isDirectory()) return pageFiles(file, `${prefix}${name}/`);
    if (!stat.isFile()) return [];
    return [[prefix + name, { bytes: readFileSync(file), type: mimeType(name) }]];
  });
}

/** The page plus each model's card, export and sample images. */
export function buildSite(models: ServedModel[], webDir = WEB_DIR): Site {
  let files: [string, SiteFile][];
  try {
    files = pageFiles(webDir);
  } catch {
    throw new LipvaeError(`the web page is not built (${webDir} is missing): run \`npm run build\` first`);
  }
  const site: Site = new Map(files);
  if (!site.has("/index.html")) throw new LipvaeError(`${webDir} has no index.html: run \`npm run build\` again`);
  const json = (value: unknown): SiteFile => ({ bytes: new TextEncoder().encode(JSON.stringify(value)), type: mimeType(MANIFEST) });
  site.set(`/${MANIFEST}`, json({ models: models.map((m) => m.card) }));
  for (const m of models) {
    site.set(`/models/${m.card.id}/${EXPORT_NAME}`, { bytes: m.exportBytes, type: mimeType(EXPORT_NAME) });
    site.set(`/models/${m.card.id}/${SAMPLES_NAME}`, { bytes: m.sampleBytes, type: mimeType(SAMPLES_NAME) });
  }
  return site;
}
