// A small PNG encoder (8-bit grayscale or RGB, no interlace) on node's zlib:
// enough for reconstruction and sample grids, with no dependency.
import { deflateSync } from "node:zlib";
import { LipvaeError } from "../errors.js";
import { writeFileAtomic } from "./atomic.js";

/** Row-major pixels, channels interleaved (RGBRGB…), one byte per sample. */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG (and zlib, gzip) define it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, false);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)), false);
  return out;
}

export function encodePng(img: RasterImage): Uint8Array {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) {
    throw new LipvaeError(`PNG: invalid size ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new LipvaeError(`PNG: channels must be 1 (gray) or 3 (RGB), got ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) throw new LipvaeError(`PNG: ${width}×${height}×${channels} needs ${stride * height} bytes, got ${data.length}`);

  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width, false);
  view.setUint32(4, height, false);
  ihdr[8] = 8; // bits per sample
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: grayscale or truecolour
  // compression, filter method and interlace stay 0

  // Each scanline is preceded by its filter type; 0 (none) keeps this simple and small images compress fine.
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);

  const parts = [SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes a PNG atomically. */
export function writePng(file: string, img: RasterImage): void {
  writeFileAtomic(file, encodePng(img));
}

/** [0,1] floats to bytes, round(v·255) clamped; NaN becomes 0 (as torchvision's save_image would clamp). */
export function unitToByte(v: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  return Math.floor(v * 255 + 0.5);
}
