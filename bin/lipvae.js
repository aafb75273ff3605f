#!/usr/bin/env node
// Thin launcher for the compiled command line (npm run build makes dist/).
import { main } from "../dist/src/cli/main.js";
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
