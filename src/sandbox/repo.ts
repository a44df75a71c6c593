/**
 * sandbox/repo — branches with git-like verbs over the versioned store:
 * branch, checkout, commit, log, diff, merge, tag, reset (docs/spec/repo.md).
 *
 * Layout in one StateDB, for a repository named N:
 *   ref `repo/N`            the repository's metadata version, with trees
 *       `commits`   id → commit record (sandbox/commit.ts)
 *       `branches`  name → head commit id
 *       `tags`      name → tag record
 *       `head`      "HEAD" → the checked-out branch's name
 *       `hll`       branch → HyperLogLog of the keys its commits changed
 *       `@live`     data root ‖ commit id: keeps every commit's state alive
 *                   (history/state.ts keep-alive links)
 *   ref `repo/N/work/<branch>`  the branch's working state: its head
 *       commit's state plus uncommitted writes, durable (each write is a
 *       logged commit on this ref, so a crash loses nothing acknowledged).
 *
 * Working state (R5–R8): every branch has its own. Writes go to the checked
 * out branch's; `checkout` never touches any working state, so switching
 * branches cannot drop a write. Forking a branch (`branch(new)` from a
 * branch) copies its working state, uncommitted writes included, in O(1):
 * both sides then hold the writes, and each goes on independently. The only
 * calls that discard uncommitted writes say so: `reset(rev, { hard: true })`
 * and `deleteBranch(name, { force: true })`; every other call that would
 * have to (merge, deleting a dirty branch) refuses with REPO_DIRTY.
 *
 * Two refs, one step (R9a): reset --hard and merges change a head and a
 * working state; they write their intent (`pending` tree) first, and
 * `open` (and every writing call) finishes an intent a crash interrupted,
 * so a crash at any record boundary reopens as all-before or all-after.
 *
 * Invariants: every change to the metadata is one logged commit on its ref
 * (atomic and durable when the call returns); a commit's id is the hash of
 * its canonical record (commit.ts), so equal inputs and clock give equal ids;
 * every commit in `commits` is live (its data is never collected) until
 * `prune` drops commits no branch or tag reaches.
 * Costs: branch = two small log records and one fsync, independent of the
 * state's size;
 * commit = one; a working write = the tree updates + one log record; diff
 * and merge are proportional to the change (Merkle diff); log walks parents.
 */
import { bytesToHex, concatBytes, equalBytes, HeliosError, hexToBytes, HyperLogLog, utf8 } from "../core/index.js";
import { LIVE_TREE, type StateDB, type Writes } from "../history/index.js";
import { type Change, EMPTY_ROOT, isEmptyRoot, type Op } from "../merkle/index.js";
import {
  type Commit,
  commitId,
  decodeBranch,
  decodeCommit,
  decodePending,
  decodeTag,
  encodeBranch,
  encodeCommit,
  encodePending,
  encodeTag,
  type Tag,
} from "./commit.js";
import { type Conflict, checkPolicy, type MergePlan, type MergePolicy, planMerge } from "./merge.js";

export interface RepoOptions {
  /** The repository's name in the store (default "main"): refs `repo/<name>` and `repo/<name>/work/*`. */
  name?: string;
  /** Milliseconds since the epoch, for commit times (the CLI passes Date.now; tests pass a fake clock). */
  clock: () => number;
  /** The author recorded in commits (default ""). */
  author?: string;
}

export interface InitOptions extends RepoOptions {
  /** The state of the first commit: a live version of the store (default: empty). */
  from?: Uint8Array;
  /** The first branch (default "main"). */
  branch?: string;
  message?: string;
}

export interface CommitInfo extends Commit {
  readonly id: Uint8Array;
}

export interface BranchInfo {
  readonly name: string;
  readonly head: Uint8Array;
  /** True when the working state differs from the head commit's state. */
  readonly dirty: boolean;
  readonly current: boolean;
}

export interface TreeStat {
  readonly tree: string;
  readonly added: number;
  readonly removed: number;
  readonly modified: number;
  /** Value bytes after minus before, summed over the tree's changes. */
  readonly bytesDelta: number;
}

export interface TreeDiff {
  readonly tree: string;
  readonly changes: Change[];
}

export interface MergeResult {
  /** "up-to-date": nothing to do; "fast-forward": the branch moved to theirs; "merged": a merge commit. */
  readonly kind: "up-to-date" | "fast-forward" | "merged";
  readonly commit: Uint8Array;
  readonly base: Uint8Array | undefined;
  readonly conflicts: Conflict[];
  readonly taken: number;
}

const T_COMMITS = "commits";
const T_BRANCHES = "branches";
const T_TAGS = "tags";
const T_HEAD = "head";
const T_HLL = "hll";
const T_PENDING = "pending";
const HEAD_KEY = utf8("HEAD");
/** 2^12 one-byte registers: 4 KiB per branch, ±1.6 % standard error. */
const HLL_PRECISION = 12;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;
const MAX_NAME = 64;
const dec = new TextDecoder();

/** Names `get`/`diff` read as working states, so no branch or tag may take them. */
const RESERVED = new Set(["work", "HEAD"]);
const MAX_REPO_NAME = 32;

function checkName(kind: "branch" | "tag" | "repository", name: unknown): string {
  const max = kind === "repository" ? MAX_REPO_NAME : MAX_NAME;
  if (
    typeof name !== "string" ||
    name.length === 0 ||
    name.length > max ||
    RESERVED.has(name) ||
    (kind === "repository" && name.includes("/")) ||
    !NAME_RE.test(name) ||
    name.includes("..") ||
    name.includes("//") ||
    name.endsWith("/") ||
    name.endsWith(".") ||
    /^[0-9a-f]{6,64}$/.test(name)
  ) {
    throw new HeliosError(
      "REPO_NAME_INVALID",
      { kind, name: String(name) },
      `a ${kind} name is 1–${max} characters of A–Z a–z 0–9 . _ ${kind === "repository" ? "" : "/ "}-, not starting with . / or -, without ".." or "//", not ending in / or ., not "work" or "HEAD", and not 6+ lowercase hex digits (that reads as a commit id)`,
    );
  }
  return name;
}

function link(data: Uint8Array, id: Uint8Array): Uint8Array {
  return concatBytes(data, id);
}

export class Repo {
  readonly db: StateDB;
  readonly name: string;
  private readonly clock: () => number;
  private readonly author: string;
  private readonly metaRef: string;

  private constructor(db: StateDB, opts: RepoOptions) {
    this.db = db;
    this.name = checkName("repository", opts.name ?? "main");
    this.clock = opts.clock;
    this.author = opts.author ?? "";
    this.metaRef = `repo/${this.name}`;
  }

  /** Creates a repository with one branch whose first commit holds `from` (default: the empty state). */
  static init(db: StateDB, opts: InitOptions): Repo {
    const repo = new Repo(db, opts);
    // a metadata ref without HEAD is an init a crash cut short (its records are a prefix of init's): redo it
    if (db.refs().has(repo.metaRef) && repo.initialised()) throw new HeliosError("REPO_EXISTS", { name: repo.name });
    const branch = checkName("branch", opts.branch ?? "main");
    const data = opts.from ?? EMPTY_ROOT;
    if (!db.isLive(data)) throw new HeliosError("ROOT_NOT_LIVE", { root: bytesToHex(data) });
    const c: Commit = { data, parents: [], time: repo.timeOf(), author: repo.author, message: opts.message ?? "init" };
    const enc = encodeCommit(c);
    const id = commitId(enc);
    // the work ref first: a crash before the metadata leaves an orphan that open() removes
    // unsynced: the metadata commit below is fsynced, and the log is ordered, so it covers these
    db.setRef(repo.workRef(branch), data, { sync: false });
    db.setRef(repo.metaRef, EMPTY_ROOT, { sync: false });
    db.commitRef(repo.metaRef, {
      [T_COMMITS]: [{ key: id, value: enc }],
      [T_BRANCHES]: [{ key: utf8(branch), value: encodeBranch(id) }],
      [T_HEAD]: [{ key: HEAD_KEY, value: utf8(branch) }],
      [LIVE_TREE]: [{ key: link(data, id), value: new Uint8Array(0) }],
    });
    return repo;
  }

  /**
   * Opens an existing repository, repairing what a crash between the two
   * records of `branch`/`deleteBranch` can leave: a branch without a working
   * state gets its head's state; a working state without a branch is dropped
   * (no write can have reached it: writes need the branch).
   */
  static open(db: StateDB, opts: RepoOptions): Repo {
    const repo = new Repo(db, opts);
    if (!db.refs().has(repo.metaRef) || !repo.initialised()) {
      throw new HeliosError("REPO_NOT_FOUND", { name: repo.name });
    }
    repo.repair();
    const branches = new Set(repo.branchNames());
    const prefix = `${repo.metaRef}/work/`;
    for (const ref of db.refs().keys()) {
      if (ref.startsWith(prefix) && !branches.has(ref.slice(prefix.length))) db.deleteRef(ref);
    }
    const refs = db.refs();
    for (const b of branches) {
      if (!refs.has(repo.workRef(b))) db.setRef(repo.workRef(b), repo.commit(repo.branchHead(b)).data);
    }
    return repo;
  }

  static exists(db: StateDB, name = "main"): boolean {
    return db.refs().has(`repo/${name}`) && db.get(T_HEAD, HEAD_KEY, db.ref(`repo/${name}`)) !== undefined;
  }

  private initialised(): boolean {
    return this.metaGet(T_HEAD, HEAD_KEY) !== undefined;
  }

  /**
   * Finishes an operation that spans the metadata and a working state, left
   * half-done by a crash (or a failed write) between its records (R9a). Each
   * such operation first writes its intent into the `pending` tree; the
   * records that follow are a prefix of: the working state's change, then
   * the metadata's final record, which clears the intent. Called by `open`
   * and at the start of every call that writes. Costs one tree-root lookup
   * when nothing is pending.
   */
  private repair(): void {
    const tr = this.db.treeRoot(T_PENDING, this.meta);
    if (isEmptyRoot(tr)) return;
    for (const [k, v] of [...this.db.map.entries(tr)].map(([a, b]) => [a.slice(), b.slice()] as const)) {
      const branch = dec.decode(k);
      const p = decodePending(v);
      const clear: Op = { key: k, value: null };
      if (this.metaGet(T_BRANCHES, k) === undefined) {
        this.db.commitRef(this.metaRef, { [T_PENDING]: [clear] });
        continue;
      }
      if (p.kind === "setWork") {
        if (!equalBytes(this.db.ref(this.workRef(branch)), p.root)) {
          this.db.setRef(this.workRef(branch), p.root, { sync: false });
        }
        this.db.commitRef(this.metaRef, { [T_PENDING]: [clear] });
      } else {
        const head = this.branchHead(branch);
        const ourData = this.commit(p.ours).data;
        const work = this.db.ref(this.workRef(branch));
        if (equalBytes(head, p.ours) && !equalBytes(work, ourData)) {
          // the merged state reached the working state: record the merge commit it was for
          const hll = p.theirBranch === "" ? undefined : this.metaGet(T_HLL, utf8(p.theirBranch));
          this.record(branch, { data: work, parents: [p.ours, p.theirs], message: p.message }, ourData, p.time, hll, [
            clear,
          ]);
        } else this.db.commitRef(this.metaRef, { [T_PENDING]: [clear] });
      }
    }
  }

  /** The commit time: `time` if given, else the clock's; whole ms ≥ 0 (INVALID_ARGUMENT otherwise, before any write). */
  private timeOf(time?: number): number {
    const t = time ?? this.clock();
    if (!Number.isSafeInteger(t) || t < 0) {
      throw new HeliosError("INVALID_ARGUMENT", { time: t }, "a commit time is whole milliseconds ≥ 0");
    }
    return t;
  }

  private workRef(branch: string): string {
    return `${this.metaRef}/work/${branch}`;
  }

  private get meta(): Uint8Array {
    return this.db.ref(this.metaRef);
  }

  private metaGet(tree: string, key: Uint8Array): Uint8Array | undefined {
    return this.db.get(tree, key, this.meta);
  }

  // ---------------------------------------------------------------- reads

  /** The checked-out branch. */
  get current(): string {
    return dec.decode(this.metaGet(T_HEAD, HEAD_KEY) as Uint8Array);
  }

  branchNames(): string[] {
    const out: string[] = [];
    const tr = this.db.treeRoot(T_BRANCHES, this.meta);
    for (const [k] of this.db.map.entries(tr)) out.push(dec.decode(k));
    return out;
  }

  branches(): BranchInfo[] {
    const cur = this.current;
    return this.branchNames().map((name) => {
      const head = this.branchHead(name);
      return { name, head, dirty: this.isDirty(name), current: name === cur };
    });
  }

  /** The head commit id of a branch. */
  branchHead(name: string): Uint8Array {
    const b = this.metaGet(T_BRANCHES, utf8(name));
    if (b === undefined) throw new HeliosError("REPO_REV_NOT_FOUND", { rev: name }, `no branch ${name}`);
    return decodeBranch(b);
  }

  /** The working state (forest root) of a branch (default: the current one). */
  workRoot(branch: string = this.current): Uint8Array {
    this.branchHead(branch);
    return this.db.ref(this.workRef(branch));
  }

  isDirty(branch: string = this.current): boolean {
    return !equalBytes(this.workRoot(branch), this.commit(this.branchHead(branch)).data);
  }

  commit(id: Uint8Array): CommitInfo {
    const b = this.metaGet(T_COMMITS, id);
    if (b === undefined)
      throw new HeliosError("REPO_REV_NOT_FOUND", { rev: bytesToHex(id) }, "no such commit (forgotten or never made)");
    return { id: id.slice(), ...decodeCommit(b) };
  }

  tags(): { name: string; commit: Uint8Array; message: string }[] {
    const out: { name: string; commit: Uint8Array; message: string }[] = [];
    for (const [k, v] of this.db.map.entries(this.db.treeRoot(T_TAGS, this.meta)))
      out.push({ name: dec.decode(k), ...decodeTag(v) });
    return out;
  }

  /**
   * Resolves a revision to a commit id: a branch name (its head), a tag, or
   * a unique hex prefix (≥ 6 digits) of a commit id; `rev~N` walks N first
   * parents back. REPO_REV_NOT_FOUND / REPO_REV_AMBIGUOUS otherwise.
   */
  resolve(rev: string): Uint8Array {
    if (typeof rev !== "string" || rev.length === 0) throw new HeliosError("REPO_REV_NOT_FOUND", { rev: String(rev) });
    const m = /^(.*?)((?:~\d+)+)$/.exec(rev);
    const name = m ? (m[1] as string) : rev;
    let id = this.resolveName(/^[0-9A-Fa-f]{6,64}$/.test(name) && !this.isNamed(name) ? name.toLowerCase() : name);
    if (m) {
      let n = 0;
      for (const step of (m[2] as string).split("~").slice(1)) n += Number(step);
      for (; n > 0; n--) {
        const p = this.commit(id).parents[0];
        if (p === undefined) throw new HeliosError("REPO_REV_NOT_FOUND", { rev }, "walked past the first commit");
        id = p;
      }
      this.commit(id); // a parent whose history was forgotten is not a revision
    }
    return id;
  }

  private isNamed(name: string): boolean {
    return this.metaGet(T_BRANCHES, utf8(name)) !== undefined || this.metaGet(T_TAGS, utf8(name)) !== undefined;
  }

  private resolveName(rev: string): Uint8Array {
    const b = this.metaGet(T_BRANCHES, utf8(rev));
    if (b !== undefined) return decodeBranch(b);
    const t = this.metaGet(T_TAGS, utf8(rev));
    if (t !== undefined) return decodeTag(t).commit;
    if (/^[0-9a-f]{6,64}$/.test(rev)) {
      const prefix = new Uint8Array(rev.length >> 1);
      for (let i = 0; i < prefix.length; i++) prefix[i] = Number.parseInt(rev.slice(2 * i, 2 * i + 2), 16);
      const found: Uint8Array[] = [];
      for (const [k] of this.db.map.entries(this.db.treeRoot(T_COMMITS, this.meta), { prefix })) {
        if (bytesToHex(k).startsWith(rev)) found.push(k.slice());
        if (found.length > 1) throw new HeliosError("REPO_REV_AMBIGUOUS", { rev });
      }
      if (found.length === 1) return found[0] as Uint8Array;
    }
    throw new HeliosError("REPO_REV_NOT_FOUND", { rev });
  }

  /** The state of a revision; `work` (or `<branch>:work`) names a branch's working state. */
  stateOf(rev: string): Uint8Array {
    if (rev === "work") return this.workRoot();
    if (rev.endsWith(":work")) return this.workRoot(rev.slice(0, -5));
    return this.commit(this.resolve(rev)).data;
  }

  /** value of `key` in `tree` of the current working state (or of `rev`). */
  get(tree: string, key: Uint8Array, rev = "work"): Uint8Array | undefined {
    return this.db.get(tree, key, this.stateOf(rev));
  }

  /** Commits reachable from `rev` (default: the current branch), newest first (by time, then id), up to `limit`. */
  log(rev: string = this.current, limit = Number.POSITIVE_INFINITY): CommitInfo[] {
    const out: CommitInfo[] = [];
    const seen = new Set<string>();
    const queue: CommitInfo[] = [];
    const push = (id: Uint8Array) => {
      const k = bytesToHex(id);
      if (seen.has(k)) return;
      seen.add(k);
      if (this.metaGet(T_COMMITS, id) === undefined) return; // history forgotten before this point
      queue.push(this.commit(id));
    };
    push(this.resolve(rev));
    while (queue.length > 0 && out.length < limit) {
      let bi = 0;
      for (let i = 1; i < queue.length; i++) {
        const a = queue[i] as CommitInfo;
        const b = queue[bi] as CommitInfo;
        if (a.time > b.time || (a.time === b.time && bytesToHex(a.id) > bytesToHex(b.id))) bi = i;
      }
      const c = queue.splice(bi, 1)[0] as CommitInfo;
      out.push(c);
      for (const p of c.parents) push(p);
    }
    return out;
  }

  /** True when commit `a` is `b` or an ancestor of `b`. */
  isAncestor(a: Uint8Array, b: Uint8Array): boolean {
    if (equalBytes(a, b)) return true;
    const target = bytesToHex(a);
    let found = false;
    this.walk([b], (k) => {
      found ||= k === target;
      return !found;
    });
    return found;
  }

  /** A commit's parent ids, or undefined when its record is not known (forgotten, or never made). */
  private parentsOf(id: Uint8Array): readonly Uint8Array[] | undefined {
    const rec = this.metaGet(T_COMMITS, id);
    return rec === undefined ? undefined : decodeCommit(rec).parents;
  }

  /**
   * Walks the known commits reachable from `starts` through their parents,
   * each once, and returns their hex ids. `enter(hex, id)` returning false
   * keeps the walk from going past that commit (it still counts as reached).
   * One record read per commit: the walk every history query shares.
   */
  private walk(starts: Iterable<Uint8Array>, enter?: (hex: string, id: Uint8Array) => boolean): Set<string> {
    const seen = new Set<string>();
    for (const stack = [...starts]; stack.length > 0; ) {
      const id = stack.pop() as Uint8Array;
      const k = bytesToHex(id);
      if (seen.has(k)) continue;
      const parents = this.parentsOf(id);
      if (parents === undefined) continue;
      seen.add(k);
      if (enter === undefined || enter(k, id)) for (const p of parents) stack.push(p);
    }
    return seen;
  }

  /**
   * The merge base of two commits: a common ancestor that is not an ancestor
   * of another common ancestor; of several such, the newest (then the
   * greatest id), so the choice is deterministic. undefined if none is known.
   * Costs: one walk of a's ancestors, one of b's down to the common ones,
   * and one more per candidate when there are several (criss-cross merges):
   * O(history), not O(history²).
   */
  mergeBase(a: Uint8Array, b: Uint8Array): Uint8Array | undefined {
    return this.mergeBases(a, b)[0];
  }

  /** Every best common ancestor (R10), the chosen merge base first, then the others by the same order. */
  mergeBases(a: Uint8Array, b: Uint8Array): Uint8Array[] {
    // 1. every ancestor of a (one walk)
    const ofA = this.walk([a]);
    // 2. walk down from b, stopping at the first common ancestor on each path: the candidates
    const candidates = new Map<string, Uint8Array>();
    this.walk([b], (k, id) => {
      if (!ofA.has(k)) return true;
      candidates.set(k, id);
      return false;
    });
    // 3. drop candidates that are ancestors of other candidates (criss-cross histories): one walk per candidate
    const best = new Map(candidates);
    if (candidates.size > 1) {
      for (const c of candidates.values()) for (const k of this.walk(this.parentsOf(c) ?? [])) best.delete(k);
    }
    // 4. of several, the newest, then the greatest id: deterministic
    const list = [...best.values()].map((id) => this.commit(id));
    list.sort((x, y) => (x.time !== y.time ? y.time - x.time : bytesToHex(y.id) < bytesToHex(x.id) ? -1 : 1));
    return list.map((c) => c.id);
  }

  /**
   * Changes from revision `a` to `b` (default: the current branch's head
   * commit to its working state), per tree, in tree then key order. Reads
   * only what differs: the forest diff finds the changed trees, a tree diff
   * each tree's changes.
   */
  diff(a = this.current, b = "work"): TreeDiff[] {
    const ra = this.stateOf(a);
    const rb = this.stateOf(b);
    const out: TreeDiff[] = [];
    for (const t of this.db.map.diff(ra, rb)) {
      const tree = dec.decode(t.key);
      out.push({ tree, changes: this.db.map.diff(t.before ?? EMPTY_ROOT, t.after ?? EMPTY_ROOT) });
    }
    return out;
  }

  /** `diff --stat`: per tree, keys added, removed and modified, and the change in value bytes. */
  diffStat(a = this.current, b = "work"): TreeStat[] {
    return this.diff(a, b).map(({ tree, changes }) => {
      let added = 0;
      let removed = 0;
      let modified = 0;
      let bytesDelta = 0;
      for (const c of changes) {
        if (c.before === undefined) added++;
        else if (c.after === undefined) removed++;
        else modified++;
        bytesDelta += (c.after?.length ?? 0) - (c.before?.length ?? 0);
      }
      return { tree, added, removed, modified, bytesDelta };
    });
  }

  /** Estimated number of distinct keys the commits of a branch have changed (HyperLogLog, ±1.6 %). */
  distinctKeys(branch: string = this.current): number {
    this.branchHead(branch);
    const b = this.metaGet(T_HLL, utf8(branch));
    return b === undefined ? 0 : HyperLogLog.fromBytes(b).count();
  }

  // --------------------------------------------------------------- writes

  /** Applies writes (tree → ops) to the current branch's working state; durable when it returns. */
  write(writes: Writes): Uint8Array {
    this.repair();
    return this.db.commitRef(this.workRef(this.current), writes);
  }

  put(tree: string, key: Uint8Array, value: Uint8Array): void {
    this.write({ [tree]: [{ key, value }] });
  }

  delete(tree: string, key: Uint8Array): void {
    this.write({ [tree]: [{ key, value: null }] });
  }

  private checkFree(kind: "branch" | "tag", name: string, force = false): void {
    checkName(kind, name);
    const asBranch = this.metaGet(T_BRANCHES, utf8(name)) !== undefined;
    const asTag = this.metaGet(T_TAGS, utf8(name)) !== undefined;
    if (kind === "branch" && asBranch) throw new HeliosError("REPO_BRANCH_EXISTS", { name });
    if (kind === "tag" && asTag && !force) throw new HeliosError("REPO_TAG_EXISTS", { name });
    if ((kind === "branch" && asTag) || (kind === "tag" && asBranch)) {
      throw new HeliosError(
        "REPO_NAME_INVALID",
        { kind, name },
        `${name} is already a ${kind === "branch" ? "tag" : "branch"}; branches and tags share one namespace`,
      );
    }
  }

  /**
   * Creates branch `name` at `from` (default: the current branch). From a
   * branch, the new branch gets that branch's head and a copy of its working
   * state, uncommitted writes included; from a tag or commit, that commit's
   * state. O(1) in the state's size.
   */
  branch(name: string, opts: { from?: string } = {}): Uint8Array {
    this.repair();
    this.checkFree("branch", name);
    const from = opts.from ?? this.current;
    const fromBranch = this.metaGet(T_BRANCHES, utf8(from)) !== undefined;
    const head = this.resolve(from);
    const work = fromBranch ? this.workRoot(from) : this.commit(head).data;
    const hll = fromBranch ? this.metaGet(T_HLL, utf8(from)) : undefined;
    // the working ref first (unsynced: the synced record below covers it, the log being ordered);
    // a crash between the two leaves an orphan working ref, which open() removes
    this.db.setRef(this.workRef(name), work, { sync: false });
    const w: Record<string, Op[]> = { [T_BRANCHES]: [{ key: utf8(name), value: encodeBranch(head) }] };
    if (hll !== undefined) w[T_HLL] = [{ key: utf8(name), value: hll }];
    this.db.commitRef(this.metaRef, w);
    return head;
  }

  /** Makes `name` the current branch. Working states are per branch, so nothing is lost or carried over. */
  checkout(name: string, opts: { create?: boolean } = {}): void {
    this.repair();
    if (opts.create) this.branch(name);
    this.branchHead(name);
    this.db.commitRef(this.metaRef, { [T_HEAD]: [{ key: HEAD_KEY, value: utf8(name) }] });
  }

  /** Deletes a branch (not the current one). A dirty one needs `force`, which discards its uncommitted writes. */
  deleteBranch(name: string, opts: { force?: boolean } = {}): void {
    this.repair();
    this.branchHead(name);
    if (name === this.current) throw new HeliosError("REPO_CURRENT_BRANCH", { name });
    if (this.isDirty(name) && !opts.force) {
      throw new HeliosError(
        "REPO_DIRTY",
        { branch: name },
        "the branch has uncommitted writes; commit them, or pass force to discard them",
      );
    }
    // the metadata first: a crash after it leaves an orphan working ref, which open() removes
    this.db.commitRef(this.metaRef, {
      [T_BRANCHES]: [{ key: utf8(name), value: null }],
      [T_HLL]: [{ key: utf8(name), value: null }],
    });
    this.db.deleteRef(this.workRef(name));
  }

  /**
   * Commits the current branch's working state. REPO_NOTHING_TO_COMMIT when
   * it equals the head's, unless `allowEmpty`.
   */
  commitWork(message: string, opts: { allowEmpty?: boolean; time?: number } = {}): Uint8Array {
    this.repair();
    const b = this.current;
    const head = this.branchHead(b);
    const work = this.workRoot(b);
    const headData = this.commit(head).data;
    if (equalBytes(work, headData) && !opts.allowEmpty) throw new HeliosError("REPO_NOTHING_TO_COMMIT", { branch: b });
    return this.record(b, { data: work, parents: [head], message }, headData, opts.time);
  }

  /** Validates and encodes a commit: every check a commit can fail, done before anything is written. */
  private prepare(c: { data: Uint8Array; parents: Uint8Array[]; message: string }, time?: number) {
    if (typeof c.message !== "string") throw new HeliosError("INVALID_ARGUMENT", {}, "a commit message is a string");
    const full: Commit = { ...c, time: this.timeOf(time), author: this.author };
    const enc = encodeCommit(full);
    return { enc, id: commitId(enc), time: full.time };
  }

  /**
   * Writes a commit record and moves `branch` to it, in one logged record
   * (with `extra` metadata ops, e.g. clearing a pending intent).
   */
  private record(
    branch: string,
    c: { data: Uint8Array; parents: Uint8Array[]; message: string },
    changedFrom: Uint8Array,
    time?: number,
    extraHll?: Uint8Array,
    pendingOps: Op[] = [],
  ): Uint8Array {
    const { enc, id } = this.prepare(c, time);
    // the branch's distinct-key sketch: every key this commit changes
    const prev = this.metaGet(T_HLL, utf8(branch));
    const hll: HyperLogLog = prev === undefined ? new HyperLogLog(HLL_PRECISION) : HyperLogLog.fromBytes(prev);
    if (extraHll !== undefined) hll.merge(HyperLogLog.fromBytes(extraHll));
    for (const t of this.db.map.diff(changedFrom, c.data)) {
      for (const ch of this.db.map.diff(t.before ?? EMPTY_ROOT, t.after ?? EMPTY_ROOT)) {
        hll.add(concatBytes(t.key, Uint8Array.of(0), ch.key));
      }
    }
    const w: Record<string, Op[]> = {
      [T_COMMITS]: [{ key: id, value: enc }],
      [T_BRANCHES]: [{ key: utf8(branch), value: encodeBranch(id) }],
      [T_HLL]: [{ key: utf8(branch), value: hll.toBytes() }],
      [LIVE_TREE]: [{ key: link(c.data, id), value: new Uint8Array(0) }],
    };
    if (pendingOps.length > 0) w[T_PENDING] = pendingOps;
    this.db.commitRef(this.metaRef, w);
    return id;
  }

  /** Tags a revision (default: the current branch's head). Tags do not move: an existing name needs `force`. */
  tag(name: string, rev: string = this.current, opts: { message?: string; force?: boolean } = {}): Uint8Array {
    this.repair();
    this.checkFree("tag", name, opts.force === true);
    const id = this.resolve(rev);
    const t: Tag = { commit: id, message: opts.message ?? "" };
    this.db.commitRef(this.metaRef, { [T_TAGS]: [{ key: utf8(name), value: encodeTag(t) }] });
    return id;
  }

  deleteTag(name: string): void {
    this.repair();
    if (this.metaGet(T_TAGS, utf8(name)) === undefined) {
      throw new HeliosError("REPO_REV_NOT_FOUND", { rev: name }, `no tag ${name}`);
    }
    this.db.commitRef(this.metaRef, { [T_TAGS]: [{ key: utf8(name), value: null }] });
  }

  /**
   * Moves the branch's head to `id` and its working state to `work`, as one
   * logical step: the intent and the head move in one record, the working
   * ref next, then the intent is cleared; only the last record is fsynced
   * (the log is ordered). A crash in between is finished by repair().
   */
  private moveWithWork(branch: string, id: Uint8Array, work: Uint8Array, meta: Record<string, Op[]> = {}): void {
    const key = utf8(branch);
    this.db.commitRef(
      this.metaRef,
      {
        ...meta,
        [T_BRANCHES]: [{ key, value: encodeBranch(id) }],
        [T_PENDING]: [{ key, value: encodePending({ kind: "setWork", root: work }) }],
      },
      { sync: false },
    );
    this.db.setRef(this.workRef(branch), work, { sync: false });
    this.db.commitRef(this.metaRef, { [T_PENDING]: [{ key, value: null }] });
  }

  /**
   * Moves the current branch's head to `rev`. Soft (the default) keeps the
   * working state as it is (it then differs from the new head by whatever
   * changed); `hard` also sets the working state to `rev`'s, discarding
   * uncommitted writes: the only verb besides a forced branch delete that does.
   */
  reset(rev: string, opts: { hard?: boolean } = {}): Uint8Array {
    this.repair();
    const b = this.current;
    const id = this.resolve(rev);
    if (opts.hard) this.moveWithWork(b, id, this.commit(id).data);
    else this.db.commitRef(this.metaRef, { [T_BRANCHES]: [{ key: utf8(b), value: encodeBranch(id) }] });
    return id;
  }

  /**
   * The plan of a three-way merge of commit `theirs` into commit `ours` from
   * their best bases (the first is the base; the keys where the others
   * disagree with it have no known base: R10a). Writes nothing.
   */
  private planFrom(bases: readonly Uint8Array[], ours: Uint8Array, theirs: Uint8Array, policy: MergePolicy): MergePlan {
    const base = bases[0];
    const baseData = base === undefined ? EMPTY_ROOT : this.commit(base).data;
    const uncertain = new Map<string, Uint8Array[]>();
    for (const other of bases.slice(1)) {
      for (const t of this.diff(bytesToHex(base as Uint8Array), bytesToHex(other))) {
        const list = uncertain.get(t.tree) ?? [];
        for (const c of t.changes) list.push(c.key.slice());
        uncertain.set(t.tree, list);
      }
    }
    return planMerge(this.db.map, baseData, this.commit(ours).data, this.commit(theirs).data, policy, uncertain);
  }

  /**
   * What `merge(rev)` into the current branch would do, without doing it:
   * the kind of merge, the base, and every conflict (all of them, where the
   * REPO_MERGE_CONFLICT error lists the first ten). Writes nothing.
   */
  previewMerge(rev: string): {
    kind: MergeResult["kind"] | "no-base";
    base: Uint8Array | undefined;
    conflicts: Conflict[];
  } {
    const ours = this.branchHead(this.current);
    const theirs = this.resolve(rev);
    const bases = this.mergeBases(ours, theirs);
    const base = bases[0];
    if (equalBytes(ours, theirs) || (base !== undefined && equalBytes(base, theirs))) {
      return { kind: "up-to-date", base, conflicts: [] };
    }
    if (base !== undefined && equalBytes(base, ours)) return { kind: "fast-forward", base, conflicts: [] };
    return {
      kind: base === undefined ? "no-base" : "merged",
      base,
      conflicts: this.planFrom(bases, ours, theirs, "fail").conflicts,
    };
  }

  /**
   * Merges `rev` into the current branch from their merge base (a three-way
   * merge, merge.ts). The working state must be clean (REPO_DIRTY). Policy
   * "fail" (the default) throws REPO_MERGE_CONFLICT listing the conflicts and
   * changes nothing; "ours", "theirs" or a resolver function settle them.
   * If the branch is an ancestor of `rev` it fast-forwards (unless
   * `noFastForward`). With no known common ancestor (unrelated histories, or
   * forgotten ones) it refuses with REPO_NO_MERGE_BASE unless
   * `allowUnrelated`, which merges from the empty state.
   */
  merge(
    rev: string,
    opts: {
      policy?: MergePolicy;
      message?: string;
      noFastForward?: boolean;
      time?: number;
      allowUnrelated?: boolean;
    } = {},
  ): MergeResult {
    this.repair();
    const policy = checkPolicy(opts.policy ?? "fail");
    const b = this.current;
    if (this.isDirty(b)) {
      throw new HeliosError("REPO_DIRTY", { branch: b }, "commit or reset the working state before merging");
    }
    const ours = this.branchHead(b);
    const theirs = this.resolve(rev);
    const bases = this.mergeBases(ours, theirs);
    const base = bases[0];
    const none: Conflict[] = [];
    if (equalBytes(ours, theirs) || (base !== undefined && equalBytes(base, theirs))) {
      return { kind: "up-to-date", commit: ours, base, conflicts: none, taken: 0 };
    }
    if (base === undefined && !opts.allowUnrelated) {
      throw new HeliosError(
        "REPO_NO_MERGE_BASE",
        { ours: bytesToHex(ours), theirs: bytesToHex(theirs) },
        "the two histories share no known commit; pass allowUnrelated (--allow-unrelated) to merge from the empty state",
      );
    }
    const message = opts.message ?? `merge ${rev} into ${b}`;
    const prepared = this.prepare({ data: EMPTY_ROOT, parents: [ours, theirs], message }, opts.time); // validates first
    const theirData = this.commit(theirs).data;
    const theirHll = this.theirHll(rev);
    if (base !== undefined && equalBytes(base, ours) && !opts.noFastForward) {
      const meta: Record<string, Op[]> = {};
      if (theirHll !== undefined) {
        const mine = this.metaGet(T_HLL, utf8(b));
        const h = mine === undefined ? new HyperLogLog(HLL_PRECISION) : HyperLogLog.fromBytes(mine);
        h.merge(HyperLogLog.fromBytes(theirHll));
        meta[T_HLL] = [{ key: utf8(b), value: h.toBytes() }];
      }
      this.moveWithWork(b, theirs, theirData, meta);
      return { kind: "fast-forward", commit: theirs, base, conflicts: none, taken: 0 };
    }
    const ourData = this.commit(ours).data;
    const plan = this.planFrom(bases, ours, theirs, policy);
    if (policy === "fail" && plan.conflicts.length > 0) {
      throw new HeliosError(
        "REPO_MERGE_CONFLICT",
        {
          conflicts: plan.conflicts.length,
          first: plan.conflicts.slice(0, 10).map((c) => ({ tree: c.tree, key: bytesToHex(c.key) })),
        },
        `${plan.conflicts.length} key(s) changed differently on both sides; merge with policy ours, theirs or a resolver`,
      );
    }
    const key = utf8(b);
    const clear: Op[] = [{ key, value: null }];
    if (plan.writes.size === 0) {
      const id = this.record(b, { data: ourData, parents: [ours, theirs], message }, ourData, prepared.time, theirHll);
      return { kind: "merged", commit: id, base, conflicts: plan.conflicts, taken: plan.taken };
    }
    // intent, then the merged state into the working state (logged ops), then the merge commit (clears the intent)
    const intent = encodePending({
      kind: "merge",
      ours,
      theirs,
      time: prepared.time,
      message,
      theirBranch: this.isBranch(rev) ? rev : "",
    });
    this.db.commitRef(this.metaRef, { [T_PENDING]: [{ key, value: intent }] }, { sync: false });
    const merged = this.db.commitRef(this.workRef(b), plan.writes, { sync: false });
    const id = this.record(
      b,
      { data: merged, parents: [ours, theirs], message },
      ourData,
      prepared.time,
      theirHll,
      clear,
    );
    return { kind: "merged", commit: id, base, conflicts: plan.conflicts, taken: plan.taken };
  }

  private isBranch(rev: string): boolean {
    return this.metaGet(T_BRANCHES, utf8(rev)) !== undefined;
  }

  private theirHll(rev: string): Uint8Array | undefined {
    return this.isBranch(rev) ? this.metaGet(T_HLL, utf8(rev)) : undefined;
  }

  /**
   * Drops commit records no branch or tag reaches (what `reset` and deleted
   * branches leave behind), and their keep-alive links, so GC can take their
   * states. Returns the ids dropped. With `dryRun`, changes nothing.
   */
  prune(opts: { dryRun?: boolean } = {}): Uint8Array[] {
    this.repair();
    const reach = this.walk([
      ...this.branchNames().map((n) => this.branchHead(n)),
      ...this.tags().map((t) => t.commit),
    ]);
    return this.dropCommits((id) => !reach.has(bytesToHex(id)), opts.dryRun === true);
  }

  /** Drops the commits `drop` selects (records and links) in one logged record. */
  private dropCommits(drop: (id: Uint8Array, c: Commit) => boolean, dryRun: boolean): Uint8Array[] {
    const gone: Uint8Array[] = [];
    const commits: Op[] = [];
    const links: Op[] = [];
    for (const [k, v] of this.db.map.entries(this.db.treeRoot(T_COMMITS, this.meta))) {
      const c = decodeCommit(v);
      if (!drop(k, c)) continue;
      gone.push(k.slice());
      commits.push({ key: k.slice(), value: null });
      links.push({ key: link(c.data, k), value: null });
    }
    if (!dryRun && gone.length > 0) this.db.commitRef(this.metaRef, { [T_COMMITS]: commits, [LIVE_TREE]: links });
    return gone;
  }

  /**
   * Forgets old commits (retention, like restic's forget; R19). For every
   * branch, walks its first-parent line from the head and keeps the head,
   * the newest `keepLast` commits, and every commit made within
   * `keepWithinMs` of `now` (inclusive), stopping at the first commit that
   * no rule keeps; tagged commits are kept too. Then every commit on a path
   * between two kept commits is kept as well (so a kept commit never loses
   * its link to an older kept one: ancestry, and so merge bases, stay
   * right). Everything else is dropped in one logged record, and GC can take
   * the states only they held; `log` stops where history was forgotten.
   * With `dryRun`, nothing changes.
   */
  forget(
    policy: { keepLast?: number; keepWithinMs?: number },
    opts: { now: number; dryRun?: boolean },
  ): { kept: Uint8Array[]; forgotten: Uint8Array[] } {
    const whole = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
    if (
      policy === null ||
      typeof policy !== "object" ||
      (policy.keepLast !== undefined && !whole(policy.keepLast)) ||
      (policy.keepWithinMs !== undefined && !whole(policy.keepWithinMs)) ||
      !whole(opts?.now)
    ) {
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { keepLast: policy?.keepLast, keepWithinMs: policy?.keepWithinMs, now: opts?.now },
        "keepLast, keepWithinMs and now are whole numbers ≥ 0",
      );
    }
    this.repair();
    const keep = new Set<string>();
    for (const t of this.tags()) keep.add(bytesToHex(t.commit));
    for (const name of this.branchNames()) {
      let id: Uint8Array | undefined = this.branchHead(name);
      let n = 0;
      while (id !== undefined && this.metaGet(T_COMMITS, id) !== undefined) {
        const c = this.commit(id);
        const within = policy.keepWithinMs !== undefined && opts.now - c.time <= policy.keepWithinMs;
        const last = n < (policy.keepLast ?? 0);
        if (n === 0 || within || last) keep.add(bytesToHex(id));
        else break;
        n++;
        id = c.parents[0];
      }
    }
    // close over paths between kept commits: x is kept if a kept commit reaches it and it reaches a kept commit
    const reachesKept = new Map<string, boolean>();
    const parentsOf = (id: Uint8Array): readonly Uint8Array[] => this.parentsOf(id) ?? [];
    const below = (id: Uint8Array): boolean => {
      // iterative post-order: does any proper ancestor of id lie in `keep`?
      const k0 = bytesToHex(id);
      const memo = reachesKept.get(k0);
      if (memo !== undefined) return memo;
      const stack: { id: Uint8Array; i: number }[] = [{ id, i: 0 }];
      const onStack = new Set<string>([k0]);
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as { id: Uint8Array; i: number };
        const ps = parentsOf(top.id);
        if (top.i < ps.length) {
          const p = ps[top.i++] as Uint8Array;
          const pk = bytesToHex(p);
          if (reachesKept.has(pk) || onStack.has(pk)) continue;
          onStack.add(pk);
          stack.push({ id: p, i: 0 });
          continue;
        }
        stack.pop();
        const r = ps.some((p) => keep.has(bytesToHex(p)) || reachesKept.get(bytesToHex(p)) === true);
        reachesKept.set(bytesToHex(top.id), r);
      }
      return reachesKept.get(k0) === true;
    };
    const kept: Uint8Array[] = [];
    const fill = [...keep].map((hex) => hexToBytes(hex));
    const seen = new Set<string>();
    for (let i = 0; i < fill.length; i++) {
      const id = fill[i] as Uint8Array;
      const k = bytesToHex(id);
      if (seen.has(k)) continue;
      seen.add(k);
      if (keep.has(k) || below(id)) {
        keep.add(k);
        kept.push(id);
        for (const p of parentsOf(id)) if (below(p) || keep.has(bytesToHex(p))) fill.push(p);
      }
    }
    const forgotten = this.dropCommits((id) => !keep.has(bytesToHex(id)), opts.dryRun === true);
    return { kept, forgotten };
  }
}
