/**
 * node/config — loads a StateConfig from a JSON file (the exec layer does
 * no I/O, so reading the file lives here).
 *
 * Invariants: the file's text goes through exec's parseConfig, so a file
 * and an in-code object are validated identically; a missing or unreadable
 * file is CONFIG_INVALID naming the path.
 * Costs: one file read.
 */
import { readFileSync } from "node:fs";
import { HeliosError } from "../core/index.js";
import { parseConfig, type StateConfig } from "../exec/index.js";

export function loadConfig(path: string): Readonly<StateConfig> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new HeliosError("CONFIG_INVALID", { field: "(file)", path }, `cannot read ${path}: ${(e as Error).message}`);
  }
  return parseConfig(text);
}
