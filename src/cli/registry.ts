// Every command of the `lipvae` CLI, in the order `lipvae --help` lists them.
// Add a command by importing its module here.
import type { Command } from "./command.js";
import { versionCommand } from "./version.js";
import { dataCommand } from "./data.js";

export const commands: Command[] = [
  versionCommand,
  dataCommand,
];
