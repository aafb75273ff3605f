// IDX files (the MNIST / Fashion-MNIST format): a big-endian header
// `00 00 <type> <ndim>` then ndim u32 sizes, then the raw payload. We read only
// unsigned-byte images (magic 2051: n × rows × cols) and labels (magic 2049: n),
// gzipped or plain, and check every field so that a bad file fails here with
// its path, rather than as garbage pixels later.
import { readFileSync } from "node:fs";
import { constants as zlibConstants, gunzipSync } from "node:zlib";
import { LipvaeError } from "../errors.js";

export const IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, 3 dimensions
export const LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, 1 dimension

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count × rows × cols bytes, row-major. */
  pixels: Uint8Array;
}

export interface IdxLabels {
  count: number;
  labels: Uint8Array;
}

export interface ImageExpectations {
  count?: number;
  rows?: number;
  cols?: number;
}

export interface LabelExpectations {
  count?: number;
  /** Labels must lie in 0..classes-1 (default 10). */
  classes?: number;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Deflate expands at most 1032:1, so a gzip file of n bytes holds at most this many (plus slack for its header). */
export function gzipCapacity(compressedBytes: number): number {
  return 1032 * compressedBytes + 1024;
}

/**
 * Decompresses gzip data; plain data is returned as is. The output may not
 * exceed maxOutput bytes (default: what deflate can justify for this input),
 * so a corrupt or hostile file cannot make us allocate without bound.
 */
export function gunzipIfNeeded(bytes: Uint8Array, source: string, maxOutput = gzipCapacity(bytes.length)): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.max(1, Math.min(maxOutput, 2 ** 31 - 1)) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new LipvaeError(`${source}: the gzip data decompresses to more than ${maxOutput} bytes, more than the file can hold: the file is corrupt`);
    }
    const why = err instanceof Error ? err.message : String(err);
    throw new LipvaeError(`${source}: cannot decompress the gzip data (${why}): the file is corrupt or truncated; download it again`);
  }
}

/**
 * The first bytes of gzip data, decompressed (enough for an IDX header), or
 * null when they cannot be had; the full decompression then reports why.
 */
function gunzipPrefix(bytes: Uint8Array): Uint8Array | null {
  try {
    return gunzipSync(bytes.subarray(0, 1024), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
}

/**
 * Plain IDX bytes from gzipped or plain data. For gzip the header is read
 * first and the decompression may produce only what it promises (plus one
 * byte, to notice extra data): no allocation beyond what the header declares
 * and the compressed size can justify.
 */
function idxBytes(data: Uint8Array, source: string, expectedMagic: number, headerBytes: number, payloadOf: (view: DataView) => number): Uint8Array {
  if (!isGzip(data)) return data;
  const prefix = gunzipPrefix(data);
  if (prefix === null || prefix.length < headerBytes) return gunzipIfNeeded(data, source);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  checkMagic(view, expectedMagic, source);
  const total = headerBytes + payloadOf(view);
  if (total > gzipCapacity(data.length)) {
    throw new LipvaeError(`${source}: the header promises ${total} bytes, more than a ${data.length}-byte gzip file can hold: the file is truncated or corrupt`);
  }
  return gunzipIfNeeded(data, source, total + 1);
}

/** Reads a whole file, with a one-line error naming it when it is missing or unreadable. */
export function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new LipvaeError(`${file}: no such file`);
    throw new LipvaeError(`${file}: cannot read (${err instanceof Error ? err.message : String(err)})`);
  }
}

const hex = (n: number) => "0x" + n.toString(16).padStart(8, "0");

function describeMagic(magic: number): string {
  if (magic === IMAGES_MAGIC) return "an IDX image file";
  if (magic === LABELS_MAGIC) return "an IDX label file";
  if (magic >>> 16 === 0) return `an IDX file of type 0x${((magic >>> 8) & 0xff).toString(16)} with ${magic & 0xff} dimensions`;
  return "not an IDX file";
}

function checkMagic(view: DataView, expected: number, source: string): void {
  const magic = view.getUint32(0, false);
  if (magic === expected) return;
  const want = expected === IMAGES_MAGIC ? "IDX images" : "IDX labels";
  const swapped = magic === IMAGES_MAGIC || magic === LABELS_MAGIC ? "; are the image and label files swapped?" : "";
  throw new LipvaeError(
    `${source}: bad magic number: expected ${expected} (${hex(expected)}, ${want}), found ${magic} (${hex(magic)}, ${describeMagic(magic)})${swapped}`,
  );
}

function checkHeaderLength(bytes: Uint8Array, headerBytes: number, source: string): void {
  if (bytes.length < headerBytes) {
    throw new LipvaeError(`${source}: file is ${bytes.length} bytes, too short for the ${headerBytes}-byte IDX header (truncated or not an IDX file)`);
  }
}

function checkPayload(bytes: Uint8Array, headerBytes: number, expected: number, what: string, source: string): void {
  const found = bytes.length - headerBytes;
  if (found === expected) return;
  const hint = found < expected ? "the file is truncated" : `${found - expected} extra bytes at the end`;
  throw new LipvaeError(
    `${source}: payload length: the header promises ${what} = ${expected} bytes after the ${headerBytes}-byte header, found ${found} (${hint})`,
  );
}

function checkCount(found: number, expected: number | undefined, noun: string, source: string): void {
  if (expected !== undefined && found !== expected) {
    throw new LipvaeError(`${source}: wrong number of ${noun}: expected ${expected}, the header says ${found}`);
  }
}

/** Parses an IDX image file (gzipped or plain bytes). */
export function parseIdxImages(data: Uint8Array, source: string, expect: ImageExpectations = {}): IdxImages {
  const bytes = idxBytes(data, source, IMAGES_MAGIC, 16, (v) => v.getUint32(4, false) * v.getUint32(8, false) * v.getUint32(12, false));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 4) checkMagic(view, IMAGES_MAGIC, source); // a wrong magic explains a short file best
  checkHeaderLength(bytes, 16, source);
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if ((expect.rows !== undefined && rows !== expect.rows) || (expect.cols !== undefined && cols !== expect.cols)) {
    throw new LipvaeError(`${source}: wrong image dimensions: expected ${expect.rows ?? rows}×${expect.cols ?? cols}, the header says ${rows}×${cols}`);
  }
  checkCount(count, expect.count, "images", source);
  const size = count * rows * cols;
  checkPayload(bytes, 16, size, `${count} images of ${rows}×${cols}`, source);
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

/** Parses an IDX label file (gzipped or plain bytes); labels must be < classes. */
export function parseIdxLabels(data: Uint8Array, source: string, expect: LabelExpectations = {}): IdxLabels {
  const bytes = idxBytes(data, source, LABELS_MAGIC, 8, (v) => v.getUint32(4, false));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 4) checkMagic(view, LABELS_MAGIC, source); // a wrong magic explains a short file best
  checkHeaderLength(bytes, 8, source);
  const count = view.getUint32(4, false);
  checkCount(count, expect.count, "labels", source);
  checkPayload(bytes, 8, count, `${count} labels of 1 byte`, source);
  const labels = bytes.subarray(8);
  const classes = expect.classes ?? 10;
  for (let i = 0; i < count; i++) {
    if (labels[i]! >= classes) {
      throw new LipvaeError(`${source}: label ${labels[i]} at index ${i} is out of range: labels must lie in 0..${classes - 1}`);
    }
  }
  return { count, labels };
}

export function readIdxImages(file: string, expect?: ImageExpectations): IdxImages {
  return parseIdxImages(readBytes(file), file, expect);
}

export function readIdxLabels(file: string, expect?: LabelExpectations): IdxLabels {
  return parseIdxLabels(readBytes(file), file, expect);
}

/** Plain (uncompressed) IDX image bytes; used to make test files. */
export function encodeIdxImages(images: IdxImages): Uint8Array {
  const out = new Uint8Array(16 + images.pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, IMAGES_MAGIC, false);
  view.setUint32(4, images.count, false);
  view.setUint32(8, images.rows, false);
  view.setUint32(12, images.cols, false);
  out.set(images.pixels, 16);
  return out;
}

/** Plain (uncompressed) IDX label bytes; used to make test files. */
export function encodeIdxLabels(labels: IdxLabels): Uint8Array {
  const out = new Uint8Array(8 + labels.labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, LABELS_MAGIC, false);
  view.setUint32(4, labels.count, false);
  out.set(labels.labels, 8);
  return out;
}
