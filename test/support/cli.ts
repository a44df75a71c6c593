/**
 * The `helios` CLI run as a real process, for the end-to-end tests
 * (test/e2e/), and the checks they share of what a command printed.
 * Progress lines are off in every run unless its `env` turns them on, so
 * stderr holds only what a command reports.
 */
import assert from "node:assert/strict";
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openState, type StateDB } from "../../src/history/index.js";

/** The CLI's entry point (dist/src/cli/main.js). */
export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** How a process ended and what it printed. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment with `env` over it; HELIOS_PROGRESS only if `env` sets it. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!("HELIOS_PROGRESS" in env)) delete e.HELIOS_PROGRESS;
  return e;
}

/** Runs node with `argv` and waits for it. */
export function runNodeSync(argv: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, argv, { encoding: "utf8", env: cliEnv(env) });
}

/** Runs node with `argv`, asynchronously so that independent runs overlap. */
export function runNode(argv: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Success: exit 0; returns stdout. */
export function expectOk(r: CliRun): string {
  assert.equal(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** A coded error: exit 1, exactly one stderr line `error CODE: …`, no stack; returns that line. */
export function expectCoded(r: CliRun, code: string): string {
  assert.equal(r.status, 1, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, new RegExp(`^error ${code}: \\S`));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  return lines[0] as string;
}

/** Opens the store in `dir` through the API, runs `fn` and closes the store. */
export async function withDb<T>(dir: string, fn: (db: StateDB) => T): Promise<T> {
  const db = openState(dir);
  try {
    return fn(db);
  } finally {
    await db.close();
  }
}
