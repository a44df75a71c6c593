/**
 * cli/snapshot — `helios snapshot …`: create, list, inspect, export, import,
 * verify, delete and prune snapshots from the command line. A thin shell over
 * the snapshot layer: every rule (what a chunk must prove, when an import may
 * be adopted, what to do when a chunk fails) is the library's, reported by its
 * codes and its chunk replies.
 *
 * Output: results on stdout (human text, or JSON with --json where offered);
 * progress lines and errors on stderr. Exit codes: 0 ok; 1 a coded
 * HeliosError, printed as one line `error CODE: message {context}` (an import
 * adds what to do next; verify prints one such line per failed chunk); 2 bad
 * usage, one line `error INVALID_ARGUMENT: …`; 70 a bug (printed with its stack).
 *
 * Invariants: every argument is checked before a store is opened or a file
 * written, so bad usage changes nothing; a store is opened at most once per
 * command and always closed (close checkpoints, which also makes `create
 * --no-sync` durable); an export that fails removes what it wrote; an import
 * that fails keeps its applied chunks for a resume unless the snapshot itself
 * is to be rejected, in which case the partial import is dropped.
 *
 * Import runs the library's `importSnapshot`: its `onBegin` says "resuming at
 * chunk N" before the first chunk, and its error's `reply` gives the advice
 * (`importSnapshot` itself drops a rejected snapshot's partial import).
 */
import { randomInt } from "node:crypto";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { bytesToHex, hexToBytes, isHeliosError } from "../core/index.js";
import {
  type ChunkReply,
  type Codec,
  createSnapshot,
  deleteSnapshot,
  type ExportOptions,
  exportSnapshot,
  type ImportReport,
  importSnapshot,
  listSnapshots,
  type Manifest,
  manifestJson,
  manifestTotals,
  abandonImport,
  pendingImports,
  pruneSnapshots,
  restoreSnapshot,
  readManifest,
  replyFor,
  type SnapshotImport,
  snapshotInfo,
  verifySnapshotDir,
} from "../snapshot/index.js";
import { argHelpers, binaryUnits, fmt, out, type Parsed, startGroup, withStore } from "./args.js";
import { Progress } from "./progress.js";
import { reportError } from "./store.js";

// ------------------------------------------------------------ commands and usage

interface Command {
  synopsis: string;
  help: string;
  run: (args: string[]) => Promise<number | undefined>;
}

const COMMANDS: Record<string, Command> = {};

function command(name: string, synopsis: string, help: string, run: Command["run"]): void {
  COMMANDS[name] = { synopsis: `${name} ${synopsis}`.trimEnd(), help, run };
}

function usageText(): string {
  // a synopsis too long for the column gets its own line, with its description below it
  const w = 40;
  const rows = [...Object.values(COMMANDS), { synopsis: "help", help: "this message" }].map(({ synopsis, help }) =>
    synopsis.length <= w ? `  ${synopsis.padEnd(w)}  ${help}` : `  ${synopsis}\n  ${"".padEnd(w)}  ${help}`,
  );
  return `usage: helios snapshot <command> [args]

${rows.join("\n")}

A snapshot is a version a store keeps by height (a ref, snapshot/<height>); export
writes it as a directory of verifiable chunks that import and verify check one by one.
Progress is drawn on stderr when it is a terminal (HELIOS_PROGRESS=1 forces it, 0 turns it off).
Exit codes: 0 ok, 1 a coded error (error CODE: message) or a chunk that failed verify,
2 bad usage (error INVALID_ARGUMENT: …), 70 an internal error.`;
}

/** Bad usage: one line `error INVALID_ARGUMENT: …` on stderr, exit code 2. */
class ArgError extends Error {
  override name = "ArgError";
  constructor(
    message: string,
    readonly context: Record<string, string | number> = {},
  ) {
    super(message);
  }
}

const chunks = (n: number) => `${fmt(n)} chunk${n === 1 ? "" : "s"}`;

/** "512 bytes", "329,861 bytes (322.1 KiB)". */
function fmtBytes(n: number): string {
  const b = binaryUnits(n);
  return b === undefined ? `${fmt(n)} bytes` : `${fmt(n)} bytes (${b})`;
}

function fmtPercent(p: number): string {
  if (p >= 1) return "100%";
  if (p <= 0) return "0%";
  return `${(p * 100).toFixed(p > 0.99 ? 2 : 1)}%`;
}

/** "0.972 (2.8% smaller)": file bytes over raw bytes. */
function fmtRatio(ratio: number): string {
  const d = (1 - ratio) * 100;
  return `${ratio.toFixed(3)} (file / raw; ${Math.abs(d).toFixed(1)}% ${d >= 0 ? "smaller" : "larger"})`;
}

function fmtSpeed(bytes: number, ms: number): string {
  const s = ms / 1000;
  return `${s.toFixed(2)} s, ${s > 0 ? (bytes / 1e6 / s).toFixed(1) : "–"} MB/s of raw bytes`;
}

/** "1, 4, 7" or "0–5", or a count when the list is long. */
function fmtIndices(xs: readonly number[]): string {
  if (xs.length === 0) return "none";
  const first = xs[0] as number;
  const last = xs[xs.length - 1] as number;
  if (xs.length > 1 && last - first + 1 === xs.length) return `${first}–${last}`;
  if (xs.length <= 20) return xs.join(", ");
  return `${xs.slice(0, 20).join(", ")}, … (${fmt(xs.length)} in all)`;
}

/** "the full snapshot at height 12", or the incremental one with its base. */
function describe(m: Manifest): string {
  return m.kind === "full"
    ? `the full snapshot at height ${fmt(m.height)}`
    : `the incremental snapshot at height ${fmt(m.height)} (from base height ${fmt(m.baseHeight)})`;
}

function rows(list: readonly (readonly [string, string])[], indent = "  "): void {
  const w = Math.max(...list.map((r) => r[0].length));
  for (const [k, v] of list) out(`${indent}${k.padEnd(w)}  ${v}`);
}

// ------------------------------------------------------------ arguments

const { parseArgs, expectArgs, heightArg } = argHelpers((message, context) => new ArgError(message, context));

function value(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

function intArg(what: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ArgError(`${what} must be an integer from ${fmt(min)} to ${fmt(max)}, not ${JSON.stringify(s)}`, {
      [what.replace(/^--/, "")]: s,
    });
  }
  return n;
}

function rootArg(s: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) {
    throw new ArgError(`--root must be 64 hex digits (a forest root), not ${JSON.stringify(s)}`, { root: s });
  }
  return hexToBytes(s.toLowerCase());
}

const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 64 * 1024 * 1024;

/** 65536, 64k, 64KiB, 4m, 4MiB. */
function chunkBytesArg(s: string): number {
  const m = /^(\d+)(k|kib|m|mib)?$/i.exec(s);
  const mult = m?.[2] === undefined ? 1 : m[2].toLowerCase().startsWith("k") ? 1024 : 1024 * 1024;
  const n = m === null ? Number.NaN : Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n < MIN_CHUNK || n > MAX_CHUNK) {
    throw new ArgError(`--chunk-bytes must be from 64KiB to 64MiB (bytes, or with k/m), not ${JSON.stringify(s)}`, {
      chunkBytes: s,
    });
  }
  return n;
}

function codecArg(s: string): Codec {
  if (s !== "zstd" && s !== "lz4" && s !== "none") {
    throw new ArgError(`--codec must be zstd, lz4 or none, not ${JSON.stringify(s)}`, { codec: s });
  }
  return s;
}

function rateArg(s: string): number {
  const r = Number(s);
  if (!/^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(s) || !(r > 0 && r <= 1)) {
    throw new ArgError(`--rate must be a share of chunks above 0 and at most 1 (0.01 = 1%), not ${JSON.stringify(s)}`, {
      rate: s,
    });
  }
  return r;
}

// ------------------------------------------------------------ create, list, info, delete, prune

command(
  "create",
  "<store> [height] [--no-sync]",
  "snapshot a retained height (default: the head); O(1), nothing is copied",
  async (args) => {
    const p = parseArgs(args, { "no-sync": "bool" });
    expectArgs(p, ["<store>", "[height]"], 1);
    const h = p.pos[1] === undefined ? undefined : heightArg(p.pos[1]);
    await withStore(p.pos[0] as string, (db) => {
      const height = h ?? db.height;
      const existed = listSnapshots(db).some((s) => s.height === height);
      const s = createSnapshot(db, height, { sync: !p.flags.has("no-sync") });
      out(`snapshot at height ${fmt(s.height)} ${existed ? "already there (unchanged)" : "created"}`);
      rows([
        ["height", String(s.height)],
        ["root", bytesToHex(s.root)],
      ]);
    });
    return 0;
  },
);

command("list", "<store> [--json]", "the store's snapshots, oldest first: height and root", async (args) => {
  const p = parseArgs(args, { json: "bool" });
  expectArgs(p, ["<store>"]);
  await withStore(p.pos[0] as string, (db) => {
    const all = listSnapshots(db);
    if (p.flags.has("json")) {
      out(JSON.stringify(all.map((s) => ({ height: s.height, root: bytesToHex(s.root) }))));
      return;
    }
    if (all.length === 0) out("no snapshots");
    const w = Math.max(6, ...all.map((s) => String(s.height).length));
    for (const s of all) out(`${String(s.height).padStart(w)}  ${bytesToHex(s.root)}`);
  });
  return 0;
});

command(
  "info",
  "<store> <height> | --dir <snapshotDir> [--chunks] [--json]",
  "a snapshot in a store (height, root, trees), or an exported directory's manifest",
  async (args) => {
    const p = parseArgs(args, { json: "bool", dir: "value", chunks: "bool" });
    const json = p.flags.has("json");
    const dir = value(p, "dir");
    if (dir === undefined) {
      if (p.flags.has("chunks")) throw new ArgError("--chunks lists a directory's chunks: use it with --dir");
      expectArgs(p, ["<store>", "<height>"]);
      const height = heightArg(p.pos[1] as string);
      await withStore(p.pos[0] as string, (db) => {
        const s = snapshotInfo(db, height);
        if (json) {
          out(JSON.stringify({ height: s.height, root: bytesToHex(s.root), trees: s.trees }, null, 2));
          return;
        }
        out(`snapshot at height ${fmt(s.height)}`);
        rows([
          ["height", String(s.height)],
          ["root", bytesToHex(s.root)],
          ["trees", s.trees.length === 0 ? "none (the empty state)" : `${s.trees.join(", ")} (${s.trees.length})`],
        ]);
      });
      return 0;
    }
    if (p.pos.length > 0) {
      throw new ArgError(`--dir takes no <store> <height>: unexpected argument ${p.pos[0]}`, {
        argument: p.pos[0] as string,
      });
    }
    const { manifest: m } = readManifest(dir);
    const j = manifestJson(m);
    if (json) {
      const { chunkList, ...summary } = j;
      out(
        JSON.stringify(
          { dir: path.resolve(dir), ...summary, ...(p.flags.has("chunks") ? { chunkList } : {}) },
          null,
          2,
        ),
      );
      return 0;
    }
    const t = manifestTotals(m);
    out(`snapshot directory ${path.resolve(dir)}`);
    rows([
      ["format", String(j.format)],
      ["kind", m.kind],
      ["height", String(m.height)],
      ["root", bytesToHex(m.root)],
      ["base", m.kind === "full" ? "none" : `height ${m.baseHeight}, root ${bytesToHex(m.baseRoot)}`],
      ["codec", m.codec],
      ["chunk", `at most ${fmtBytes(m.chunkBytes)} raw`],
      ["chunks", fmt(m.chunks.length)],
      ["entries", fmt(t.entries)],
      ["raw", fmtBytes(t.rawBytes)],
      ["file", fmtBytes(t.fileBytes)],
      ["ratio", fmtRatio(t.rawBytes === 0 ? 1 : t.fileBytes / t.rawBytes)],
    ]);
    if (p.flags.has("chunks")) {
      out("chunks");
      const iw = Math.max(5, String(m.chunks.length - 1).length);
      out(`  ${"index".padStart(iw)}  ${"entries".padStart(9)}  ${"raw".padStart(11)}  ${"file".padStart(11)}  hash`);
      m.chunks.forEach((c, i) => {
        out(
          `  ${String(i).padStart(iw)}  ${fmt(c.entries).padStart(9)}  ${fmt(c.rawBytes).padStart(11)}  ${fmt(c.fileBytes).padStart(11)}  ${bytesToHex(c.hash)}`,
        );
      });
    }
    return 0;
  },
);

command(
  "delete",
  "<store> <height>",
  "delete a snapshot (helios store gc then reclaims what only it kept)",
  async (args) => {
    const p = parseArgs(args, {});
    expectArgs(p, ["<store>", "<height>"]);
    const height = heightArg(p.pos[1] as string);
    await withStore(p.pos[0] as string, (db) => {
      const was = listSnapshots(db).find((s) => s.height === height);
      deleteSnapshot(db, height);
      out(`deleted snapshot at height ${fmt(height)}${was ? ` (was ${bytesToHex(was.root)})` : ""}`);
    });
    return 0;
  },
);

command(
  "restore",
  "<store> <height>",
  "make a snapshot the head again: a rollback while the height is retained, else its version becomes the only height",
  async (args) => {
    const p = parseArgs(args, {});
    expectArgs(p, ["<store>", "<height>"]);
    const height = heightArg(p.pos[1] as string);
    await withStore(p.pos[0] as string, (db) => {
      const s = restoreSnapshot(db, height);
      out(`restored the snapshot at height ${fmt(height)}: it is the head`);
      out(`  root     ${bytesToHex(s.root)}`);
      out(
        `  heights  ${db
          .heights()
          .map((h) => fmt(h))
          .join(", ")}`,
      );
    });
    return 0;
  },
);

command(
  "imports",
  "<store> [--abort ID | --abort-all]",
  "list unfinished imports (each keeps its partial state from GC until resumed), or abandon them",
  async (args) => {
    const p = parseArgs(args, { abort: "value", "abort-all": "bool" });
    expectArgs(p, ["<store>"]);
    const one = value(p, "abort");
    await withStore(p.pos[0] as string, (db) => {
      const all = pendingImports(db);
      if (one !== undefined || p.flags.has("abort-all")) {
        const ids = one !== undefined ? [one] : all.map((i) => i.id);
        for (const id of ids) abandonImport(db, id);
        out(ids.length === 0 ? "no unfinished imports" : `abandoned ${fmt(ids.length)}: ${ids.join(", ")}`);
        return;
      }
      if (all.length === 0) out("no unfinished imports");
      for (const i of all) {
        out(
          `${i.id}  next chunk ${i.next === undefined ? "unknown (re-applies from 0)" : fmt(i.next)}  partial root ${bytesToHex(i.root)}`,
        );
      }
    });
    return 0;
  },
);

command("prune", "<store> --keep N", "delete all but the newest N snapshots", async (args) => {
  const p = parseArgs(args, { keep: "value" });
  expectArgs(p, ["<store>"]);
  const k = value(p, "keep");
  if (k === undefined) throw new ArgError("missing --keep N (how many of the newest snapshots to keep)");
  const keep = intArg("--keep", k, 0, 1_000_000_000);
  await withStore(p.pos[0] as string, (db) => {
    const dropped = pruneSnapshots(db, keep);
    const kept = listSnapshots(db).map((s) => s.height);
    out(
      dropped.length === 0
        ? "pruned nothing"
        : `pruned ${fmt(dropped.length)} snapshot${dropped.length === 1 ? "" : "s"}: height ${fmtIndices(dropped)}`,
    );
    out(`kept ${fmt(kept.length)}: ${kept.length === 0 ? "none" : `height ${fmtIndices(kept)}`}`);
  });
  return 0;
});

// ------------------------------------------------------------ export

command(
  "export",
  "<store> <height> <outDir> [--base H] [--codec zstd|lz4|none] [--chunk-bytes N]",
  "write a snapshot (or a retained height) as verifiable chunks; --base H: only the changes since H",
  async (args) => {
    const p = parseArgs(args, { base: "value", codec: "value", "chunk-bytes": "value" });
    expectArgs(p, ["<store>", "<height>", "<outDir>"]);
    const [store, hs, outDir] = p.pos as [string, string, string];
    const height = heightArg(hs);
    const opts: ExportOptions = {};
    const base = value(p, "base");
    if (base !== undefined) {
      opts.base = heightArg(base, "base height");
      if (opts.base >= height) {
        throw new ArgError(`--base ${base} must be below the height ${height}`, { base, height });
      }
    }
    const codec = value(p, "codec");
    if (codec !== undefined) opts.codec = codecArg(codec);
    const cb = value(p, "chunk-bytes");
    if (cb !== undefined) opts.chunkBytes = chunkBytesArg(cb);
    // the directory must be new or empty; what it held decides what a failure cleans up
    let before: "new" | "empty" = "new";
    if (existsSync(outDir)) {
      if (!statSync(outDir).isDirectory()) throw new ArgError(`${outDir} is not a directory`, { outDir });
      if (readdirSync(outDir).length > 0) {
        throw new ArgError(`the export directory ${outDir} must be new or empty`, { outDir });
      }
      before = "empty";
    }
    await withStore(store, async (db) => {
      const bar = new Progress(opts.base === undefined ? "export" : "export increment", 100, { unit: "%" });
      const t0 = performance.now();
      let rep: Awaited<ReturnType<typeof exportSnapshot>>;
      try {
        rep = await exportSnapshot(db, height, outDir, { ...opts, onProgress: (x) => bar.update(x.fraction * 100) });
        bar.update(100);
      } catch (e) {
        bar.done();
        // an unfinished export has no manifest.bin; remove what it wrote all the same
        if (before === "new") rmSync(outDir, { recursive: true, force: true });
        else if (existsSync(outDir)) {
          for (const f of readdirSync(outDir)) rmSync(path.join(outDir, f), { recursive: true, force: true });
        }
        throw e;
      }
      bar.done();
      const ms = performance.now() - t0;
      const m = rep.manifest;
      out(`exported ${describe(m)} to ${path.resolve(outDir)}`);
      rows([
        ["root", bytesToHex(m.root)],
        ...(m.kind === "incremental"
          ? [["base", `height ${m.baseHeight}, root ${bytesToHex(m.baseRoot)}`] as const]
          : []),
        ["codec", m.codec],
        ["chunks", fmt(m.chunks.length)],
        ["entries", fmt(rep.entries)],
        ["raw", fmtBytes(rep.rawBytes)],
        ["file", fmtBytes(rep.fileBytes)],
        ["ratio", fmtRatio(rep.ratio)],
        ["time", fmtSpeed(rep.rawBytes, ms)],
      ]);
    });
    return 0;
  },
);

// ------------------------------------------------------------ import

/** What an import that stopped says: the error, the library's reply, and what to do next. */
interface ImportFailure {
  error: unknown;
  reply?: ChunkReply;
  /** Chunks applied (by any run) and kept for a resume; undefined when nothing was begun or it was dropped. */
  kept?: number;
  dropped: boolean;
  /** True when the reply is about one chunk (not the manifest or the store). */
  chunkLevel?: boolean;
  /** Advice when there is no chunk reply. */
  hint?: string;
}

function adviceFor(f: ImportFailure): string[] {
  const r = f.reply;
  const lines: string[] = [];
  if (r !== undefined) {
    lines.push(
      `reply: action ${r.action}${f.chunkLevel ? `, chunk ${r.chunk}` : ""}, refetch [${r.refetch.join(", ")}], rejectSender ${r.rejectSender}`,
    );
  }
  const resume =
    f.kept === undefined
      ? ""
      : f.kept === 0
        ? "; nothing was applied: run the same import again once the chunk is replaced"
        : `; the ${fmt(f.kept)} chunk${f.kept === 1 ? "" : "s"} applied so far ${f.kept === 1 ? "is" : "are"} kept: run the same import again to resume at chunk ${f.kept}`;
  switch (r?.action) {
    case "retry_chunk": {
      const others = r.refetch.filter((c) => c !== r.chunk);
      lines.push(
        `next: retry chunk ${r.chunk}${others.length > 0 ? ` (and refetch chunks ${others.join(", ")})` : ""}${r.rejectSender ? " from another sender, and reject this sender" : ""}${resume}`,
      );
      break;
    }
    case "reject_snapshot":
      lines.push(
        `next: reject this snapshot${r.rejectSender ? " and its sender" : ""}, and fetch another${f.dropped ? "; the partial import was dropped" : f.kept === undefined ? "; nothing was imported" : resume}`,
      );
      break;
    case "abort":
      lines.push(
        `next: stop this import and fix the cause above${f.kept === undefined ? "; nothing was imported" : resume}`,
      );
      break;
    default:
      if (f.hint !== undefined) lines.push(f.hint);
      break;
  }
  return lines;
}

function reportFailure(f: ImportFailure): number {
  const code = reportError(f.error, "helios snapshot import");
  for (const line of adviceFor(f)) process.stderr.write(`${line}\n`);
  return code;
}

/**
 * What `importSnapshot` threw, as an import failure; rethrows what is not one
 * (a bug, or a store error in finish). `imp` is the import once begun, `bar`
 * its progress line.
 */
function importFailure(e: unknown, imp: SnapshotImport | undefined, bar: Progress | undefined): ImportFailure {
  if (!isHeliosError(e)) throw e; // a bug: reported with its stack
  // the manifest (re-read) or SnapshotImport.begin: nothing was begun
  if (imp === undefined) return { error: e, reply: replyFor(e, 0), dropped: false };
  const reply = (e as { reply?: ChunkReply }).reply;
  if (reply === undefined) {
    // finish, which drops the partial import itself when the root does not match
    if (!isHeliosError(e, "SNAPSHOT_ROOT_MISMATCH")) throw e;
    return { error: e, reply: replyFor(e, imp.manifest.chunks.length - 1), dropped: true };
  }
  // a chunk that was not accepted (or could not be read)
  bar?.done();
  if (reply.error === undefined) {
    // the library drops a non-coded cause (a bug): say so rather than invent a code
    throw new Error(`chunk ${reply.chunk} was not accepted (${reply.action}) and the library gave no error`);
  }
  // importSnapshot has dropped a rejected snapshot's partial import: a resume could never finish it
  if (reply.action === "reject_snapshot") return { error: reply.error, reply, dropped: true, chunkLevel: true };
  const kept = imp.progress().chunksDone;
  if (kept === 0) imp.abort(); // nothing to resume: leave no work ref behind
  return { error: reply.error, reply, dropped: false, chunkLevel: true, kept };
}

command(
  "import",
  "<store> <dir> [--root HEX] [--no-adopt] [--create]",
  "verify and apply a snapshot directory chunk by chunk (resumable); --root: the root you trust",
  async (args) => {
    const p = parseArgs(args, { root: "value", "no-adopt": "bool", create: "bool" });
    expectArgs(p, ["<store>", "<dir>"]);
    const [store, dir] = p.pos as [string, string];
    const r = value(p, "root");
    const trustedRoot = r === undefined ? undefined : rootArg(r);
    const adopt = !p.flags.has("no-adopt");
    try {
      readManifest(dir); // before the store is opened (or created)
    } catch (e) {
      if (!isHeliosError(e)) throw e;
      return reportFailure({ error: e, reply: replyFor(e, 0), dropped: false });
    }
    const failure = await withStore(
      store,
      async (db): Promise<ImportFailure | undefined> => {
        // set by onBegin
        const begun: { imp?: SnapshotImport; bar?: Progress; t0: number } = { t0: 0 };
        let rep: ImportReport;
        try {
          rep = await importSnapshot(db, dir, {
            adopt,
            ...(trustedRoot === undefined ? {} : { trustedRoot }),
            onBegin: (imp) => {
              begun.imp = imp;
              const total = imp.manifest.chunks.length;
              if (imp.resumedAt > 0) {
                out(
                  `resuming at chunk ${fmt(imp.resumedAt)} of ${fmt(total)} (an earlier run applied chunk${imp.resumedAt === 1 ? "" : "s"} ${fmtIndices([...Array(imp.resumedAt).keys()])})`,
                );
              }
              begun.bar = new Progress("import", total - imp.resumedAt, { unit: "chunks" });
              begun.t0 = performance.now();
              if (imp.next === undefined) begun.bar.done(); // nothing to apply: finish comes next
            },
            onProgress: (x) => {
              begun.bar?.update(x.chunksDone - (begun.imp?.resumedAt ?? 0));
              if (x.chunksDone === x.chunks) begun.bar?.done(); // the last chunk: finish comes next
            },
          });
        } catch (e) {
          return importFailure(e, begun.imp, begun.bar);
        }
        const ms = performance.now() - begun.t0;
        out(`imported ${describe((begun.imp as SnapshotImport).manifest)} from ${path.resolve(dir)}`);
        const applied = rep.chunks - rep.resumedAt;
        rows([
          ["root", `${bytesToHex(rep.root)} (recomputed; equals the manifest's${trustedRoot ? " and --root" : ""})`],
          [
            "chunks",
            `${fmt(rep.chunks)}${rep.resumedAt > 0 ? ` (resumed at chunk ${fmt(rep.resumedAt)}: ${fmt(applied)} applied by this run)` : ""}`,
          ],
          ["entries", `${fmt(rep.entries)}${rep.resumedAt > 0 ? " (applied by this run)" : ""}`],
          ["raw", fmtBytes(rep.rawBytes)],
          [
            "head",
            rep.adopted
              ? `height ${fmt(db.height)} (adopted: the snapshot is the head)`
              : `height ${fmt(db.height)} (not adopted: ${adopt ? "the snapshot is not above the head" : "--no-adopt"})`,
          ],
          ["time", fmtSpeed(rep.rawBytes, ms)],
        ]);
        return undefined;
      },
      p.flags.has("create"),
    ).catch((e: unknown) => {
      // the library's STORE_NOT_FOUND says how to make a store; for an import the way is --create
      if (!isHeliosError(e, "STORE_NOT_FOUND") || p.flags.has("create")) throw e;
      return { error: e, dropped: false, hint: "next: pass --create to import into a new store" };
    });
    return failure === undefined ? 0 : reportFailure(failure);
  },
);

// ------------------------------------------------------------ verify

command(
  "verify",
  "<dir> [--sample K] [--seed S] [--rate R] [--root HEX]",
  "check every chunk (or a random sample of K) against the root, without a store",
  async (args) => {
    const p = parseArgs(args, { sample: "value", seed: "value", rate: "value", root: "value" });
    expectArgs(p, ["<dir>"]);
    const dir = p.pos[0] as string;
    const s = value(p, "sample");
    const sample = s === undefined ? undefined : intArg("--sample", s, 1, 1_000_000_000);
    const seedArg = value(p, "seed");
    const rateText = value(p, "rate");
    if (sample === undefined && (seedArg !== undefined || rateText !== undefined)) {
      throw new ArgError(`--${seedArg !== undefined ? "seed" : "rate"} applies only with --sample K`);
    }
    const seed = seedArg === undefined ? randomInt(1, 2 ** 32) : intArg("--seed", seedArg, 1, 2 ** 32 - 1);
    const rate = rateText === undefined ? 0.01 : rateArg(rateText);
    const r = value(p, "root");
    const trustedRoot = r === undefined ? undefined : rootArg(r);

    const { manifest: m } = readManifest(dir);
    const bar = new Progress("verify", Math.min(sample ?? m.chunks.length, m.chunks.length), { unit: "chunks" });
    let rep: ReturnType<typeof verifySnapshotDir>;
    try {
      rep = verifySnapshotDir(dir, {
        ...(sample === undefined ? {} : { sample, seed, rate }),
        ...(trustedRoot === undefined ? {} : { trustedRoot }),
        onProgress: (x) => bar.update(x.done),
      });
    } finally {
      bar.done();
    }
    const n = rep.chunks;
    out(
      rep.kind === "full"
        ? `verified ${n === 1 ? "the only chunk" : `all ${fmt(n)} chunks`} of ${describe(m)}`
        : `verified a sample of ${fmt(rep.checked.length)} of ${chunks(n)} of ${describe(m)}`,
    );
    const list: [string, string][] = [
      ["root", `${bytesToHex(m.root)}${trustedRoot ? " (= --root)" : ""}`],
      ["checked", `${fmt(rep.checked.length)} of ${chunks(n)}: ${fmtIndices(rep.checked)}`],
      ["entries", fmt(rep.entries)],
    ];
    if (rep.kind === "sample") {
      const bad = Math.min(n, Math.ceil(rate * n - 1e-9));
      list.push(
        ["seed", `${rep.seed} (--seed ${rep.seed} checks the same chunks again)`],
        [
          "detect",
          `${fmtPercent(rep.detectProbability ?? 0)} chance to catch a snapshot with ${+(rate * 100).toPrecision(6)}% of its chunks bad (${fmt(bad)} of ${fmt(n)})`,
        ],
        ["for 99%", `a sample of ${chunks(rep.sampleFor99 ?? n)} at that rate`],
      );
    }
    list.push([
      "failures",
      rep.failures.length === 0
        ? "none"
        : `${fmt(rep.failures.length)}: chunk ${fmtIndices(rep.failures.map((f) => f.chunk))}`,
    ]);
    rows(list);
    for (const f of rep.failures) {
      const prefix = `${f.code}: `;
      let msg = (f.message.startsWith(prefix) ? f.message.slice(prefix.length) : f.message).replace(/\s*\n\s*/g, " ");
      if (!msg.startsWith(`chunk ${f.chunk}:`)) msg = `chunk ${f.chunk}: ${msg}`;
      process.stderr.write(`error ${f.code}: ${msg} ${JSON.stringify({ chunk: f.chunk })}\n`);
    }
    out(rep.failures.length === 0 ? "ok" : "FAILED");
    return rep.failures.length === 0 ? 0 : 1;
  },
);

// ------------------------------------------------------------ entry

export const SNAPSHOT_USAGE = usageText();

/** `helios snapshot <args>`: runs one command and returns the process exit code. */
export async function snapshotMain(args: string[]): Promise<number> {
  const start = startGroup(args, SNAPSHOT_USAGE);
  if (start === undefined) return 0;
  const { cmd, rest } = start;
  const c = cmd === undefined ? undefined : COMMANDS[cmd];
  const prog = `helios snapshot${c === undefined ? "" : ` ${cmd}`}`;
  try {
    if (c === undefined) {
      throw cmd === undefined
        ? new ArgError("missing command")
        : new ArgError(`unknown command ${cmd}`, { command: cmd });
    }
    return (await c.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof ArgError) {
      const hint = c === undefined ? "helios snapshot help lists the commands" : `usage: helios snapshot ${c.synopsis}`;
      const ctx = Object.keys(e.context).length > 0 ? ` ${JSON.stringify(e.context)}` : "";
      process.stderr.write(`error INVALID_ARGUMENT: ${prog}: ${e.message} (${hint})${ctx}\n`);
      return 2;
    }
    return reportError(e, prog);
  }
}
