// Output for commands that stream many lines (`bounds --jsonl`): waits for
// 'drain' when the stream's buffer is full, so a slow reader holds the writer
// back instead of the lines piling up in memory, and turns a reader that went
// away (EPIPE, as under `| head -1`) into a quiet stop instead of a stack trace.
import { LipvaeError } from "../errors.js";

export class LineWriter {
  private failure: NodeJS.ErrnoException | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      this.failure ??= err;
      this.wake?.();
    });
  }

  /**
   * Resolves to true once `text` is handed to the stream (after a 'drain' if it
   * was full), to false when the reader has gone away; other write errors throw.
   */
  async write(text: string): Promise<boolean> {
    if (this.failure === null && !this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.stream.once("drain", resolve);
      });
      this.stream.removeListener("drain", this.wake!);
      this.wake = null;
    }
    if (this.failure === null) return true;
    if (this.failure.code === "EPIPE" || this.failure.code === "ERR_STREAM_DESTROYED") return false;
    throw new LipvaeError(`cannot write the output (${this.failure.message})`);
  }
}
