// Browser stand-in for src/paths.ts: there is no checkout on disk to point at.
export const projectRoot = "";
