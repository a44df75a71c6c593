/**
 * cli/checkpoint — directory checkpoints from the command line:
 *   helios checkpoint <dir> [--parent ID | --full] [--reread] [--json]
 *   helios restore <id> <dir> [--path P] [--force] [--allow-symlink-escape] [--same-permissions] [--json]
 *   helios checkpoints [list] [--json] | info <id> [--json] | diff <a> <b> [--stat | --json] | cat <id> <path>
 *   helios forget (--keep-last N | --keep-within D)… [--forget-newest] [--dry-run] [--no-gc] [--json]
 * A thin shell over sandbox/checkpoint.ts: every rule (what is unchanged,
 * what a restore refuses, what a policy keeps) is the library's, reported by
 * its codes (docs/errors.md).
 *
 * Store: every command takes `--store DIR`, or the HELIOS_STORE environment
 * variable (as the branch commands do). `helios checkpoint` creates the store
 * when the directory is missing or empty; the others need an existing one.
 * Times come from Date.now (the CLI is the clock the library is handed).
 *
 * Output: results on stdout (human text, or JSON with --json); progress bars
 * (with ETA once the total is known) and errors on stderr. Exit codes: 0 ok;
 * 1 a coded HeliosError, one line `error CODE: message {context}`; 2 bad
 * usage, one line `error INVALID_ARGUMENT: …`; 70 a bug (with its stack).
 *
 * Invariants: every argument is checked before the store is opened, so bad
 * usage changes nothing; the store is opened once per command and always
 * closed; `forget --dry-run` opens the store but changes nothing.
 * Costs: those of the library calls, plus the store's open and close (close
 * checkpoints L0 to LMDB).
 */
import { existsSync, readdirSync } from "node:fs";
import { bytesToHex } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import {
  type CheckpointDiff,
  type CheckpointInfo,
  checkpointInfo,
  createCheckpoint,
  diffCheckpoints,
  forgetCheckpoints,
  listCheckpoints,
  openFile,
  parseDuration,
  type RetentionPolicy,
  restoreCheckpoint,
} from "../sandbox/index.js";
import { ArgError, argHelpers, binaryUnits, fmt, out, type Parsed, startGroup, withStore } from "./args.js";
import { collectWithProgress, Progress } from "./progress.js";
import { reportError } from "./store.js";

/** Bad usage: one line `error INVALID_ARGUMENT: …` on stderr, exit code 2. */

const { parseArgs, expectArgs } = argHelpers((message, context) => new ArgError(message, context));

function value(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

function storeOf(p: Parsed): string {
  const s = value(p, "store") ?? process.env.HELIOS_STORE;
  if (s === undefined || s === "") throw new ArgError("no store: pass --store DIR or set HELIOS_STORE");
  return s;
}

function idArg(s: string, what = "<id>"): string {
  if (!/^[0-9a-fA-F]{8,64}$/.test(s)) {
    throw new ArgError(`${what} is a checkpoint id or a prefix of 8 or more hex digits, not ${JSON.stringify(s)}`, {
      id: s,
    });
  }
  return s.toLowerCase();
}

/** "512 bytes", "329,861 bytes (322.1 KiB)". */
function fmtBytes(n: number): string {
  const b = binaryUnits(n);
  return b === undefined ? `${fmt(n)} bytes` : `${fmt(n)} bytes (${b})`;
}

/** "322.1 KiB" or "512 B": for tables. */
function shortBytes(n: number): string {
  return binaryUnits(n) ?? `${n} B`;
}

function fmtTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function fmtSpeed(bytes: number, ms: number): string {
  const s = ms / 1000;
  return `${s.toFixed(2)} s${ms >= 10 && bytes > 0 ? `, ${(bytes / 1e6 / s).toFixed(1)} MB/s` : ""}`;
}

function rows(list: readonly (readonly [string, string])[], indent = "  "): void {
  const w = Math.max(...list.map((r) => r[0].length));
  for (const [k, v] of list) out(`${indent}${k.padEnd(w)}  ${v}`);
}

const plural = (n: number, one: string, many = `${one}s`) => `${fmt(n)} ${n === 1 ? one : many}`;

/** A checkpoint's info as JSON (root as hex, stats as they are). */
function infoJson(c: CheckpointInfo) {
  return {
    id: c.id,
    source: c.source,
    time: c.time,
    parent: c.parent ?? null,
    chunker: c.chunker,
    stats: c.stats,
  };
}

/** Bytes of node pages in LMDB after a checkpoint: what GC can shrink. */
async function bytesInUse(db: StateDB): Promise<number> {
  await db.checkpoint();
  return db.store.nodeBytesInUse();
}

/** Runs a GC cycle with progress bars (mark, then sweep with ETA) and reports what it freed. */
async function collect(db: StateDB, json: boolean): Promise<{ removed: number; before: number; after: number }> {
  const before = await bytesInUse(db);
  const t0 = performance.now();
  const res = await collectWithProgress((o) => db.collect(o));
  const after = db.store.nodeBytesInUse();
  if (!json) {
    out(
      `gc: removed ${plural(res.removed, "node")} in ${((performance.now() - t0) / 1000).toFixed(2)} s; node pages in use ${shortBytes(before)} → ${shortBytes(after)}`,
    );
  }
  return { removed: res.removed, before, after };
}

// ------------------------------------------------------------ checkpoint

async function cmdCheckpoint(args: string[]): Promise<number> {
  const p = parseArgs(args, { store: "value", parent: "value", full: "bool", reread: "bool", json: "bool" });
  expectArgs(p, ["<dir>"]);
  const store = storeOf(p);
  const parentArg = value(p, "parent");
  if (parentArg !== undefined && p.flags.has("full")) throw new ArgError("--parent and --full exclude each other");
  const parent = p.flags.has("full") ? null : parentArg === undefined ? undefined : idArg(parentArg, "--parent");
  const json = p.flags.has("json");
  const src = p.pos[0] as string;
  await withStore(
    store,
    async (db) => {
      let scan: Progress | undefined = new Progress("scan", undefined, { unit: "entries" });
      let read: Progress | undefined;
      let info: CheckpointInfo;
      const t0 = performance.now();
      try {
        info = await createCheckpoint(db, src, {
          time: Date.now(),
          clock: () => performance.now(),
          ...(parent !== undefined ? { parent } : {}),
          ...(p.flags.has("reread") ? { reread: true } : {}),
          onProgress: (x) => {
            if (x.phase === "scan") scan?.update(x.entries);
            else {
              if (scan !== undefined) {
                scan.update(x.entries);
                scan.done();
                scan = undefined;
              }
              read ??= new Progress("read", x.bytesTotal, { unit: "bytes" });
              read.update(x.bytesDone);
            }
          },
        });
      } finally {
        scan?.done();
        read?.done();
      }
      const ms = performance.now() - t0;
      if (json) {
        out(JSON.stringify(infoJson(info), null, 2));
        return;
      }
      const s = info.stats;
      out(`checkpoint ${info.id.slice(0, 12)} of ${info.source}`);
      rows([
        ["id", info.id],
        ["parent", info.parent ?? "none (a full checkpoint)"],
        [
          "entries",
          `${plural(s.files, "file")}, ${plural(s.dirs, "dir")}, ${plural(s.symlinks, "symlink")}${s.skipped > 0 ? ` (${fmt(s.skipped)} skipped: sockets, FIFOs, devices, the store)` : ""}`,
        ],
        [
          "read",
          `${plural(s.filesRead, "file")}, ${fmtBytes(s.bytesRead)}; ${plural(s.filesReused, "unchanged file")} not read`,
        ],
        [
          "new",
          `${plural(s.chunksNew, "chunk")}: ${fmtBytes(s.bytesNewRaw)} raw, ${fmtBytes(s.bytesNewStored)} stored`,
        ],
        [
          "total",
          `${fmtBytes(s.bytes)} of files in ${plural(s.chunks, "distinct chunk")}, ${fmtBytes(s.chunkBytesStored)} stored (dedup ${s.dedupRatio.toFixed(2)}×, with zstd ${s.chunkBytesStored > 0 ? (s.bytes / s.chunkBytesStored).toFixed(2) : "1.00"}×)`,
        ],
        ["lookups", `${fmt(s.lookups)} in the parent, ${fmt(s.lookupsSaved)} saved by its Bloom filter`],
        ["time", fmtSpeed(s.bytesRead, ms)],
      ]);
    },
    needsCreate(store),
  );
  return 0;
}

/** True when the store directory is missing or empty (checkpoint creates it then). */
function needsCreate(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

// ------------------------------------------------------------ restore

async function cmdRestore(args: string[]): Promise<number> {
  const p = parseArgs(args, {
    store: "value",
    path: "value",
    force: "bool",
    "allow-symlink-escape": "bool",
    "same-permissions": "bool",
    json: "bool",
  });
  expectArgs(p, ["<id>", "<dir>"]);
  const store = storeOf(p);
  const id = idArg(p.pos[0] as string);
  const target = p.pos[1] as string;
  const sub = value(p, "path");
  const json = p.flags.has("json");
  await withStore(store, (db) => {
    let bar: Progress | undefined;
    const t0 = performance.now();
    let rep: ReturnType<typeof restoreCheckpoint>;
    try {
      rep = restoreCheckpoint(db, id, target, {
        ...(sub !== undefined ? { path: sub } : {}),
        ...(p.flags.has("force") ? { force: true } : {}),
        ...(p.flags.has("allow-symlink-escape") ? { allowSymlinkEscape: true } : {}),
        ...(p.flags.has("same-permissions") ? { preservePrivileged: true } : {}),
        onProgress: (x) => {
          bar ??= new Progress("restore", x.bytes, { unit: "bytes" });
          bar.update(x.bytesDone);
        },
      });
    } finally {
      bar?.done();
    }
    const ms = performance.now() - t0;
    if (json) {
      out(JSON.stringify({ ...rep, path: sub ?? null, ms: Math.round(ms) }, null, 2));
      return;
    }
    out(`restored checkpoint ${rep.id.slice(0, 12)}${sub !== undefined ? ` (path ${sub})` : ""} into ${rep.target}`);
    rows([
      [
        "entries",
        `${fmt(rep.entries)}: ${plural(rep.files, "file")}, ${plural(rep.dirs, "dir")}, ${plural(rep.symlinks, "symlink")}`,
      ],
      ["bytes", `${fmtBytes(rep.bytes)} in ${plural(rep.chunks, "chunk")}, each checked against its hash`],
      ...(rep.replaced > 0
        ? [["replaced", `${plural(rep.replaced, "existing file or symlink", "existing files or symlinks")}`] as const]
        : []),
      ["time", fmtSpeed(rep.bytes, ms)],
    ]);
  });
  return 0;
}

// ------------------------------------------------------------ checkpoints list|info|diff|cat

function printList(all: readonly CheckpointInfo[]): void {
  if (all.length === 0) {
    out("no checkpoints");
    return;
  }
  const table = all.map((c) => [
    c.id.slice(0, 12),
    fmtTime(c.time),
    fmt(c.stats.files),
    shortBytes(c.stats.bytes),
    shortBytes(c.stats.chunkBytesStored),
    c.parent === undefined ? "-" : c.parent.slice(0, 12),
    c.source,
  ]);
  const head = ["ID", "TIME", "FILES", "BYTES", "STORED", "PARENT", "SOURCE"];
  const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === 2 || i === 3 || i === 4 ? c.padStart(w[i] as number) : c.padEnd(w[i] as number)))
      .join("  ")
      .trimEnd();
  out(line(head));
  for (const r of table) out(line(r));
}

function printDiff(d: CheckpointDiff, stat: boolean): void {
  if (!stat) {
    for (const i of d.items) {
      const tag = i.change === "added" ? "A" : i.change === "removed" ? "D" : "M";
      const kind = (i.after ?? i.before)?.kind;
      const what = i.change === "modified" ? `  (${i.what.join(", ")})` : "";
      out(`${tag} ${i.path === "" ? "." : i.path}${kind === "dir" ? "/" : ""}${what}`);
    }
  }
  out(
    `${plural(d.added, "added", "added")}, ${plural(d.removed, "removed", "removed")}, ${plural(d.modified, "modified", "modified")}; ${fmtBytes(d.bytesAdded)} in, ${fmtBytes(d.bytesRemoved)} out (${plural(d.nodesRead, "node")} read)`,
  );
}

async function cmdCheckpoints(args: string[]): Promise<number> {
  const sub = args[0] === undefined || args[0].startsWith("-") ? "list" : args[0];
  const rest = args[0] === undefined || args[0].startsWith("-") ? args : args.slice(1);
  switch (sub) {
    case "list": {
      const p = parseArgs(rest, { store: "value", json: "bool" });
      expectArgs(p, []);
      await withStore(storeOf(p), (db) => {
        const all = listCheckpoints(db);
        if (p.flags.has("json")) out(JSON.stringify(all.map(infoJson), null, 2));
        else printList(all);
      });
      return 0;
    }
    case "info": {
      const p = parseArgs(rest, { store: "value", json: "bool" });
      expectArgs(p, ["<id>"]);
      const id = idArg(p.pos[0] as string);
      await withStore(storeOf(p), (db) => {
        const c = checkpointInfo(db, id);
        if (p.flags.has("json")) {
          out(JSON.stringify(infoJson(c), null, 2));
          return;
        }
        const s = c.stats;
        out(`checkpoint ${c.id}`);
        rows([
          ["source", c.source],
          ["time", fmtTime(c.time)],
          ["parent", c.parent ?? "none"],
          ["root", bytesToHex(c.root)],
          ["files", `${fmt(s.files)} (${fmtBytes(s.bytes)})`],
          ["dirs", fmt(s.dirs)],
          ["symlinks", fmt(s.symlinks)],
          [
            "chunks",
            `${fmt(s.chunks)} distinct, ${fmtBytes(s.chunkBytesRaw)} raw, ${fmtBytes(s.chunkBytesStored)} stored`,
          ],
          ["dedup", `${s.dedupRatio.toFixed(2)}× (file bytes / distinct chunk bytes)`],
          [
            "chunker",
            `min ${shortBytes(c.chunker.minBytes)}, avg ${shortBytes(c.chunker.avgBytes)}, max ${shortBytes(c.chunker.maxBytes)}; zstd -${c.chunker.zstdLevel}`,
          ],
          [
            "this run",
            `read ${plural(s.filesRead, "file")} (${fmtBytes(s.bytesRead)}), kept ${plural(s.filesReused, "unchanged file")}; ${plural(s.chunksNew, "new chunk")} (${fmtBytes(s.bytesNewStored)} stored)`,
          ],
        ]);
      });
      return 0;
    }
    case "diff": {
      const p = parseArgs(rest, { store: "value", stat: "bool", json: "bool" });
      expectArgs(p, ["<a>", "<b>"]);
      if (p.flags.has("stat") && p.flags.has("json")) throw new ArgError("--stat and --json exclude each other");
      const a = idArg(p.pos[0] as string, "<a>");
      const b = idArg(p.pos[1] as string, "<b>");
      await withStore(storeOf(p), (db) => {
        const d = diffCheckpoints(db, a, b);
        if (p.flags.has("json")) {
          const item = (x: CheckpointDiff["items"][number]["before"]) =>
            x === undefined ? null : { ...x, mtimeNs: x.mtimeNs.toString() };
          out(
            JSON.stringify(
              { ...d, items: d.items.map((i) => ({ ...i, before: item(i.before), after: item(i.after) })) },
              null,
              2,
            ),
          );
        } else printDiff(d, p.flags.has("stat"));
      });
      return 0;
    }
    case "cat": {
      const p = parseArgs(rest, { store: "value" });
      expectArgs(p, ["<id>", "<path>"]);
      const id = idArg(p.pos[0] as string);
      await withStore(storeOf(p), async (db) => {
        const f = openFile(db, id, p.pos[1] as string);
        try {
          for (const chunk of f.chunks()) {
            if (!process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once("drain", () => r()));
          }
        } finally {
          f.close();
        }
      });
      return 0;
    }
    default:
      throw new ArgError(`unknown command checkpoints ${sub}`, { command: sub });
  }
}

// ------------------------------------------------------------ forget

async function cmdForget(args: string[]): Promise<number> {
  const p = parseArgs(args, {
    store: "value",
    "keep-last": "value",
    "keep-within": "value",
    "forget-newest": "bool",
    "dry-run": "bool",
    gc: "bool",
    "no-gc": "bool",
    json: "bool",
  });
  expectArgs(p, []);
  const store = storeOf(p);
  const policy: RetentionPolicy = {};
  const last = value(p, "keep-last");
  if (last !== undefined) {
    if (!/^\d+$/.test(last) || !Number.isSafeInteger(Number(last))) {
      throw new ArgError(`--keep-last is a whole number, not ${JSON.stringify(last)}`, { keepLast: last });
    }
    policy.keepLast = Number(last);
  }
  const within = value(p, "keep-within");
  if (within !== undefined) {
    try {
      policy.keepWithinMs = parseDuration(within);
    } catch {
      throw new ArgError(`--keep-within is a duration like 7d, 12h, 30m or 1d12h, not ${JSON.stringify(within)}`, {
        keepWithin: within,
      });
    }
  }
  if (policy.keepLast === undefined && policy.keepWithinMs === undefined) {
    throw new ArgError("say what to keep: --keep-last N and/or --keep-within D");
  }
  if (p.flags.has("forget-newest")) policy.forgetNewest = true;
  if (p.flags.has("gc") && p.flags.has("no-gc")) throw new ArgError("--gc and --no-gc exclude each other");
  const dryRun = p.flags.has("dry-run");
  const json = p.flags.has("json");
  await withStore(store, async (db) => {
    const r = forgetCheckpoints(db, policy, Date.now(), { dryRun });
    const runGc = !dryRun && !p.flags.has("no-gc");
    const rules = [
      ...(policy.keepLast !== undefined ? [`keep-last ${policy.keepLast}`] : []),
      ...(within !== undefined ? [`keep-within ${within}`] : []),
      ...(policy.forgetNewest ? ["forget-newest"] : []),
    ].join(", ");
    if (!json) {
      out(`forget: ${rules}${dryRun ? " (dry run: nothing is changed)" : ""}`);
      let group: string | undefined;
      for (const d of r.plan.items) {
        if (d.group !== group) {
          group = d.group;
          out(group);
        }
        out(
          `  ${d.keep ? "keep  " : "forget"}  ${d.id.slice(0, 12)}  ${fmtTime(d.time)}${d.keep ? `  ${d.reasons.join(", ")}` : ""}`,
        );
      }
      out(
        `${dryRun ? "would keep" : "kept"} ${plural(r.plan.keep.length, "checkpoint")}, ${dryRun ? "would forget" : "forgot"} ${plural(r.plan.forget.length, "checkpoint")}`,
      );
    }
    const gc = runGc ? await collect(db, json) : undefined;
    if (json) {
      out(
        JSON.stringify(
          {
            dryRun,
            policy,
            items: r.plan.items,
            forgotten: r.forgotten,
            gc: gc ?? null,
          },
          null,
          2,
        ),
      );
    } else if (!runGc && !dryRun) out("gc: skipped (--no-gc); run `helios store gc` to reclaim the space");
  });
  return 0;
}

// ------------------------------------------------------------ entry

interface Verb {
  synopsis: string;
  help: string;
  run: (args: string[]) => Promise<number>;
}

const VERBS: Record<string, Verb> = {
  checkpoint: {
    synopsis: "checkpoint <dir> [--parent ID | --full] [--reread] [--json]",
    help: "store a directory tree (dedup against the newest checkpoint of the same dir, or --parent; --full: none)",
    run: cmdCheckpoint,
  },
  restore: {
    synopsis: "restore <id> <dir> [--path P] [--force] [--allow-symlink-escape] [--same-permissions] [--json]",
    help: "restore a checkpoint (or one path of it) into a new or empty dir (--force: over one)",
    run: cmdRestore,
  },
  checkpoints: {
    synopsis: "checkpoints [list | info <id> | diff <a> <b> [--stat | --json] | cat <id> <path>] [--json]",
    help: "list checkpoints, show one, diff two, or print one file (read lazily)",
    run: cmdCheckpoints,
  },
  forget: {
    synopsis: "forget (--keep-last N | --keep-within D)... [--forget-newest] [--dry-run] [--no-gc] [--json]",
    help: "drop checkpoints a retention policy does not keep (per source dir), then GC",
    run: cmdForget,
  },
};

export const CHECKPOINT_USAGE = `usage: helios <command> [args] [--store DIR]

${Object.values(VERBS)
  .map((v) => `  helios ${v.synopsis}\n      ${v.help}`)
  .join("\n")}

Every command takes --store DIR (or the HELIOS_STORE environment variable); checkpoint creates the store.
An id is a checkpoint's 64 hex digits or a unique prefix of 8 or more. D is a duration: 7d, 12h, 30m, 2w, 1d12h.
forget keeps the newest checkpoint of each dir unless --forget-newest, and runs GC unless --dry-run or --no-gc.
Progress is drawn on stderr when it is a terminal (HELIOS_PROGRESS=1 forces it, 0 turns it off).
Exit codes: 0 ok, 1 a coded error (error CODE: message), 2 bad usage (error INVALID_ARGUMENT: …), 70 an internal error.`;

/** The top-level commands this module runs. */
export const CHECKPOINT_VERBS: ReadonlySet<string> = new Set(Object.keys(VERBS));

/** `helios <verb> <args>` for the checkpoint verbs: runs one command and returns the process exit code. */
export async function checkpointMain(verb: string, args: string[]): Promise<number> {
  const start = startGroup(args, CHECKPOINT_USAGE);
  if (start === undefined) return 0;
  const v = VERBS[verb];
  const sub = verb === "checkpoints" && start.cmd !== undefined && !start.cmd.startsWith("-") ? ` ${start.cmd}` : "";
  const prog = `helios ${verb}${sub}`;
  try {
    if (v === undefined) throw new ArgError(`unknown command ${verb}`, { command: verb });
    return await v.run(args);
  } catch (e) {
    if (e instanceof ArgError) {
      const hint = v === undefined ? "helios help lists the commands" : `usage: helios ${v.synopsis}`;
      const ctx = Object.keys(e.context).length > 0 ? ` ${JSON.stringify(e.context)}` : "";
      process.stderr.write(`error INVALID_ARGUMENT: ${prog}: ${e.message} (${hint})${ctx}\n`);
      return 2;
    }
    return reportError(e, prog);
  }
}

/** For `helios help`: one line per verb. */
export const CHECKPOINT_USAGE_LINES = Object.values(VERBS).map((v) => `helios ${v.synopsis}`);
