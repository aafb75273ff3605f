// The dz = 2 posterior view (the paper's Fig 6): the test samples' means as
// dots coloured by digit, and q(z|x) of the clean and the perturbed input as
// μ with its ±1σ ellipse (axis-aligned: the posterior's covariance is diagonal).

const SVG = "http://www.w3.org/2000/svg";
const SIZE = 300;
/** Ten distinguishable colours, one per digit. */
const DIGIT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface Gaussian2 {
  mu: ArrayLike<number>;
  sigma: ArrayLike<number>;
}

export class LatentPlot {
  /** The square of latent space shown: centre and half-width. */
  private centre = [0, 0];
  private extent = 3;
  private readonly layer: SVGGElement;

  constructor(private readonly svg: SVGSVGElement) {
    this.layer = el("g", {}) as SVGGElement;
  }

  private px(v: number): number {
    return ((v - this.centre[0] + this.extent) / (2 * this.extent)) * SIZE;
  }

  private py(v: number): number {
    return SIZE - ((v - this.centre[1] + this.extent) / (2 * this.extent)) * SIZE;
  }

  /** The background: every sample's μ, in a square that holds them all with a margin. */
  setSamples(mus: Float32Array, labels: number[]): void {
    const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    for (let i = 0; i < mus.length; i++) {
      lo[i % 2] = Math.min(lo[i % 2], mus[i]);
      hi[i % 2] = Math.max(hi[i % 2], mus[i]);
    }
    this.centre = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2];
    this.extent = Math.max(0.5, 0.6 * Math.max(hi[0] - lo[0], hi[1] - lo[1]));
    this.svg.replaceChildren();
    this.svg.setAttribute("viewBox", `0 0 ${SIZE} ${SIZE}`);
    this.svg.append(el("line", { x1: this.px(0), y1: 0, x2: this.px(0), y2: SIZE, class: "axis" }));
    this.svg.append(el("line", { x1: 0, y1: this.py(0), x2: SIZE, y2: this.py(0), class: "axis" }));
    this.svg.append(el("text", { x: SIZE - 4, y: this.py(0) - 4, "text-anchor": "end", class: "label" }, "z₁"));
    this.svg.append(el("text", { x: this.px(0) + 4, y: 12, class: "label" }, "z₂"));
    labels.forEach((label, i) => {
      this.svg.append(el("circle", { cx: this.px(mus[2 * i]), cy: this.py(mus[2 * i + 1]), r: 2.2, fill: DIGIT_COLOURS[label], opacity: 0.6 }));
    });
    this.svg.append(this.layer);
  }

  /** The clean posterior, and the perturbed one when there is a perturbation. */
  show(clean: Gaussian2, perturbed: Gaussian2 | null): void {
    this.layer.replaceChildren();
    const scale = SIZE / (2 * this.extent);
    const draw = (g: Gaussian2, cls: string) => {
      this.layer.append(el("ellipse", { cx: this.px(g.mu[0]), cy: this.py(g.mu[1]), rx: g.sigma[0] * scale, ry: g.sigma[1] * scale, class: `ellipse ${cls}` }));
      this.layer.append(el("circle", { cx: this.px(g.mu[0]), cy: this.py(g.mu[1]), r: 3.5, class: `centre ${cls}` }));
    };
    draw(clean, "clean");
    if (perturbed) draw(perturbed, "perturbed");
  }
}
