// Lines of a byte stream, numbered from 1, for line-oriented batch input
// (`lipvae bounds --jsonl`). Unlike node:readline it never holds more than one
// line of at most maxBytes: a longer line is dropped up to its newline and
// reported as too long, so a giant or endless line cannot exhaust memory, and
// every input line (blank, too long or not UTF-8 included) yields exactly one
// item, so answer N can be matched to input line N.

export type InputLine =
  | { number: number; text: string }
  /** A line that cannot be used as text; problem says why. */
  | { number: number; problem: string };

const NEWLINE = 0x0a;

/** Numbered lines of `input` (a trailing "\r" is dropped, for CRLF files); a final newline does not start another line. */
export async function* readLines(input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, maxBytes: number): AsyncGenerator<InputLine> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let parts: Uint8Array[] = [];
  let length = 0;
  let tooLong = false;
  let number = 0;
  const finish = (): InputLine => {
    number++;
    const whole = tooLong ? null : Buffer.concat(parts, length);
    const dropped = length;
    parts = [];
    length = 0;
    tooLong = false;
    if (whole === null) return { number, problem: `line longer than ${maxBytes} bytes (${dropped} or more)` };
    const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
    try {
      return { number, text: decoder.decode(whole.subarray(0, end)) };
    } catch {
      return { number, problem: "line is not valid UTF-8" };
    }
  };
  const take = (piece: Uint8Array): void => {
    length += piece.length;
    if (tooLong) return;
    if (length > maxBytes) {
      tooLong = true;
      parts = []; // keep counting, stop keeping
    } else if (piece.length > 0) {
      parts.push(Uint8Array.from(piece)); // a copy: the stream may reuse its chunk
    }
  };
  for await (const chunk of input) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    let start = 0;
    for (let nl = bytes.indexOf(NEWLINE, start); nl >= 0; nl = bytes.indexOf(NEWLINE, start)) {
      take(bytes.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    take(bytes.subarray(start));
  }
  if (length > 0 || tooLong) yield finish();
}
