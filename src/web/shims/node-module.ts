// Browser stand-in for node:module. src/bounds/gamma.ts loads three internal
// files of @stdlib/math-base-special-gammainc with createRequire; here they are
// imported statically so the bundler includes them, and `require` hands them out.
// @ts-expect-error no type declarations for the package's internal files
import temmeLarge from "@stdlib/math-base-special-gammainc/lib/igamma_temme_large.js";
// @ts-expect-error as above
import regularisedPrefix from "@stdlib/math-base-special-gammainc/lib/regularised_gamma_prefix.js";
// @ts-expect-error as above
import upperFraction from "@stdlib/math-base-special-gammainc/lib/upper_gamma_fraction.js";

const files: Record<string, unknown> = {
  "@stdlib/math-base-special-gammainc/lib/igamma_temme_large.js": temmeLarge,
  "@stdlib/math-base-special-gammainc/lib/regularised_gamma_prefix.js": regularisedPrefix,
  "@stdlib/math-base-special-gammainc/lib/upper_gamma_fraction.js": upperFraction,
};

export function createRequire(_from: string | URL): (id: string) => unknown {
  return (id) => {
    if (!(id in files)) throw new Error(`require('${id}') is not available in the browser bundle (src/web/shims/node-module.ts)`);
    return files[id];
  };
}
