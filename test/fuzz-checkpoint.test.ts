// Checkpoint integrity: the SHA-256 recorded at save is verified on resume, so
// a damaged checkpoint is refused in one line instead of resumed into garbage
// (before, flipped bytes resumed and ended in "training diverged, lower --lr").
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, writeFileSync } from "node:fs";
import { checkpointPath, readCheckpoint, writeCheckpoint } from "../src/model/checkpoint.js";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.js";
import { SMALL_CONFIG, checkpointFixture } from "./fuzz-cases.js";
import { expectLipvaeError, tempDir } from "./io-util.js";

const { dir, cleanup } = tempDir("lipvae-checkpoint-");
test.after(cleanup);
const file = checkpointPath(dir);
const { state, tensors } = checkpointFixture();

test("a checkpoint reads back as written", () => {
  writeCheckpoint(file, state, SMALL_CONFIG, tensors);
  const back = readCheckpoint(dir);
  assert.equal(back.state, state);
  assert.equal(back.config, SMALL_CONFIG);
  assert.equal(Array.from(back.tensors["param/decoder.0.weight"].data as Float32Array), Array.from(tensors["param/decoder.0.weight"].data as Float32Array));
});

test("a flipped byte anywhere in the tensor data is refused as damaged, naming the file", () => {
  writeCheckpoint(file, state, SMALL_CONFIG, tensors);
  const valid = readFileSync(file);
  // Every byte of the data section, one at a time (the header is caught by the format checks).
  const dataStart = 8 + Number(new DataView(valid.buffer, valid.byteOffset).getBigUint64(0, true));
  for (let at = dataStart; at < valid.length; at += 7) {
    const bytes = Uint8Array.from(valid);
    bytes[at] ^= 0x40;
    writeFileSync(file, bytes);
    expectLipvaeError(() => readCheckpoint(dir), file, "the checkpoint is damaged", "SHA-256", "--overwrite");
  }
});

test("an edited training state (the hash left as it was) is refused as damaged", () => {
  writeCheckpoint(file, state, SMALL_CONFIG, tensors);
  const { tensors: t, metadata } = decodeSafetensors(readFileSync(file));
  writeFileSync(file, encodeSafetensors(t, { ...metadata, state: JSON.stringify({ ...state, epoch: 2 }) }));
  expectLipvaeError(() => readCheckpoint(dir), file, "damaged", "SHA-256");
});

test("a checkpoint of an older lipvae (no hash) still resumes; an unknown metadata key is refused", () => {
  const old = encodeSafetensors(tensors, { state: JSON.stringify(state), config: JSON.stringify(SMALL_CONFIG) });
  writeFileSync(file, old);
  assert.equal(readCheckpoint(dir).state, state);
  writeFileSync(file, encodeSafetensors(tensors, { state: JSON.stringify(state), config: JSON.stringify(SMALL_CONFIG), sha257: "x" }));
  expectLipvaeError(() => readCheckpoint(dir), file, "damaged", "sha257");
});

test("a hand-made checkpoint with a broken state or a config too large for its tensors is refused by field", () => {
  writeCheckpoint(file, { ...state, settings: null } as unknown as typeof state, SMALL_CONFIG, tensors);
  expectLipvaeError(() => readCheckpoint(dir), file, "'settings'");
  writeCheckpoint(file, state, { ...SMALL_CONFIG, hidden: "4" } as unknown as typeof SMALL_CONFIG, tensors);
  expectLipvaeError(() => readCheckpoint(dir), file, "config: hidden");
  writeCheckpoint(file, state, { ...SMALL_CONFIG, inputDim: 2 ** 40 }, tensors);
  expectLipvaeError(() => readCheckpoint(dir), file, "config describes");
});

test.run();
