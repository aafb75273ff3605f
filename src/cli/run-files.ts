// The files lipvae commands write into a model directory, so that
// `lipvae train --overwrite` can clear out the previous run completely: results
// derived from the old model (certificates, exports, evaluations, attacks,
// margins) would otherwise sit beside the new model as if they described it.
// Only names lipvae writes are removed; anything else is left where it is and
// reported, since it may be the user's own.

import { readFileSync, readdirSync, rmdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { LipvaeError } from "../errors.js";
import { ATOMIC_TEMP } from "../io/atomic.js";
import { CHECKPOINT_FILE } from "../model/checkpoint.js";
import { MODEL_FORMAT, MODEL_JSON, MODEL_WEIGHTS } from "../model/store.js";


/** Files in the model directory itself: train, export, certify. */
const TOP_FILES = new Set([MODEL_JSON, MODEL_WEIGHTS, CHECKPOINT_FILE, "export.safetensors", "certificates.json"]);

/** Default output folders of eval, attack and margin, with the names written into each. */
const SUBDIRS: Record<string, RegExp> = {
  eval: /^(eval\.json|reconstructions\.png|prior-samples\.png)$/,
  attack: /^(attack\.json|(latent|max-damage)(-soft|-sphere)?-r[^/]+\.(png|json))$/,
  margin: /^(margins\.json|margin-histogram\.(svg|png))$/,
};

export interface Cleared {
  /** Removed entries, relative to the directory ("eval/" for a whole folder). */
  removed: string[];
  /** Entries lipvae did not write, left in place. */
  kept: string[];
}

const isDir = (p: string) => statSync(p).isDirectory();

/** Removes everything in dir that lipvae wrote; a missing dir has nothing to clear. */
export function clearRunFiles(dir: string): Cleared {
  const removed: string[] = [], kept: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return { removed, kept };
  }
  if (entries.includes(MODEL_JSON)) assertLipvaeModel(path.join(dir, MODEL_JSON));
  for (const name of entries) {
    const full = path.join(dir, name);
    const pattern = SUBDIRS[name];
    if (pattern && isDir(full)) {
      const inner = clearFolder(full, pattern);
      if (inner.kept.length === 0) {
        rmdirSync(full);
        removed.push(`${name}/`);
      } else {
        removed.push(...inner.removed.map((f) => `${name}/${f}`));
        kept.push(...inner.kept.map((f) => `${name}/${f}`));
      }
    } else if ((TOP_FILES.has(name) || ATOMIC_TEMP.test(name)) && !isDir(full)) {
      rmSync(full);
      removed.push(name);
    } else {
      kept.push(isDir(full) ? `${name}/` : name);
    }
  }
  return { removed, kept };
}

/** A model.json of another program is not ours to delete, nor is anything beside it. */
function assertLipvaeModel(file: string): void {
  let format: unknown;
  try {
    format = JSON.parse(readFileSync(file, "utf8")).format;
  } catch {
    format = undefined;
  }
  if (format !== MODEL_FORMAT) {
    throw new LipvaeError(`--overwrite: ${file} is not a lipvae model file, so nothing was removed; clear the folder yourself or choose another --out`);
  }
}

/** Removes the known files of one output folder. */
function clearFolder(folder: string, pattern: RegExp): Cleared {
  const removed: string[] = [], kept: string[] = [];
  for (const name of readdirSync(folder).sort()) {
    const full = path.join(folder, name);
    if ((pattern.test(name) || ATOMIC_TEMP.test(name)) && !isDir(full)) {
      rmSync(full);
      removed.push(name);
    } else {
      kept.push(isDir(full) ? `${name}/` : name);
    }
  }
  return { removed, kept };
}
