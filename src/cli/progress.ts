// Progress reporting for long jobs: a redrawn one-line bar on a terminal,
// plain timestamped log lines (at most one every few seconds) otherwise.

export interface ProgressStats {
  /** Text before the bar, e.g. "train epoch 3". */
  label: string;
  done: number;
  total: number;
  /** Extra fields shown after the bar, e.g. {loss: "-812.3"}. */
  fields?: Record<string, string>;
}

export class Progress {
  private readonly tty: boolean;
  private lastLog = 0;
  private startTime = performance.now();
  private startDone = 0;
  private lastLabel = "";
  private lineOpen = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly logEveryMs = 10_000) {
    this.tty = Boolean(stream.isTTY) && process.env.CI !== "true";
  }

  /** Restarts the rate estimate (call when a new phase or epoch begins). */
  reset(): void {
    this.startTime = performance.now();
    this.startDone = 0;
  }

  update(s: ProgressStats): void {
    if (s.label !== this.lastLabel) {
      this.lastLabel = s.label;
      this.startTime = performance.now();
      this.startDone = s.done - 1;
    }
    const fields = Object.entries(s.fields ?? {}).map(([k, v]) => `${k} ${v}`).join("  ");
    const stats = `${s.done}/${s.total}${rateAndEta(performance.now() - this.startTime, s.done - this.startDone, s.total - s.done)}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * s.done) / Math.max(s.total, 1));
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      const line = `${s.label} ${bar} ${stats}  ${fields}`;
      const cols = this.stream.columns ?? 120;
      this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
      this.lineOpen = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastLog >= this.logEveryMs || s.done === s.total) {
      this.lastLog = now;
      this.stream.write(`[${new Date().toISOString().slice(11, 19)}] ${s.label} ${stats}  ${fields}\n`);
    }
  }

  /** Prints a message on its own line (ending the bar's line first). */
  log(message: string): void {
    if (this.lineOpen) {
      this.stream.write("\n");
      this.lineOpen = false;
    }
    this.stream.write(message + "\n");
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.lineOpen) this.stream.write("\n");
    this.lineOpen = false;
  }
}

/** Below this, a rate is timer noise (one fast step once read "364299 it/s"). */
export const MIN_RATE_MS = 1000;

/** "  12.5 it/s  ETA 0:42" once `steps` took at least MIN_RATE_MS; "" before. */
export function rateAndEta(elapsedMs: number, steps: number, remaining: number): string {
  if (elapsedMs < MIN_RATE_MS || steps <= 0) return "";
  const rate = steps / (elapsedMs / 1000);
  return `  ${rate.toFixed(rate < 10 ? 2 : 0)} it/s  ETA ${formatDuration(remaining / rate)}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}:${String(sec).padStart(2, "0")}`;
}
