/**
 * bench/lib — shared harness for every benchmark suite.
 *
 * Each suite runs Helios and its peers on the same workload in one process,
 * prints a table with ratios against Helios, and writes
 * `bench/results/<suite>.json` in the shared shape:
 *   {suite, mode, machine, date, results: [{workload, impl, value, unit, better}]}
 * Quick mode (`--quick`, or CI=true) uses small parameters; full mode is the
 * default for `npm run bench`.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export type Better = "higher" | "lower";
export interface Result {
  workload: string;
  impl: string;
  value: number;
  unit: string;
  better: Better;
  note?: string;
}
export type Mode = "quick" | "full";

/** How a suite records one result row. */
export type Add = (workload: string, impl: string, value: number, unit: string, better: Better, note: string) => void;

/** A high-resolution timestamp, for msSince. */
export function now(): bigint {
  return process.hrtime.bigint();
}

export function msSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** A fresh directory under the OS temp dir, for a suite's stores and files. */
export function tempDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `helios-bench-${tag}-`));
}

/** Allocated bytes (st_blocks × 512, what du counts) and apparent bytes of a file, or of the files under a directory. */
export function du(p: string): { allocated: number; apparent: number } {
  const st = lstatSync(p);
  if (!st.isDirectory()) return { allocated: st.blocks * 512, apparent: st.size };
  let allocated = 0;
  let apparent = 0;
  for (const e of readdirSync(p)) {
    const s = du(path.join(p, e));
    allocated += s.allocated;
    apparent += s.apparent;
  }
  return { allocated, apparent };
}

export function benchMode(argv: readonly string[] = process.argv): Mode {
  if (argv.includes("--full")) return "full";
  if (argv.includes("--quick") || process.env.CI === "true") return "quick";
  return "full";
}

export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()}-${os.arch()}`,
  };
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Runs `fn` `reps` times (after `warmup` runs) and returns the median wall time in ms. */
export function timeMs(fn: () => void, reps: number, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return median(t);
}

export async function timeMsAsync(fn: () => Promise<void>, reps: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return median(t);
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}K`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

/**
 * Prints one table per workload: each impl's value and its ratio to Helios,
 * expressed so that ">1×" always means Helios is better.
 */
export function printTable(suite: string, mode: Mode, results: readonly Result[]): void {
  const workloads = [...new Set(results.map((r) => r.workload))];
  console.log(`\n== ${suite} (${mode}) ==`);
  const rows: string[][] = [["workload", "impl", "value", "unit", "helios advantage"]];
  for (const w of workloads) {
    const rs = results.filter((r) => r.workload === w);
    const ours = rs.find((r) => r.impl === "helios");
    for (const r of rs) {
      let ratio = "";
      if (ours && r.impl !== "helios" && r.value > 0 && ours.value > 0) {
        const x = r.better === "higher" ? ours.value / r.value : r.value / ours.value;
        ratio = `${x.toFixed(x >= 10 ? 0 : 2)}×`;
      }
      rows.push([w, r.impl, fmt(r.value), r.unit, ratio]);
    }
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const [i, r] of rows.entries()) {
    console.log(r.map((c, j) => c.padEnd(widths[j] ?? 0)).join("  "));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

export function writeResults(
  suite: string,
  mode: Mode,
  results: readonly Result[],
  extra: Record<string, unknown> = {},
): string {
  const dir = path.resolve(process.cwd(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${suite}.json`);
  const doc = { suite, mode, machine: machineInfo(), date: new Date().toISOString(), ...extra, results };
  writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
  return file;
}

/** Deterministic PRNG (xorshift128+ style, 32-bit) for workloads; seeded, reproducible. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  let s0 = seed >>> 0 || 1;
  let s1 = (seed * 0x9e3779b1) >>> 0 || 2;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let x = s0;
      const y = s1;
      s0 = y;
      x ^= x << 11;
      x ^= x >>> 8;
      s1 = (x ^ y ^ (y >>> 19)) >>> 0;
      out[i] = (s1 + y) & 0xff;
    }
    return out;
  };
}
