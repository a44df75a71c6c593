/**
 * Child processes for the SIGKILL harnesses (test/crash/): the child's side
 * (line reports on stdout, the entry point's error handling) and the
 * parent's (spawn a child, read its report lines, SIGKILL it on a schedule,
 * and kill it if it hangs).
 *
 * A report line is `KIND arg arg …`, written with one write(2) so that it is
 * either wholly in the pipe or not at all; the parent ignores a partial last
 * line (no newline), which was never fully written.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";

// ------------------------------------------------------------ child side

/** Writes one report line to stdout with (retried) write(2) calls, synchronously. */
export function say(line: string): void {
  const buf = Buffer.from(`${line}\n`);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
    }
  }
}

/** Lets the event loop run (timers, lmdb-js callbacks). */
export const tick = () => new Promise<void>((res) => setImmediate(res));

/** True when the module at `url` (its import.meta.url) is the process's main script, not an import. */
export function isMainModule(url: string): boolean {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/** Bad arguments: prints `usage: <synopsis>` on stderr and exits 2. */
export function childUsage(synopsis: string): never {
  process.stderr.write(`usage: ${synopsis}\n`);
  process.exit(2);
}

/**
 * Runs a child's main. Anything thrown ends the process with code 3 (an
 * unhandled rejection with code 4) and the error on stderr, prefixed by
 * `name`: the parent treats an exit it did not cause as a failure.
 */
export function runChildMain(name: string, main: () => Promise<void>): void {
  process.on("unhandledRejection", (e: unknown) => {
    process.stderr.write(`${name}: unhandled rejection: ${(e as { stack?: string }).stack ?? e}\n`);
    process.exit(4);
  });
  main().catch((e: unknown) => {
    const err = e as { code?: string; context?: unknown; stack?: string };
    process.stderr.write(`${name}: ${err.code ?? ""} ${JSON.stringify(err.context ?? {})}\n${err.stack ?? e}\n`);
    process.exit(3);
  });
}

// ------------------------------------------------------------ parent side

/** A report line: its first word and the rest. */
export interface Line {
  kind: string;
  args: string[];
}

/** How a watched child ended. */
export interface ChildRun {
  /** Every complete line it reported. */
  lines: Line[];
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
  /** ms from spawn to the SIGKILL the parent sent (-1: none was sent; the child may still have exited first). */
  killedAt: number;
  /** Killed because it was still running after `hangMs`. */
  hung: boolean;
  /** ms from spawn to the child's exit. */
  ms: number;
}

/** The kill schedule's handle on a running child. */
export interface Killer {
  /** ms since the spawn. */
  elapsed(): number;
  /** SIGKILLs the child `delay` ms from now, unless a kill is already scheduled. */
  killAfter(delay: number): void;
  /** Whether killAfter has scheduled a kill. */
  readonly scheduled: boolean;
}

export interface WatchOptions {
  /** A child not killed on schedule (nor exited) within this long is hung: it is killed. */
  hangMs: number;
  /** Right after the spawn (e.g. to schedule a kill timed from it). */
  onSpawn?: (k: Killer) => void;
  /** After each complete line, once it is in `lines`. */
  onLine?: (line: Line, k: Killer) => void;
}

/** Runs `node <script> <args>`, collects its report lines and stderr, and kills it when `opts` says. */
export function runWatched(script: string, args: readonly string[], opts: WatchOptions): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child: ChildProcess = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Line[] = [];
    let out = "";
    let stderr = "";
    let killedAt = -1;
    let hung = false;
    let timer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (killedAt < 0) {
        killedAt = performance.now() - t0;
        child.kill("SIGKILL");
      }
    };
    const killer: Killer = {
      elapsed: () => performance.now() - t0,
      killAfter: (delay) => {
        if (timer === undefined) timer = setTimeout(kill, delay);
      },
      get scheduled() {
        return timer !== undefined;
      },
    };
    const hang = setTimeout(() => {
      hung = true;
      kill();
    }, opts.hangMs);
    opts.onSpawn?.(killer);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString("latin1");
      let i = out.indexOf("\n");
      while (i >= 0) {
        const [kind = "", ...rest] = out.slice(0, i).split(" ");
        const line = { kind, args: rest };
        lines.push(line);
        out = out.slice(i + 1);
        i = out.indexOf("\n");
        opts.onLine?.(line, killer);
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(hang);
      clearTimeout(timer);
      resolve({ lines, stderr, signal, code, killedAt, hung, ms: performance.now() - t0 });
    });
  });
}
