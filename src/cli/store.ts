/**
 * cli/store — `helios store …`: create, inspect, check, roll back and
 * collect a durable store from the command line. A thin shell over the
 * history layer's StateDB: every rule (what a live root is, what may be
 * rolled back to, what is corrupt) is the library's, reported by its codes.
 *
 * Output: results on stdout (human text, or JSON with --json where offered);
 * progress lines and errors on stderr. Exit codes: 0 ok; 1 a coded
 * HeliosError, printed as one line `error CODE: message {context}`; 2 bad
 * usage; 70 a bug (an uncoded exception, printed with its stack).
 *
 * Invariants: the store is opened at most once per command and always
 * closed (close checkpoints, so the next open replays nothing); a command
 * that fails validation before opening leaves the directory untouched.
 */
import path from "node:path";
import { bytesToHex, equalBytes, HeliosError, hexToBytes, isHeliosError } from "../core/index.js";
import { openState, type StateDB } from "../history/index.js";
import { isEmptyRoot } from "../merkle/index.js";
import { argHelpers, binaryUnits, fmt, out, startGroup, withStore } from "./args.js";
import { collectWithProgress, Progress } from "./progress.js";

export const STORE_USAGE = `usage: helios store <command> <dir> [args]

  init <dir> [--retain N]            create a store keeping the last N heights (default 100)
  stats <dir> [--json]               height, root, retention and tier statistics
  log <dir> [--json]                 retained heights (newest first) with forest roots, refs, pins
  verify <dir> [version]             check every node of a version against its hash (default: head)
  rollback <dir> <height>            move the head back to a retained height
  gc <dir>                           collect nodes no retained height, ref or pin reaches
  ref <dir> list [--json]            list refs
  ref <dir> set <name> <version>     create or move a ref to a live version
  ref <dir> delete <name>            delete a ref
  help                               this message

A version is a retained height (digits), a ref name, or a 64-hex forest root.
Progress is drawn on stderr when it is a terminal (HELIOS_PROGRESS=1 forces it, 0 turns it off).
Exit codes: 0 ok, 1 a coded error (error CODE: message), 2 bad usage, 70 an internal error.`;

/** Bad command-line usage: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** "512 B", "322.1 KiB". */
function fmtBytes(n: number): string {
  return binaryUnits(n) ?? `${n} B`;
}

// ------------------------------------------------------------ arguments

const { parseArgs, expectArgs, heightArg } = argHelpers((message) => new UsageError(message));

// ------------------------------------------------------------ versions

export interface Resolved {
  root: Uint8Array;
  /** "height 12", "ref main", "root 3fa…". */
  label: string;
}

/**
 * A version argument: digits are a retained height (unless no such height is
 * retained and a ref has that name), 64 hex digits a forest root, anything
 * else a ref name. Unknown heights and refs are the library's coded errors.
 */
export function resolveVersion(db: StateDB, spec: string): Resolved {
  if (/^[0-9a-fA-F]{64}$/.test(spec)) return { root: hexToBytes(spec.toLowerCase()), label: `root ${spec}` };
  if (/^\d+$/.test(spec)) {
    const h = Number(spec);
    const retained = Number.isSafeInteger(h) && db.heights().includes(h);
    if (!retained && db.refs().has(spec)) return { root: db.ref(spec), label: `ref ${spec}` };
    return { root: db.rootAt(h), label: `height ${h}` };
  }
  return { root: db.ref(spec), label: `ref ${spec}` };
}

/** What names a root: "height 12, ref main" (empty if nothing). */
function namesOf(db: StateDB, root: Uint8Array): string {
  const names: string[] = [];
  for (const h of db.heights()) if (equalBytes(db.rootAt(h), root)) names.push(`height ${h}`);
  for (const [n, r] of db.refs()) if (equalBytes(r, root)) names.push(`ref ${n}`);
  return names.join(", ");
}

// ------------------------------------------------------------ commands

async function cmdInit(args: string[]): Promise<number | undefined> {
  const p = parseArgs(args, { retain: "value" });
  expectArgs(p, ["<dir>"]);
  const dir = p.pos[0] as string;
  const retainArg = p.flags.get("retain");
  let retain = 100;
  if (typeof retainArg === "string") {
    retain = Number(retainArg);
    if (!/^\d+$/.test(retainArg) || retain < 1 || retain > 1_000_000) {
      throw new UsageError("--retain is an integer from 1 to 1,000,000");
    }
  }
  // an existing Helios store is left alone: init never changes one
  let existing: StateDB | undefined;
  try {
    existing = openState(dir);
  } catch (e) {
    if (!isHeliosError(e, "STORE_NOT_FOUND")) throw e;
  }
  if (existing !== undefined) {
    const h = existing.height;
    await existing.close();
    throw new HeliosError(
      "STORE_EXISTS",
      { dir: path.resolve(dir), height: h },
      `${path.resolve(dir)} holds a store at height ${h}`,
    );
  }
  const db = openState(dir, { create: true, retain });
  try {
    out(`initialised a Helios store in ${path.resolve(dir)}`);
    out(`  retain  ${fmt(db.retain)} heights`);
    out(`  height  ${db.height}`);
    out(`  root    ${bytesToHex(db.root)}`);
  } finally {
    await db.close();
  }
  return 0;
}

async function cmdStats(args: string[]): Promise<void> {
  const p = parseArgs(args, { json: "bool" });
  expectArgs(p, ["<dir>"]);
  const dir = p.pos[0] as string;
  await withStore(dir, (db) => {
    const s = db.stats();
    if (p.flags.has("json")) {
      out(JSON.stringify({ dir: path.resolve(dir), ...s }, null, 2));
      return;
    }
    const st = s.store;
    const rows: [string, string][] = [
      ["store", path.resolve(dir)],
      ["height", fmt(s.height)],
      ["root", s.root],
      ["retain", `${fmt(s.retain)} heights (${fmt(s.heights)} retained, oldest ${fmt(s.oldestHeight)})`],
      ["refs", fmt(s.refs)],
      ["pins", fmt(s.pins)],
      ["nodes", `${fmt(st.l2Nodes + st.l0Nodes)} (L2 on disk ${fmt(st.l2Nodes)}, L0 in memory ${fmt(st.l0Nodes)})`],
      ["disk", `${fmtBytes(st.diskBytes)} (LMDB pages in use)`],
      ["log", `next seq ${fmt(st.walNextSeq)}`],
      ["gc epoch", fmt(st.epoch)],
      ["recovered", `${fmt(s.recovered.records)} log records in ${s.recovered.ms.toFixed(1)} ms`],
    ];
    if (st.lastCheckpointError !== undefined) rows.push(["checkpoint", `FAILED: ${st.lastCheckpointError}`]);
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) out(`${k.padEnd(w)}  ${v}`);
  });
}

async function cmdLog(args: string[]): Promise<void> {
  const p = parseArgs(args, { json: "bool" });
  expectArgs(p, ["<dir>"]);
  await withStore(p.pos[0] as string, (db) => {
    const hs = db.heights().reverse();
    const refs = [...db.refs()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const pins = db.pins().map((x) => ({ root: bytesToHex(x.root), count: x.count }));
    if (p.flags.has("json")) {
      out(
        JSON.stringify(
          {
            head: db.height,
            retain: db.retain,
            heights: hs.map((h) => ({ height: h, root: bytesToHex(db.rootAt(h)) })),
            refs: refs.map(([name, r]) => ({ name, root: bytesToHex(r) })),
            pins,
          },
          null,
          2,
        ),
      );
      return;
    }
    out(`heights (newest first; retain ${fmt(db.retain)})`);
    const w = Math.max(6, ...hs.map((h) => String(h).length));
    for (const h of hs)
      out(`  ${String(h).padStart(w)}  ${bytesToHex(db.rootAt(h))}${h === db.height ? "  head" : ""}`);
    if (refs.length === 0) out("refs: none");
    else {
      out("refs");
      const rw = Math.max(...refs.map(([n]) => n.length));
      for (const [name, r] of refs) {
        const at = db.heights().filter((h) => equalBytes(db.rootAt(h), r));
        out(`  ${name.padEnd(rw)}  ${bytesToHex(r)}${at.length > 0 ? `  = height ${at.join(", ")}` : ""}`);
      }
    }
    if (pins.length === 0) out("pins: none");
    else {
      out("pins");
      for (const x of pins) out(`  ${x.root}  ×${x.count}`);
    }
  });
}

async function cmdVerify(args: string[]): Promise<void> {
  const p = parseArgs(args, {});
  expectArgs(p, ["<dir>", "[version]"], 1);
  await withStore(p.pos[0] as string, (db) => {
    const v: Resolved =
      p.pos[1] === undefined ? { root: db.root, label: `height ${db.height}` } : resolveVersion(db, p.pos[1]);
    // The version is the store's whole live set when every live root is it:
    // then its nodes are (about) all stored nodes, an estimate for the bar.
    const s = db.stats();
    const live = [...db.heights().map((h) => db.rootAt(h)), ...db.refs().values()].filter((r) => !isEmptyRoot(r));
    const whole = s.pins === 0 && live.every((r) => equalBytes(r, v.root));
    const total = whole ? s.store.l2Nodes + s.store.l0Nodes : undefined;
    const bar = new Progress("verify", total, { unit: "nodes" });
    let r: { nodes: number; leaves: number; bytes: number; trees: number };
    try {
      r = db.verify(v.root, (rep) => bar.update(rep.nodes));
      bar.update(r.nodes);
    } finally {
      bar.done();
    }
    const names = namesOf(db, v.root)
      .split(", ")
      .filter((n) => n !== "" && n !== v.label);
    out(`verified ${v.label}${names.length > 0 ? ` (= ${names.join(", ")})` : ""}`);
    out(`  root    ${bytesToHex(v.root)}`);
    out(`  nodes   ${fmt(r.nodes)}`);
    out(`  leaves  ${fmt(r.leaves)}`);
    out(`  bytes   ${fmt(r.bytes)}`);
    out(`  trees   ${fmt(r.trees)}`);
    out("ok");
  });
}

async function cmdRollback(args: string[]): Promise<void> {
  const p = parseArgs(args, {});
  expectArgs(p, ["<dir>", "<height>"]);
  const height = heightArg(p.pos[1] as string);
  await withStore(p.pos[0] as string, (db) => {
    const from = db.height;
    db.rollback(height);
    const dropped = from - height;
    out(`rolled back from height ${fmt(from)} to ${fmt(height)}`);
    out(`  root     ${bytesToHex(db.root)}`);
    out(
      `  dropped  ${dropped === 0 ? "nothing" : dropped === 1 ? `height ${fmt(from)}` : `heights ${fmt(height + 1)}–${fmt(from)}`}`,
    );
  });
}

async function cmdGc(args: string[]): Promise<void> {
  const p = parseArgs(args, {});
  expectArgs(p, ["<dir>"]);
  await withStore(p.pos[0] as string, async (db) => {
    await db.checkpoint(); // every node on disk, so "before" counts them all once
    const before = db.stats().store;
    const t0 = performance.now();
    const res = await collectWithProgress((o) => db.collect(o));
    const ms = performance.now() - t0;
    const after = db.stats().store;
    out(`gc: removed ${fmt(res.removed)} nodes in ${(ms / 1000).toFixed(2)} s`);
    out(`  nodes         ${fmt(before.l2Nodes + before.l0Nodes)} before, ${fmt(after.l2Nodes + after.l0Nodes)} after`);
    out(`  scanned       ${fmt(res.scanned)}`);
    out(`  recompressed  ${fmt(res.recompressed)} (zstd)`);
    out(`  disk          ${fmtBytes(after.diskBytes)} (freed pages are reused; the file does not shrink)`);
  });
}

async function cmdRef(args: string[]): Promise<void> {
  const dir = args[0];
  const sub = args[1];
  if (dir === undefined || dir.startsWith("-")) throw new UsageError("missing <dir>");
  if (sub === undefined) throw new UsageError("missing ref command: list, set or delete");
  const rest = args.slice(2);
  if (sub === "list") {
    const p = parseArgs(rest, { json: "bool" });
    expectArgs(p, []);
    await withStore(dir, (db) => {
      const refs = [...db.refs()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      if (p.flags.has("json")) {
        out(JSON.stringify(Object.fromEntries(refs.map(([n, r]) => [n, bytesToHex(r)])), null, 2));
        return;
      }
      if (refs.length === 0) out("no refs");
      const w = Math.max(0, ...refs.map(([n]) => n.length));
      for (const [n, r] of refs) {
        const at = db.heights().filter((h) => equalBytes(db.rootAt(h), r));
        out(`${n.padEnd(w)}  ${bytesToHex(r)}${at.length > 0 ? `  = height ${at.join(", ")}` : ""}`);
      }
    });
  } else if (sub === "set") {
    const p = parseArgs(rest, {});
    expectArgs(p, ["<name>", "<version>"]);
    const [name, spec] = p.pos as [string, string];
    await withStore(dir, (db) => {
      const v = resolveVersion(db, spec);
      const prev = db.refs().get(name);
      db.setRef(name, v.root);
      out(`ref ${name} → ${bytesToHex(v.root)} (${v.label})${prev ? `, was ${bytesToHex(prev)}` : ", new"}`);
    });
  } else if (sub === "delete") {
    const p = parseArgs(rest, {});
    expectArgs(p, ["<name>"]);
    const name = p.pos[0] as string;
    await withStore(dir, (db) => {
      const prev = db.ref(name);
      db.deleteRef(name);
      out(`deleted ref ${name} (was ${bytesToHex(prev)})`);
    });
  } else {
    throw new UsageError(`unknown ref command ${sub}: list, set or delete`);
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<unknown>> = {
  init: cmdInit,
  stats: cmdStats,
  log: cmdLog,
  verify: cmdVerify,
  rollback: cmdRollback,
  gc: cmdGc,
  ref: cmdRef,
};

// ------------------------------------------------------------ errors

/** JSON for an error context: bytes as hex, bigints as strings. */
function contextJson(ctx: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(ctx, (_k, v: unknown) =>
    v instanceof Uint8Array ? bytesToHex(v) : typeof v === "bigint" ? v.toString() : v,
  );
}

/** Prints an error the way the CLI promises and returns the exit code. */
export function reportError(e: unknown, prog: string): number {
  if (e instanceof UsageError) {
    process.stderr.write(`${prog}: ${e.message}\n${STORE_USAGE}\n`);
    return 2;
  }
  if (isHeliosError(e)) {
    const prefix = `${e.code}: `;
    const msg = (e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message).replace(/\s*\n\s*/g, " ");
    const ctx = Object.keys(e.context).length > 0 ? ` ${contextJson(e.context)}` : "";
    process.stderr.write(`error ${e.code}: ${msg}${ctx}\n`);
    return 1;
  }
  process.stderr.write(`${prog}: internal error (a bug in Helios; please report it)\n`);
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return 70;
}

/** `helios store <args>`: runs one command and returns the process exit code. */
export async function storeMain(args: string[]): Promise<number> {
  const start = startGroup(args, STORE_USAGE);
  if (start === undefined) return 0;
  const { cmd, rest } = start;
  const run = cmd === undefined ? undefined : COMMANDS[cmd];
  try {
    if (run === undefined) {
      throw new UsageError(cmd === undefined ? "missing command" : `unknown command ${cmd}`);
    }
    const code = await run(rest);
    return typeof code === "number" ? code : 0;
  } catch (e) {
    return reportError(e, `helios store${run === undefined ? "" : ` ${cmd}`}`);
  }
}
