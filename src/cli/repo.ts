/**
 * cli/repo — branches from the command line: the git-like verbs at the top
 * level (`helios put|del|get|import|status|branch|checkout|commit|log|diff|
 * merge|tag|reset`) and the repository's upkeep under `helios repo`
 * (`init|prune|forget-commits|gc`). A thin shell over sandbox/repo.ts: every
 * rule (what a revision is, what may be merged, what a dirty branch refuses)
 * is the library's, reported by its codes (docs/spec/repo.md).
 *
 * Store and repository: every command takes `--store DIR` (or the
 * HELIOS_STORE environment variable; one of them is required, as the
 * snapshot commands require their `<store>`) and `--repo NAME` (default
 * "main"). The store must exist, except for `repo init`, which creates it in
 * a new or empty directory. Commit times come from Date.now and the author
 * from HELIOS_AUTHOR (default: the OS user name).
 *
 * Keys and values on the command line, in `import` files and in JSON output
 * are UTF-8 text, or `hex:` followed by an even number of hex digits for any
 * bytes. Output prints a byte string as text when it is valid UTF-8 without
 * control characters (and does not itself start with `hex:`), else as
 * `hex:…`, so whatever is printed can be typed back.
 *
 * Output: results on stdout (human text, or JSON with --json where offered);
 * progress and errors on stderr. Exit codes: 0 ok; 1 a coded HeliosError,
 * one line `error CODE: message {context}` (a failed merge first lists its
 * conflicts on stdout); 2 bad usage, one line `error INVALID_ARGUMENT: …`;
 * 70 a bug (printed with its stack).
 *
 * Invariants: every argument (and an `import` file) is checked before the
 * store is opened, so bad usage changes nothing; the store is opened once
 * per command and always closed (close checkpoints); each verb is one
 * library call, so it is atomic and durable when the command returns.
 * Costs: a command costs the store's open and close plus its verb; `diff`,
 * `status` and `commit` read only what changed (Merkle diff); `log` walks
 * parents; `repo gc` is one full mark-and-sweep cycle.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bytesToHex, HeliosError, hexToBytes, isHeliosError, utf8 } from "../core/index.js";
import type { StateDB, Writes } from "../history/index.js";
import { type Change, EMPTY_ROOT, type Op } from "../merkle/index.js";
import {
  type CommitInfo,
  type Conflict,
  type MergePolicy,
  type MergeResult,
  parseDuration,
  Repo,
  type TreeDiff,
  type TreeStat,
} from "../sandbox/index.js";
import { ArgError, argHelpers, fmt, out, type Parsed, withStore } from "./args.js";
import { collectWithProgress, Progress } from "./progress.js";
import { reportError, resolveVersion } from "./store.js";

// ------------------------------------------------------------ commands and usage

interface Command {
  /** "helios commit" or "helios repo gc". */
  prog: string;
  synopsis: string;
  help: string;
  /** Allowed long options (besides --store and --repo) and whether each takes a value. */
  spec: Record<string, "bool" | "value">;
  /** Short options, each an alias of a long one: "-m" → "message". */
  short?: Record<string, string>;
  run: (p: Parsed, ctx: Context) => Promise<number | undefined>;
}

/** What every command gets besides its arguments. */
interface Context {
  storeDir: string;
  repoName: string;
}

/** The top-level verbs (`helios commit …`) and the `helios repo …` commands. */
const VERBS: Record<string, Command> = {};
const UPKEEP: Record<string, Command> = {};

function verb(name: string, synopsis: string, help: string, c: Omit<Command, "prog" | "synopsis" | "help">): void {
  VERBS[name] = { prog: `helios ${name}`, synopsis: `${name} ${synopsis}`.trimEnd(), help, ...c };
}

function upkeep(name: string, synopsis: string, help: string, c: Omit<Command, "prog" | "synopsis" | "help">): void {
  UPKEEP[name] = { prog: `helios repo ${name}`, synopsis: `repo ${name} ${synopsis}`.trimEnd(), help, ...c };
}

function usageText(): string {
  const w = 44;
  const rows = [...Object.values(VERBS), ...Object.values(UPKEEP), { synopsis: "repo help", help: "this message" }].map(
    ({ synopsis, help }) =>
      synopsis.length <= w ? `  ${synopsis.padEnd(w)}  ${help}` : `  ${synopsis}\n  ${"".padEnd(w)}  ${help}`,
  );
  return `usage: helios <command> [args] [--store DIR] [--repo NAME]

${rows.join("\n")}

Every command takes --store DIR (or HELIOS_STORE) and --repo NAME (default main).
A revision is a branch, a tag or a commit-id prefix (6+ hex digits), optionally
followed by ~N (N first parents back); \`work\` is the current branch's working
state and \`<branch>:work\` another branch's. Keys and values are UTF-8 text or
hex:<hex digits>. Commit times come from the clock; the author from HELIOS_AUTHOR.
Progress is drawn on stderr when it is a terminal (HELIOS_PROGRESS=1 forces it, 0 turns it off).
Exit codes: 0 ok, 1 a coded error (error CODE: message), 2 bad usage
(error INVALID_ARGUMENT: …), 70 an internal error.`;
}

/** Bad usage: one line `error INVALID_ARGUMENT: …` on stderr, exit code 2. */

// ------------------------------------------------------------ arguments

const { parseArgs, expectArgs } = argHelpers((message, context) => new ArgError(message, context));

const COMMON: Record<string, "bool" | "value"> = { store: "value", repo: "value", help: "bool" };

/** Rewrites the command's short options to their long names (up to `--`). */
function expandShort(args: readonly string[], short: Record<string, string> = {}): string[] {
  const outArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") {
      outArgs.push(...args.slice(i));
      break;
    }
    if (a === "-h") outArgs.push("--help");
    else {
      const long = short[a];
      outArgs.push(long === undefined ? a : `--${long}`);
    }
  }
  return outArgs;
}

function value(p: Parsed, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

function intArg(what: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ArgError(`${what} must be an integer from ${fmt(min)} to ${fmt(max)}, not ${JSON.stringify(s)}`, {
      [what.replace(/^-+/, "")]: s,
    });
  }
  return n;
}

/** A key or value: UTF-8 text, or `hex:` and an even number of hex digits. */
function bytesArg(what: string, s: string): Uint8Array {
  if (!s.startsWith("hex:")) return utf8(s);
  const h = s.slice(4);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(h)) {
    throw new ArgError(`a ${what} after hex: is an even number of hex digits, not ${JSON.stringify(s)}`, {
      [what]: s,
    });
  }
  return hexToBytes(h.toLowerCase());
}

/** A duration (sandbox/retention.ts's rule: 7d, 12h, 30m, 45s, 2w, 1d12h) in ms; bad usage otherwise. */
function durationArg(what: string, s: string): number {
  try {
    return parseDuration(s);
  } catch (e) {
    if (!isHeliosError(e, "INVALID_ARGUMENT")) throw e;
    throw new ArgError(`${what} is a duration like 7d, 12h, 30m or 1d12h (units w d h m s), not ${JSON.stringify(s)}`, {
      [what.replace(/^-+/, "")]: s,
    });
  }
}

function policyArg(s: string | undefined): "fail" | "ours" | "theirs" {
  if (s === undefined) return "fail";
  if (s !== "fail" && s !== "ours" && s !== "theirs") {
    throw new ArgError(`--policy is fail, ours or theirs, not ${JSON.stringify(s)}`, { policy: s });
  }
  return s;
}

// ------------------------------------------------------------ output helpers

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Decoder = new TextDecoder();

/** A byte string as it is typed: text when that is unambiguous, else `hex:…`. */
export function showBytes(b: Uint8Array): string {
  try {
    const s = strictUtf8.decode(b);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is excluded
    if (!/[\u0000-\u001f\u007f]/.test(s) && !s.startsWith("hex:")) return s;
  } catch {
    // not UTF-8
  }
  return `hex:${bytesToHex(b)}`;
}

/** showBytes, cut to `max` characters for human output. */
function showShort(b: Uint8Array, max = 60): string {
  const s = showBytes(b);
  return s.length <= max ? s : `${s.slice(0, max)}… (${fmt(b.length)} bytes)`;
}

const SHORT_ID = 12;
const shortId = (id: Uint8Array) => bytesToHex(id).slice(0, SHORT_ID);
const firstLine = (s: string) => s.split("\n", 1)[0] ?? "";

function rows(list: readonly (readonly [string, string])[], indent = "  "): void {
  const w = Math.max(...list.map((r) => r[0].length));
  for (const [k, v] of list) out(`${indent}${k.padEnd(w)}  ${v}`);
}

function authorName(): string {
  const env = process.env.HELIOS_AUTHOR;
  if (env !== undefined) return env;
  try {
    return os.userInfo().username;
  } catch {
    return "";
  }
}

function commitJson(c: CommitInfo) {
  return {
    id: bytesToHex(c.id),
    parents: c.parents.map((p) => bytesToHex(p)),
    data: bytesToHex(c.data),
    time: c.time,
    date: new Date(c.time).toISOString(),
    author: c.author,
    message: c.message,
  };
}

/**
 * The changes from state `a` to `b` (revisions), tree by tree: the changed
 * trees from one forest diff, then one tree diff each, with a progress line
 * counting trees (a diff reads only what differs; its cost is the change).
 */
function diffWithProgress(repo: Repo, a: string, b: string): TreeDiff[] {
  const ra = repo.stateOf(a);
  const rb = repo.stateOf(b);
  const map = repo.db.map;
  const trees = map.diff(ra, rb);
  const bar = new Progress("diff", trees.length, { unit: "trees" });
  const result: TreeDiff[] = [];
  try {
    for (const t of trees) {
      result.push({
        tree: utf8Decoder.decode(t.key),
        changes: map.diff(t.before ?? EMPTY_ROOT, t.after ?? EMPTY_ROOT),
      });
      bar.update(result.length);
    }
  } finally {
    bar.done();
  }
  return result;
}

function statOf(d: TreeDiff): TreeStat {
  let added = 0;
  let removed = 0;
  let modified = 0;
  let bytesDelta = 0;
  for (const c of d.changes) {
    if (c.before === undefined) added++;
    else if (c.after === undefined) removed++;
    else modified++;
    bytesDelta += (c.after?.length ?? 0) - (c.before?.length ?? 0);
  }
  return { tree: d.tree, added, removed, modified, bytesDelta };
}

function totalOf(stats: readonly TreeStat[]): Omit<TreeStat, "tree"> & { trees: number } {
  const t = { trees: stats.length, added: 0, removed: 0, modified: 0, bytesDelta: 0 };
  for (const s of stats) {
    t.added += s.added;
    t.removed += s.removed;
    t.modified += s.modified;
    t.bytesDelta += s.bytesDelta;
  }
  return t;
}

const signed = (n: number) => (n > 0 ? `+${fmt(n)}` : n < 0 ? `-${fmt(-n)}` : "±0");

function statLine(s: Omit<TreeStat, "tree">): string {
  return `${fmt(s.added)} added, ${fmt(s.removed)} removed, ${fmt(s.modified)} modified, ${signed(s.bytesDelta)} bytes`;
}

/** The `--stat` table: one line per tree, then the totals. */
function printStat(stats: readonly TreeStat[], indent = " "): void {
  const w = Math.max(0, ...stats.map((s) => s.tree.length));
  for (const s of stats) out(`${indent}${s.tree.padEnd(w)} | ${statLine(s)}`);
  const t = totalOf(stats);
  out(`${indent}${fmt(t.trees)} tree${t.trees === 1 ? "" : "s"} changed: ${statLine(t)}`);
}

function changeJson(c: Change) {
  return {
    key: showBytes(c.key),
    before: c.before === undefined ? null : showBytes(c.before),
    after: c.after === undefined ? null : showBytes(c.after),
  };
}

/** A revision as headers and JSON name it: `work` becomes `<current branch>:work`; others stay as given. */
function revLabel(repo: Repo, rev: string): string {
  if (rev === "work") return `${repo.current}:work`;
  return rev;
}

// ------------------------------------------------------------ running a command

function storeOf(p: Parsed): string {
  const s = value(p, "store") ?? process.env.HELIOS_STORE;
  if (s === undefined || s === "") throw new ArgError("no store: pass --store DIR or set HELIOS_STORE");
  return s;
}

async function withRepo<T>(ctx: Context, fn: (repo: Repo, db: StateDB) => Promise<T> | T): Promise<T> {
  return withStore(ctx.storeDir, (db) =>
    fn(Repo.open(db, { name: ctx.repoName, clock: Date.now, author: authorName() }), db),
  );
}

async function runCommand(
  c: Command | undefined,
  name: string | undefined,
  args: readonly string[],
  group: string,
): Promise<number> {
  const prog = c?.prog ?? group;
  try {
    if (c === undefined) {
      throw name === undefined
        ? new ArgError("missing command")
        : new ArgError(`unknown command ${name}`, { command: name });
    }
    const p = parseArgs(expandShort(args, c.short), { ...COMMON, ...c.spec });
    if (p.flags.has("help")) {
      out(`usage: helios ${c.synopsis} [--store DIR] [--repo NAME]\n\n${c.help}`);
      return 0;
    }
    const ctx: Context = { storeDir: storeOf(p), repoName: value(p, "repo") ?? "main" };
    return (await c.run(p, ctx)) ?? 0;
  } catch (e) {
    if (e instanceof ArgError) {
      const hint = c === undefined ? "helios repo help lists the commands" : `usage: helios ${c.synopsis}`;
      const ctx = Object.keys(e.context).length > 0 ? ` ${JSON.stringify(e.context)}` : "";
      process.stderr.write(`error INVALID_ARGUMENT: ${prog}: ${e.message} (${hint})${ctx}\n`);
      return 2;
    }
    return reportError(e, prog);
  }
}

// ------------------------------------------------------------ writes: put, del, get, import

verb("put", "<tree> <key> <value>", "write a key in the current branch's working state (durable, uncommitted)", {
  spec: {},
  run: async (p, ctx) => {
    expectArgs(p, ["<tree>", "<key>", "<value>"]);
    const [tree, k, v] = p.pos as [string, string, string];
    const key = bytesArg("key", k);
    const val = bytesArg("value", v);
    await withRepo(ctx, (repo) => repo.put(tree, key, val));
    return 0;
  },
});

verb("del", "<tree> <key>", "delete a key from the current branch's working state (no-op if absent)", {
  spec: {},
  run: async (p, ctx) => {
    expectArgs(p, ["<tree>", "<key>"]);
    const [tree, k] = p.pos as [string, string];
    const key = bytesArg("key", k);
    await withRepo(ctx, (repo) => repo.delete(tree, key));
    return 0;
  },
});

verb("get", "<tree> <key> [--rev REV]", "print a key's value in the working state (or at REV); exit 1 if absent", {
  spec: { rev: "value" },
  run: async (p, ctx) => {
    expectArgs(p, ["<tree>", "<key>"]);
    const [tree, k] = p.pos as [string, string];
    const key = bytesArg("key", k);
    const rev = value(p, "rev") ?? "work";
    await withRepo(ctx, (repo) => {
      const v = repo.get(tree, key, rev);
      if (v === undefined) {
        throw new HeliosError("REPO_KEY_NOT_FOUND", { tree, key: showBytes(key), rev: revLabel(repo, rev) });
      }
      out(showBytes(v));
    });
    return 0;
  },
});

/** Reads and checks an import file: {tree: {key: value | null}}; null deletes. */
function readImport(file: string): { writes: Map<string, Op[]>; puts: number; deletes: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    const why = e instanceof SyntaxError ? "is not JSON" : `cannot be read (${(e as NodeJS.ErrnoException).code ?? e})`;
    throw new ArgError(`${file} ${why}`, { file });
  }
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObject(doc)) throw new ArgError(`${file} must hold one JSON object {tree: {key: value | null}}`, { file });
  const writes = new Map<string, Op[]>();
  let puts = 0;
  let deletes = 0;
  for (const [tree, kv] of Object.entries(doc)) {
    if (!isObject(kv)) {
      throw new ArgError(`${file}: tree ${JSON.stringify(tree)} must map keys to values (strings) or null`, {
        file,
        tree,
      });
    }
    const ops: Op[] = [];
    for (const [k, v] of Object.entries(kv)) {
      if (v !== null && typeof v !== "string") {
        throw new ArgError(
          `${file}: the value of ${JSON.stringify(k)} in ${JSON.stringify(tree)} must be a string or null`,
          {
            file,
            tree,
            key: k,
          },
        );
      }
      if (v === null) deletes++;
      else puts++;
      ops.push({ key: bytesArg("key", k), value: v === null ? null : bytesArg("value", v) });
    }
    if (ops.length > 0) writes.set(tree, ops);
  }
  return { writes, puts, deletes };
}

verb("import", "<file.json>", "apply {tree: {key: value|null}} to the working state as ONE durable write", {
  spec: {},
  run: async (p, ctx) => {
    expectArgs(p, ["<file.json>"]);
    const file = p.pos[0] as string;
    const { writes, puts, deletes } = readImport(file);
    await withRepo(ctx, (repo) => {
      if (writes.size > 0) repo.write(writes as Writes);
      out(
        `imported ${fmt(puts)} put${puts === 1 ? "" : "s"} and ${fmt(deletes)} delete${deletes === 1 ? "" : "s"} in ${fmt(writes.size)} tree${writes.size === 1 ? "" : "s"} into the working state of ${repo.current} (one write)`,
      );
    });
    return 0;
  },
});

// ------------------------------------------------------------ status, branch, checkout, commit

verb("status", "[--json]", "the current branch, clean or dirty, and the diff --stat of its working state", {
  spec: { json: "bool" },
  run: async (p, ctx) => {
    expectArgs(p, []);
    await withRepo(ctx, (repo) => {
      const b = repo.current;
      const head = repo.branchHead(b);
      const stats = diffWithProgress(repo, b, "work").map(statOf);
      if (p.flags.has("json")) {
        out(
          JSON.stringify(
            { branch: b, head: bytesToHex(head), dirty: stats.length > 0, stat: stats, total: totalOf(stats) },
            null,
            2,
          ),
        );
        return;
      }
      out(`on branch ${b}, head ${shortId(head)} ${firstLine(repo.commit(head).message)}`);
      if (stats.length === 0) {
        out("working state clean (equal to the head commit's state)");
        return;
      }
      out("working state dirty: uncommitted changes against the head");
      printStat(stats, "  ");
    });
    return 0;
  },
});

verb(
  "branch",
  "[NAME [--from REV]] [-d|-D NAME] [--json]",
  "list branches (* current, dirty marked), create one (O(1); from a branch it carries the working state), or delete one (-D discards uncommitted writes)",
  {
    spec: { from: "value", delete: "value", "force-delete": "value", json: "bool" },
    short: { "-d": "delete", "-D": "force-delete" },
    run: async (p, ctx) => {
      const del = value(p, "delete");
      const force = value(p, "force-delete");
      const from = value(p, "from");
      if (del !== undefined && force !== undefined) throw new ArgError("-d and -D exclude each other");
      const gone = del ?? force;
      if (gone !== undefined) {
        expectArgs(p, []);
        if (from !== undefined) throw new ArgError("--from applies when creating a branch, not with -d/-D");
        await withRepo(ctx, (repo) => {
          const head = repo.branchHead(gone);
          const dirty = repo.isDirty(gone);
          repo.deleteBranch(gone, { force: force !== undefined });
          out(`deleted branch ${gone} (was ${shortId(head)})${dirty ? "; its uncommitted writes were discarded" : ""}`);
        });
        return 0;
      }
      expectArgs(p, ["[NAME]"], 1);
      const name = p.pos[0];
      if (name === undefined) {
        if (from !== undefined) throw new ArgError("--from needs the NAME of the branch to create");
        await withRepo(ctx, (repo) => {
          const list = repo.branches();
          if (p.flags.has("json")) {
            out(
              JSON.stringify(
                list.map((b) => ({ name: b.name, head: bytesToHex(b.head), current: b.current, dirty: b.dirty })),
                null,
                2,
              ),
            );
            return;
          }
          const w = Math.max(...list.map((b) => b.name.length));
          for (const b of list) {
            const msg = firstLine(repo.commit(b.head).message);
            out(
              `${b.current ? "*" : " "} ${b.name.padEnd(w)}  ${shortId(b.head)}  ${b.dirty ? "dirty" : "clean"}  ${msg}`,
            );
          }
        });
        return 0;
      }
      if (p.flags.has("json")) throw new ArgError("--json applies to the branch list");
      await withRepo(ctx, (repo) => {
        const src = from ?? repo.current;
        const fromBranch = repo.branchNames().includes(src);
        const head = repo.branch(name, from === undefined ? {} : { from });
        out(`created branch ${name} at ${shortId(head)}`);
        out(
          fromBranch
            ? `  from branch ${src}, with a copy of its working state${repo.isDirty(name) ? " (uncommitted writes included)" : ""}`
            : `  from ${src}: that commit's state`,
        );
      });
      return 0;
    },
  },
);

verb("checkout", "<NAME> [-b]", "make NAME the current branch (-b: create it first); no working state is touched", {
  spec: { create: "bool" },
  short: { "-b": "create" },
  run: async (p, ctx) => {
    expectArgs(p, ["<NAME>"]);
    const name = p.pos[0] as string;
    await withRepo(ctx, (repo) => {
      const create = p.flags.has("create");
      repo.checkout(name, { create });
      out(`switched to ${create ? "a new " : ""}branch ${name}`);
      if (repo.isDirty(name)) out("  its working state has uncommitted writes (see helios status)");
    });
    return 0;
  },
});

verb("commit", "-m MSG [--allow-empty]", "commit the current branch's working state", {
  spec: { message: "value", "allow-empty": "bool" },
  short: { "-m": "message" },
  run: async (p, ctx) => {
    expectArgs(p, []);
    const message = p.flags.get("message");
    if (typeof message !== "string") throw new ArgError("missing -m MSG (the commit message)");
    await withRepo(ctx, (repo) => {
      const b = repo.current;
      const stats = diffWithProgress(repo, b, "work").map(statOf);
      const id = repo.commitWork(message, { allowEmpty: p.flags.has("allow-empty") });
      out(`[${b} ${shortId(id)}] ${firstLine(message)}`);
      if (stats.length === 0) out(" no changes (empty commit)");
      else printStat(stats);
    });
    return 0;
  },
});

// ------------------------------------------------------------ log, diff

verb("log", "[REV] [-n N] [--json]", "commits reachable from REV (default: the current branch), newest first", {
  spec: { "max-count": "value", json: "bool" },
  short: { "-n": "max-count" },
  run: async (p, ctx) => {
    expectArgs(p, ["[REV]"], 1);
    const n = value(p, "max-count");
    const limit = n === undefined ? Number.POSITIVE_INFINITY : intArg("-n", n, 1, 1_000_000_000);
    await withRepo(ctx, (repo) => {
      const list = repo.log(p.pos[0] ?? repo.current, limit);
      if (p.flags.has("json")) {
        out(JSON.stringify(list.map(commitJson), null, 2));
        return;
      }
      // decorations: which branches and tags point at each commit
      const marks = new Map<string, string[]>();
      const mark = (id: Uint8Array, s: string) => {
        const k = bytesToHex(id);
        marks.set(k, [...(marks.get(k) ?? []), s]);
      };
      const cur = repo.current;
      for (const b of repo.branchNames()) mark(repo.branchHead(b), b === cur ? `HEAD -> ${b}` : b);
      for (const t of repo.tags()) mark(t.commit, `tag: ${t.name}`);
      list.forEach((c, i) => {
        if (i > 0) out("");
        const m = marks.get(bytesToHex(c.id));
        out(`commit ${bytesToHex(c.id)}${m === undefined ? "" : ` (${m.join(", ")})`}`);
        if (c.parents.length > 1) out(`Merge:  ${c.parents.map(shortId).join(" ")}`);
        if (c.author !== "") out(`Author: ${c.author}`);
        out(`Date:   ${new Date(c.time).toISOString()}`);
        out("");
        for (const line of c.message.split("\n")) out(`    ${line}`);
      });
    });
    return 0;
  },
});

verb(
  "diff",
  "[A [B]] [--stat] [--json]",
  "changes from A to B (default: the head commit to the working state); reads only what differs",
  {
    spec: { stat: "bool", json: "bool" },
    run: async (p, ctx) => {
      expectArgs(p, ["[A]", "[B]"], 2);
      await withRepo(ctx, (repo) => {
        const a = p.pos[0] ?? repo.current;
        const b = p.pos[1] ?? "work";
        const diffs = diffWithProgress(repo, a, b);
        const stats = diffs.map(statOf);
        const head = { from: revLabel(repo, a), to: revLabel(repo, b) };
        if (p.flags.has("json")) {
          const roots = { fromRoot: bytesToHex(repo.stateOf(a)), toRoot: bytesToHex(repo.stateOf(b)) };
          out(
            JSON.stringify(
              p.flags.has("stat")
                ? { ...head, ...roots, stat: stats, total: totalOf(stats) }
                : {
                    ...head,
                    ...roots,
                    trees: diffs.map((d) => ({ tree: d.tree, changes: d.changes.map(changeJson) })),
                  },
              null,
              2,
            ),
          );
          return;
        }
        if (p.flags.has("stat")) {
          printStat(stats);
          return;
        }
        out(`diff ${head.from} → ${head.to}`);
        for (const d of diffs) {
          out(`--- tree ${d.tree}`);
          for (const c of d.changes) {
            if (c.before === undefined) out(`+ ${showShort(c.key)} = ${showShort(c.after as Uint8Array)}`);
            else if (c.after === undefined) out(`- ${showShort(c.key)} (was ${showShort(c.before)})`);
            else out(`~ ${showShort(c.key)}: ${showShort(c.before)} → ${showShort(c.after)}`);
          }
        }
        const t = totalOf(stats);
        out(t.trees === 0 ? "no changes" : `${fmt(t.trees)} tree${t.trees === 1 ? "" : "s"} changed: ${statLine(t)}`);
      });
      return 0;
    },
  },
);

// ------------------------------------------------------------ merge, tag, reset

function conflictLine(c: Conflict): string {
  const v = (x: Uint8Array | undefined) => (x === undefined ? "(deleted)" : showShort(x, 30));
  return `${c.tree} ${showShort(c.key)}  (base ${c.base === undefined ? "(absent)" : showShort(c.base, 30)}, ours ${v(c.ours)}, theirs ${v(c.theirs)})`;
}

/** Every conflict a merge of `rev` into the current branch would meet (for the report of a failed merge). */
function conflictsOf(repo: Repo, rev: string): Conflict[] {
  return repo.previewMerge(rev).conflicts;
}

function mergeJson(r: MergeResult) {
  return {
    kind: r.kind,
    commit: bytesToHex(r.commit),
    base: r.base === undefined ? null : bytesToHex(r.base),
    conflicts: r.conflicts.length,
    conflictKeys: r.conflicts.map((c) => ({ tree: c.tree, key: showBytes(c.key) })),
    taken: r.taken,
  };
}

verb(
  "merge",
  "<REV> [--policy fail|ours|theirs] [--no-ff] [--allow-unrelated] [-m MSG] [--json]",
  "3-way merge of REV into the current branch; policy fail (default) stops on conflicts and changes nothing",
  {
    spec: { policy: "value", "no-ff": "bool", "allow-unrelated": "bool", message: "value", json: "bool" },
    short: { "-m": "message" },
    run: async (p, ctx) => {
      expectArgs(p, ["<REV>"]);
      const rev = p.pos[0] as string;
      const policy: MergePolicy = policyArg(value(p, "policy"));
      const message = value(p, "message");
      await withRepo(ctx, (repo) => {
        const b = repo.current;
        let r: MergeResult;
        try {
          r = repo.merge(rev, {
            policy,
            noFastForward: p.flags.has("no-ff"),
            allowUnrelated: p.flags.has("allow-unrelated"),
            ...(message === undefined ? {} : { message }),
          });
        } catch (e) {
          if (isHeliosError(e, "REPO_MERGE_CONFLICT")) {
            const cs = conflictsOf(repo, rev);
            if (p.flags.has("json")) {
              out(
                JSON.stringify(
                  {
                    kind: "conflict",
                    conflicts: cs.length,
                    conflictKeys: cs.map((c) => ({ tree: c.tree, key: showBytes(c.key) })),
                  },
                  null,
                  2,
                ),
              );
            } else {
              out(`merge ${rev} into ${b}: ${fmt(cs.length)} conflict${cs.length === 1 ? "" : "s"}, nothing changed`);
              for (const c of cs) out(`  ${conflictLine(c)}`);
              out("merge again with --policy ours or --policy theirs to settle them");
            }
          }
          throw e;
        }
        if (p.flags.has("json")) {
          out(JSON.stringify(mergeJson(r), null, 2));
          return;
        }
        out(`merge ${rev} into ${b}: ${r.kind}`);
        const list: [string, string][] = [
          ["commit", bytesToHex(r.commit)],
          ["base", r.base === undefined ? "none (history forgotten: merged from the empty state)" : bytesToHex(r.base)],
        ];
        if (r.kind === "merged") {
          list.push(
            [
              "conflicts",
              r.conflicts.length === 0 ? "none" : `${fmt(r.conflicts.length)}, settled by policy ${policy}`,
            ],
            ["taken", `${fmt(r.taken)} key${r.taken === 1 ? "" : "s"} from ${rev} without conflict`],
          );
        }
        rows(list);
        for (const c of r.conflicts) out(`    ${conflictLine(c)}`);
      });
      return 0;
    },
  },
);

verb(
  "tag",
  "[NAME [REV] [-m MSG] [--force]] [-d NAME] [--json]",
  "list tags, tag REV (default: the current branch's head; --force moves an existing tag), or delete one",
  {
    spec: { message: "value", force: "bool", delete: "value", json: "bool" },
    short: { "-m": "message", "-d": "delete" },
    run: async (p, ctx) => {
      const del = value(p, "delete");
      const message = value(p, "message");
      if (del !== undefined) {
        expectArgs(p, []);
        if (message !== undefined || p.flags.has("force")) throw new ArgError("-d takes no -m or --force");
        await withRepo(ctx, (repo) => {
          const was = repo.tags().find((t) => t.name === del);
          repo.deleteTag(del);
          out(`deleted tag ${del}${was === undefined ? "" : ` (was ${shortId(was.commit)})`}`);
        });
        return 0;
      }
      expectArgs(p, ["[NAME]", "[REV]"], 2);
      const [name, rev] = p.pos;
      if (name === undefined) {
        if (message !== undefined || p.flags.has("force")) throw new ArgError("-m and --force need the NAME of a tag");
        await withRepo(ctx, (repo) => {
          const list = repo.tags();
          if (p.flags.has("json")) {
            out(
              JSON.stringify(
                list.map((t) => ({ name: t.name, commit: bytesToHex(t.commit), message: t.message })),
                null,
                2,
              ),
            );
            return;
          }
          if (list.length === 0) out("no tags");
          const w = Math.max(0, ...list.map((t) => t.name.length));
          for (const t of list)
            out(`${t.name.padEnd(w)}  ${shortId(t.commit)}${t.message ? `  ${firstLine(t.message)}` : ""}`);
        });
        return 0;
      }
      if (p.flags.has("json")) throw new ArgError("--json applies to the tag list");
      await withRepo(ctx, (repo) => {
        const existed = repo.tags().some((t) => t.name === name);
        const id = repo.tag(name, rev ?? repo.current, {
          force: p.flags.has("force"),
          ...(message === undefined ? {} : { message }),
        });
        out(`${existed ? "moved" : "created"} tag ${name} at ${shortId(id)} ${firstLine(repo.commit(id).message)}`);
      });
      return 0;
    },
  },
);

verb(
  "reset",
  "<REV> [--hard]",
  "move the current branch's head to REV; --hard also sets the working state to REV's, discarding uncommitted writes",
  {
    spec: { hard: "bool" },
    run: async (p, ctx) => {
      expectArgs(p, ["<REV>"]);
      const rev = p.pos[0] as string;
      await withRepo(ctx, (repo) => {
        const b = repo.current;
        const was = repo.branchHead(b);
        const id = repo.reset(rev, { hard: p.flags.has("hard") });
        out(`${b} is now at ${shortId(id)} ${firstLine(repo.commit(id).message)} (was ${shortId(was)})`);
        out(
          p.flags.has("hard")
            ? "  working state reset to that commit's state"
            : `  working state kept: ${repo.isDirty(b) ? "it differs from the new head (see helios status)" : "clean"}`,
        );
      });
      return 0;
    },
  },
);

// ------------------------------------------------------------ helios repo: init, prune, forget-commits, gc

upkeep(
  "init",
  "[--from VERSION] [--branch NAME]",
  "create the repository (and the store, in a new or empty directory); VERSION: a retained height, ref or 64-hex root",
  {
    spec: { from: "value", branch: "value" },
    run: async (p, ctx) => {
      expectArgs(p, []);
      const from = value(p, "from");
      const branch = value(p, "branch") ?? "main";
      await withStore(
        ctx.storeDir,
        (db) => {
          const v = from === undefined ? undefined : resolveVersion(db, from);
          const repo = Repo.init(db, {
            name: ctx.repoName,
            clock: Date.now,
            author: authorName(),
            branch,
            ...(v === undefined ? {} : { from: v.root, message: `init from ${v.label}` }),
          });
          const head = repo.branchHead(branch);
          out(`initialised repository ${repo.name} in ${path.resolve(ctx.storeDir)}`);
          rows([
            ["branch", branch],
            ["commit", bytesToHex(head)],
            ["state", `${bytesToHex(repo.commit(head).data)} (${v === undefined ? "empty" : v.label})`],
          ]);
        },
        true,
      );
      return 0;
    },
  },
);

const ids = (xs: readonly Uint8Array[]) =>
  xs.length <= 20
    ? xs.map(shortId).join(", ")
    : `${xs.slice(0, 20).map(shortId).join(", ")}, … (${fmt(xs.length)} in all)`;

upkeep("prune", "[--dry-run]", "drop commits no branch or tag reaches (then helios repo gc reclaims their states)", {
  spec: { "dry-run": "bool" },
  run: async (p, ctx) => {
    expectArgs(p, []);
    const dryRun = p.flags.has("dry-run");
    await withRepo(ctx, (repo) => {
      const gone = repo.prune({ dryRun });
      const n = gone.length;
      if (n === 0) out("nothing to prune: every commit is reachable from a branch or tag");
      else out(`${dryRun ? "would prune" : "pruned"} ${fmt(n)} commit${n === 1 ? "" : "s"}: ${ids(gone)}`);
    });
    return 0;
  },
});

upkeep(
  "forget-commits",
  "[--keep-last N] [--keep-within D] [--dry-run]",
  "per branch, keep the head, the newest N commits and those within D (7d, 12h, 30m); drop older history",
  {
    spec: { "keep-last": "value", "keep-within": "value", "dry-run": "bool" },
    run: async (p, ctx) => {
      expectArgs(p, []);
      const kl = value(p, "keep-last");
      const kw = value(p, "keep-within");
      if (kl === undefined && kw === undefined) {
        throw new ArgError("give --keep-last N and/or --keep-within D (what to keep; the rest is forgotten)");
      }
      const keepLast = kl === undefined ? undefined : intArg("--keep-last", kl, 0, 1_000_000_000);
      const keepWithinMs = kw === undefined ? undefined : durationArg("--keep-within", kw);
      const dryRun = p.flags.has("dry-run");
      await withRepo(ctx, (repo) => {
        const r = repo.forget(
          { ...(keepLast === undefined ? {} : { keepLast }), ...(keepWithinMs === undefined ? {} : { keepWithinMs }) },
          { now: Date.now(), dryRun },
        );
        const n = r.forgotten.length;
        out(`kept ${fmt(r.kept.length)} commit${r.kept.length === 1 ? "" : "s"}`);
        if (n === 0) out("nothing to forget");
        else {
          out(`${dryRun ? "would forget" : "forgot"} ${fmt(n)} commit${n === 1 ? "" : "s"}: ${ids(r.forgotten)}`);
          if (!dryRun) out("run helios repo gc to reclaim the states only they kept");
        }
      });
      return 0;
    },
  },
);

upkeep("gc", "", "prune unreachable commits, then collect every node no version keeps (one mark-and-sweep cycle)", {
  spec: {},
  run: async (p, ctx) => {
    expectArgs(p, []);
    await withRepo(ctx, async (repo, db) => {
      const pruned = repo.prune();
      await db.checkpoint(); // every node on disk, so "before" counts each once
      const before = db.stats().store;
      const t0 = performance.now();
      const res = await collectWithProgress((o) => db.collect(o));
      const ms = performance.now() - t0;
      const after = db.stats().store;
      out(`pruned ${fmt(pruned.length)} unreachable commit${pruned.length === 1 ? "" : "s"}`);
      out(`gc: removed ${fmt(res.removed)} nodes in ${(ms / 1000).toFixed(2)} s`);
      rows([
        ["nodes", `${fmt(before.l2Nodes + before.l0Nodes)} before, ${fmt(after.l2Nodes + after.l0Nodes)} after`],
        ["scanned", fmt(res.scanned)],
      ]);
    });
    return 0;
  },
});

// ------------------------------------------------------------ entry points

export const REPO_USAGE = usageText();

/** The top-level verbs this module serves (`helios <verb> …`). */
export const BRANCH_VERBS: ReadonlySet<string> = new Set(Object.keys(VERBS));

/** `helios <verb> <args>` for a verb in BRANCH_VERBS: runs it and returns the process exit code. */
export async function branchVerbMain(name: string, args: string[]): Promise<number> {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  return runCommand(VERBS[name], name, args, `helios ${name}`);
}

/** `helios repo <args>`: runs one upkeep command and returns the process exit code. */
export async function repoMain(args: string[]): Promise<number> {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
  const [cmd, ...rest] = args;
  if (cmd === "help" || cmd === "--help" || cmd === "-h") {
    out(REPO_USAGE);
    return 0;
  }
  // `helios repo --store DIR` names no command
  const name = cmd === undefined || cmd.startsWith("-") ? undefined : cmd;
  return runCommand(name === undefined ? undefined : UPKEEP[name], name, rest, "helios repo");
}
