// Browser stand-in for node:os: only the byte order is asked for (src/io/safetensors.ts).
export function endianness(): "LE" | "BE" {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? "LE" : "BE";
}
