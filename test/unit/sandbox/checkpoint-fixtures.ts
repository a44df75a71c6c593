/**
 * Fixtures for the checkpoint tests: generated trees, and the comparisons a
 * round trip must pass, made by tools outside Helios (`diff -r
 * --no-dereference` and `find -printf`, which prints what stat(2) says).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { xorshift32, xorshiftBytes } from "../../../src/core/index.js";

/** n pseudo-random bytes from a seed. */
export function randomBytes(n: number, seed: number): Uint8Array {
  return xorshiftBytes(n, seed);
}

/** Compressible text-like bytes: words from a small vocabulary, seeded. */
export function textBytes(n: number, seed: number): Uint8Array {
  const next = xorshift32(seed);
  const words = ["alpha", "beta", "gamma", "delta", "state", "root", "chunk", "merkle", "node", "tree", "\n", "{", "}"];
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = words[next() % words.length] as string;
    const x = `${w}${next() % 1000} `;
    parts.push(x);
    len += x.length;
  }
  return new TextEncoder().encode(parts.join("")).subarray(0, n);
}

/** Seconds with a microsecond fraction, distinct per name (sub-second mtimes). */
function mtimeFor(i: number): number {
  return 1_600_000_000 + i * 3607 + ((i * 123_457) % 1_000_000) / 1e6;
}

export interface TreeOptions {
  /** Size of the two large files (default 64 MiB); 0 leaves them out. */
  largeBytes?: number;
  /** Include an absolute symlink (restore then needs allowSymlinkEscape). */
  absoluteLink?: boolean;
}

/**
 * The odd tree: symlinks (relative to a file and a dir, dangling, absolute),
 * empty directories, odd modes (0600, 0755, 04755, 0000, a 01777 dir, a 0500
 * dir), sub-second mtimes, a sparse all-zero file and a random file of
 * `largeBytes`, empty files, unicode names, a path longer than a map key.
 */
export function makeOddTree(root: string, opts: TreeOptions = {}): void {
  const large = opts.largeBytes ?? 64 * 1024 * 1024;
  mkdirSync(root, { recursive: true });
  const files: [string, Uint8Array, number][] = [
    ["a/b/hello.txt", new TextEncoder().encode("hello, checkpoint\n"), 0o644],
    ["a/b/secret", textBytes(5000, 1), 0o600],
    ["a/run.sh", new TextEncoder().encode("#!/bin/sh\necho hi\n"), 0o755],
    ["a/setuid-bin", randomBytes(3000, 2), 0o4755],
    ["a/no-access", textBytes(100, 3), 0o000],
    ["empty-file", new Uint8Array(0), 0o644],
    ["ünïcødé/文件-名前.txt", textBytes(20_000, 4), 0o644],
    ["ünïcødé/emoji-🚀✨", textBytes(70_000, 5), 0o640],
    ["text/medium.txt", textBytes(300_000, 6), 0o644],
    ["sticky/inside.txt", textBytes(10, 7), 0o644],
    ["readonly-dir/kept.txt", textBytes(10, 8), 0o444],
  ];
  // a path longer than the 256-byte map key: five 60-byte names
  const long = Array.from({ length: 5 }, (_, i) => `${String(i).repeat(2)}-${"long-name-".repeat(5)}x`).join("/");
  files.push([`${long}/deep-file.txt`, textBytes(1000, 9), 0o644]);
  for (const [rel, data, mode] of files) {
    const p = path.join(root, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, data);
    chmodSync(p, mode);
  }
  if (large > 0) {
    // sparse: all zeros, a hole from end to end
    const fd = openSync(path.join(root, "large-sparse.bin"), "w");
    ftruncateSync(fd, large);
    closeSync(fd);
    const fd2 = openSync(path.join(root, "large-random.bin"), "w");
    for (let off = 0, seed = 10; off < large; off += 8 << 20, seed++) {
      writeSync(fd2, randomBytes(Math.min(8 << 20, large - off), seed));
    }
    closeSync(fd2);
  }
  mkdirSync(path.join(root, "empty-dir"));
  mkdirSync(path.join(root, "a/empty-nested/deeper"), { recursive: true });
  symlinkSync("b/hello.txt", path.join(root, "a/link-to-file"));
  symlinkSync("a/b", path.join(root, "link-to-dir"));
  symlinkSync("no/such/target", path.join(root, "dangling"));
  symlinkSync("../ünïcødé/文件-名前.txt", path.join(root, "a/link-unicode"));
  if (opts.absoluteLink) symlinkSync("/etc/hostname", path.join(root, "absolute-link"));
  chmodSync(path.join(root, "sticky"), 0o1777);
  // mtimes, children before parents (setting a child's changes nothing above, but creating does)
  const all = listing(root).map((e) => e.path);
  all.sort((x, y) => y.length - x.length);
  all.forEach((rel, i) => {
    const p = rel === "" ? root : path.join(root, rel);
    const t = mtimeFor(i);
    lutimesSync(p, t, t);
  });
  chmodSync(path.join(root, "readonly-dir"), 0o500);
}

export interface ListedEntry {
  path: string;
  type: string;
  mode: string;
  size: string;
  /** mtime in whole microseconds (restores keep µs: libuv's utimes limit). */
  mtimeUs: string;
  target: string;
}

/** Every entry under `root` as `find -printf` reports it (stat(2) via findutils), sorted by path. */
export function listing(root: string): ListedEntry[] {
  const r = spawnSync("find", [root, "-printf", "%P\\0%y\\0%m\\0%s\\0%T@\\0%l\\0"], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  const f = r.stdout.split("\0");
  const out: ListedEntry[] = [];
  for (let i = 0; i + 6 <= f.length; i += 6) {
    const [p, type, mode, size, t, target] = f.slice(i, i + 6) as [string, string, string, string, string, string];
    // %T@ is seconds with a 10-digit fraction: keep sec.µµµµµµ (truncated)
    const [sec, frac = ""] = t.split(".");
    out.push({
      path: p,
      type,
      mode,
      size: type === "d" ? "-" : size,
      mtimeUs: `${sec}.${frac.padEnd(6, "0").slice(0, 6)}`,
      target,
    });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Asserts that two trees have the same entries: type, mode, size (not for dirs), mtime (µs) and link target. */
export function assertSameListing(a: string, b: string, opts: { skipRootMtime?: boolean } = {}): void {
  const la = listing(a);
  const lb = listing(b);
  if (opts.skipRootMtime) {
    for (const l of [la, lb]) for (const e of l) if (e.path === "") e.mtimeUs = "-";
  }
  assert.equal(lb.length, la.length, "entry count");
  for (let i = 0; i < la.length; i++) assert.deepEqual(lb[i], la[i]);
}

/** `diff -r --no-dereference a b`: exit status 0 and no output. */
export function assertDiffClean(a: string, b: string): void {
  const r = spawnSync("diff", ["-r", "--no-dereference", a, b], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, `diff -r found differences:\n${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}`);
}

/** Entries directly under `dir` and below, as relative paths (what a "nothing written outside" check compares). */
export function tree(dir: string): string[] {
  return listing(dir).map((e) => `${e.path} ${e.type} ${e.size}`);
}

/** Sets a file's mtime (seconds) without changing its content. */
export function touch(p: string, seconds: number): void {
  utimesSync(p, seconds, seconds);
}
