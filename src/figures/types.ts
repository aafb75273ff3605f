// The plain-data contract shared by every figure renderer.

/** Where a renderer wrote its figure: the SVG and the PNG rasterised from it. */
export interface Written {
  svg: string;
  png: string;
}

/** The words at the top of a figure. */
export interface FigureText {
  title: string;
  subtitle?: string;
}
