/** Temp directories for tests, and the repo's dist path for spawned children. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export function tmpDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `helios-${prefix}-`));
}

export function rmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Absolute path of a module under dist/src, for `import()` in child processes. */
export function distSrc(rel: string): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src", rel);
}
