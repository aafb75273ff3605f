// Drawing 28×28 images (values in [0, 1]) onto canvases, and the drawing pad.

export const SIDE = 28;

/** Paints a 28×28 image (0 = white, 1 = black, as ink on paper) scaled up without smoothing. */
export function paint(canvas: HTMLCanvasElement, image: ArrayLike<number>, cursor?: { x: number; y: number }): void {
  const small = document.createElement("canvas");
  small.width = small.height = SIDE;
  const sctx = small.getContext("2d")!;
  const data = sctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round(255 * (1 - Math.min(1, Math.max(0, image[i]))));
    data.data.set([v, v, v, 255], i * 4);
  }
  sctx.putImageData(data, 0, 0);
  const ctx = canvas.getContext("2d")!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  if (cursor) {
    const cell = canvas.width / SIDE;
    ctx.strokeStyle = "#d33";
    ctx.lineWidth = 2;
    ctx.strokeRect(cursor.x * cell + 1, cursor.y * cell + 1, cell - 2, cell - 2);
  }
}

/**
 * A canvas the user draws a digit on, with a pointer (mouse, pen, finger) or
 * the keyboard (arrow keys move a cursor, Space or Enter inks, Delete or
 * Backspace erases). `onChange` runs after every stroke step.
 */
export class DrawingPad {
  readonly image = new Float32Array(SIDE * SIDE);
  private cursor: { x: number; y: number } | null = null;
  private drawing = false;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly onChange: () => void) {
    canvas.addEventListener("pointerdown", (e) => {
      this.drawing = true;
      canvas.setPointerCapture(e.pointerId);
      this.ink(e);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (this.drawing) this.ink(e);
    });
    const stop = () => (this.drawing = false);
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("keydown", (e) => this.key(e));
    canvas.addEventListener("focus", () => {
      this.cursor ??= { x: 14, y: 14 };
      this.render();
    });
    canvas.addEventListener("blur", () => this.render());
  }

  set(image: ArrayLike<number>): void {
    this.image.set(image);
    this.render();
  }

  render(): void {
    paint(this.canvas, this.image, document.activeElement === this.canvas ? this.cursor ?? undefined : undefined);
  }

  private ink(e: PointerEvent): void {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * SIDE, y = ((e.clientY - rect.top) / rect.height) * SIDE;
    this.brush(x, y, 1);
  }

  /** A soft round brush about two pixels wide, like MNIST's pen strokes. */
  private brush(x: number, y: number, amount: number): void {
    for (let r = Math.floor(y - 2); r <= Math.ceil(y + 2); r++) {
      for (let c = Math.floor(x - 2); c <= Math.ceil(x + 2); c++) {
        if (r < 0 || c < 0 || r >= SIDE || c >= SIDE) continue;
        const d = Math.hypot(c + 0.5 - x, r + 0.5 - y);
        const v = amount * Math.min(1, Math.max(0, 1.6 - d));
        const i = r * SIDE + c;
        this.image[i] = amount >= 0 ? Math.max(this.image[i], v) : 0;
      }
    }
    this.render();
    this.onChange();
  }

  private key(e: KeyboardEvent): void {
    const cur = (this.cursor ??= { x: 14, y: 14 });
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (moves[e.key]) {
      cur.x = Math.min(SIDE - 1, Math.max(0, cur.x + moves[e.key][0]));
      cur.y = Math.min(SIDE - 1, Math.max(0, cur.y + moves[e.key][1]));
      this.render();
    } else if (e.key === " " || e.key === "Enter") {
      this.brush(cur.x + 0.5, cur.y + 0.5, 1);
    } else if (e.key === "Delete" || e.key === "Backspace") {
      this.image[cur.y * SIDE + cur.x] = 0;
      this.render();
      this.onChange();
    } else {
      return;
    }
    e.preventDefault();
  }
}
