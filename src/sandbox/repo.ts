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
import { bytesToHex, concatBytes, equalBytes, HeliosError, HyperLogLog, utf8 } from "../core/index.js";
import { LIVE_TREE, type StateDB, type Writes } from "../history/index.js";
import { type Change, EMPTY_ROOT, type Op } from "../merkle/index.js";
import {
  type Commit,
  commitId,
  decodeBranch,
  decodeCommit,
  decodeTag,
  encodeBranch,
  encodeCommit,
  encodeTag,
  type Tag,
} from "./commit.js";
import { type Conflict, type MergePolicy, planMerge } from "./merge.js";

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
const HEAD_KEY = utf8("HEAD");
/** 2^12 one-byte registers: 4 KiB per branch, ±1.6 % standard error. */
const HLL_PRECISION = 12;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;
const MAX_NAME = 64;
const dec = new TextDecoder();

function checkName(kind: "branch" | "tag" | "repository", name: unknown): string {
  if (
    typeof name !== "string" ||
    name.length === 0 ||
    name.length > MAX_NAME ||
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
      `a ${kind} name is 1–${MAX_NAME} characters of A–Z a–z 0–9 . _ / -, not starting with . / or -, without "..", and not all lowercase hex (that reads as a commit id)`,
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
    if (db.refs().has(repo.metaRef)) throw new HeliosError("REPO_EXISTS", { name: repo.name });
    const branch = checkName("branch", opts.branch ?? "main");
    const data = opts.from ?? EMPTY_ROOT;
    if (!db.isLive(data)) throw new HeliosError("ROOT_NOT_LIVE", { root: bytesToHex(data) });
    const c: Commit = { data, parents: [], time: repo.now(), author: repo.author, message: opts.message ?? "init" };
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
    if (!db.refs().has(repo.metaRef)) throw new HeliosError("REPO_NOT_FOUND", { name: repo.name });
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
    return db.refs().has(`repo/${name}`);
  }

  private now(): number {
    const t = this.clock();
    if (!Number.isSafeInteger(t) || t < 0)
      throw new HeliosError("INVALID_ARGUMENT", { time: t }, "clock() returns ms ≥ 0");
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
    const m = /^(.*?)~(\d+)$/.exec(rev);
    let id = this.resolveName(m ? (m[1] as string) : rev);
    for (let n = m ? Number(m[2]) : 0; n > 0; n--) {
      const p = this.commit(id).parents[0];
      if (p === undefined) throw new HeliosError("REPO_REV_NOT_FOUND", { rev }, "walked past the first commit");
      id = p;
    }
    if (m) this.commit(id); // a parent whose history was forgotten is not a revision
    return id;
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
    const target = bytesToHex(a);
    const seen = new Set<string>();
    const stack = [b];
    while (stack.length > 0) {
      const id = stack.pop() as Uint8Array;
      const k = bytesToHex(id);
      if (k === target) return true;
      if (seen.has(k)) continue;
      seen.add(k);
      const rec = this.metaGet(T_COMMITS, id);
      if (rec !== undefined) for (const p of decodeCommit(rec).parents) stack.push(p);
    }
    return false;
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
    const parents = (id: Uint8Array): readonly Uint8Array[] => {
      const rec = this.metaGet(T_COMMITS, id);
      return rec === undefined ? [] : decodeCommit(rec).parents;
    };
    const known = (id: Uint8Array) => this.metaGet(T_COMMITS, id) !== undefined;
    // 1. every ancestor of a (one walk)
    const ofA = new Set<string>();
    for (const stack = [a]; stack.length > 0; ) {
      const id = stack.pop() as Uint8Array;
      const k = bytesToHex(id);
      if (ofA.has(k) || !known(id)) continue;
      ofA.add(k);
      stack.push(...parents(id));
    }
    // 2. walk down from b, stopping at the first common ancestor on each path: the candidates
    const candidates = new Map<string, Uint8Array>();
    const seen = new Set<string>();
    for (const stack = [b]; stack.length > 0; ) {
      const id = stack.pop() as Uint8Array;
      const k = bytesToHex(id);
      if (seen.has(k) || !known(id)) continue;
      seen.add(k);
      if (ofA.has(k)) candidates.set(k, id);
      else stack.push(...parents(id));
    }
    // 3. drop candidates that are ancestors of other candidates (criss-cross histories): one walk per candidate
    const best = new Map(candidates);
    if (candidates.size > 1) {
      for (const c of candidates.values()) {
        const below = new Set<string>();
        for (const stack = [...parents(c)]; stack.length > 0; ) {
          const id = stack.pop() as Uint8Array;
          const k = bytesToHex(id);
          if (below.has(k) || !known(id)) continue;
          below.add(k);
          best.delete(k);
          stack.push(...parents(id));
        }
      }
    }
    // 4. of several, the newest, then the greatest id: deterministic
    let pick: CommitInfo | undefined;
    for (const id of best.values()) {
      const c = this.commit(id);
      if (pick === undefined || c.time > pick.time || (c.time === pick.time && bytesToHex(c.id) > bytesToHex(pick.id)))
        pick = c;
    }
    return pick?.id;
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
    const b = this.current;
    return this.db.commitRef(this.workRef(b), writes);
  }

  put(tree: string, key: Uint8Array, value: Uint8Array): void {
    this.write({ [tree]: [{ key, value }] });
  }

  delete(tree: string, key: Uint8Array): void {
    this.write({ [tree]: [{ key, value: null }] });
  }

  /**
   * Creates branch `name` at `from` (default: the current branch). From a
   * branch, the new branch gets that branch's head and a copy of its working
   * state, uncommitted writes included; from a tag or commit, that commit's
   * state. O(1) in the state's size.
   */
  branch(name: string, opts: { from?: string } = {}): Uint8Array {
    checkName("branch", name);
    if (this.metaGet(T_BRANCHES, utf8(name)) !== undefined) throw new HeliosError("REPO_BRANCH_EXISTS", { name });
    const from = opts.from ?? this.current;
    const fromBranch = this.metaGet(T_BRANCHES, utf8(from)) !== undefined;
    const head = this.resolve(from);
    const work = fromBranch ? this.workRoot(from) : this.commit(head).data;
    const hll = fromBranch ? this.metaGet(T_HLL, utf8(from)) : undefined;
    this.db.setRef(this.workRef(name), work, { sync: false }); // made durable by the synced record below
    const w: Record<string, Op[]> = { [T_BRANCHES]: [{ key: utf8(name), value: encodeBranch(head) }] };
    if (fromBranch && hll !== undefined) w[T_HLL] = [{ key: utf8(name), value: hll }];
    this.db.commitRef(this.metaRef, w);
    return head;
  }

  /** Makes `name` the current branch. Working states are per branch, so nothing is lost or carried over. */
  checkout(name: string, opts: { create?: boolean } = {}): void {
    if (opts.create) this.branch(name);
    this.branchHead(name);
    this.db.commitRef(this.metaRef, { [T_HEAD]: [{ key: HEAD_KEY, value: utf8(name) }] });
  }

  /** Deletes a branch (not the current one). A dirty one needs `force`, which discards its uncommitted writes. */
  deleteBranch(name: string, opts: { force?: boolean } = {}): void {
    this.branchHead(name);
    if (name === this.current) throw new HeliosError("REPO_CURRENT_BRANCH", { name });
    if (this.isDirty(name) && !opts.force)
      throw new HeliosError(
        "REPO_DIRTY",
        { branch: name },
        "the branch has uncommitted writes; commit them, or pass force to discard them",
      );
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
    const b = this.current;
    const head = this.branchHead(b);
    const work = this.workRoot(b);
    const headData = this.commit(head).data;
    if (equalBytes(work, headData) && !opts.allowEmpty) throw new HeliosError("REPO_NOTHING_TO_COMMIT", { branch: b });
    return this.record(b, { data: work, parents: [head], message }, headData, opts.time);
  }

  /** Writes a commit record and moves `branch` to it, in one logged record. */
  private record(
    branch: string,
    c: { data: Uint8Array; parents: Uint8Array[]; message: string },
    changedFrom: Uint8Array,
    time?: number,
    extraHll?: Uint8Array,
  ): Uint8Array {
    if (typeof c.message !== "string") throw new HeliosError("INVALID_ARGUMENT", {}, "a commit message is a string");
    const full: Commit = { ...c, time: time ?? this.now(), author: this.author };
    const enc = encodeCommit(full);
    const id = commitId(enc);
    // the branch's distinct-key sketch: every key this commit changes
    const prev = this.metaGet(T_HLL, utf8(branch));
    const hll: HyperLogLog = prev === undefined ? new HyperLogLog(HLL_PRECISION) : HyperLogLog.fromBytes(prev);
    if (extraHll !== undefined) hll.merge(HyperLogLog.fromBytes(extraHll));
    for (const t of this.db.map.diff(changedFrom, c.data)) {
      for (const ch of this.db.map.diff(t.before ?? EMPTY_ROOT, t.after ?? EMPTY_ROOT))
        hll.add(concatBytes(t.key, Uint8Array.of(0), ch.key));
    }
    this.db.commitRef(this.metaRef, {
      [T_COMMITS]: [{ key: id, value: enc }],
      [T_BRANCHES]: [{ key: utf8(branch), value: encodeBranch(id) }],
      [T_HLL]: [{ key: utf8(branch), value: hll.toBytes() }],
      [LIVE_TREE]: [{ key: link(c.data, id), value: new Uint8Array(0) }],
    });
    return id;
  }

  /** Tags a revision (default: the current branch's head). Tags do not move: an existing name needs `force`. */
  tag(name: string, rev: string = this.current, opts: { message?: string; force?: boolean } = {}): Uint8Array {
    checkName("tag", name);
    if (this.metaGet(T_TAGS, utf8(name)) !== undefined && !opts.force)
      throw new HeliosError("REPO_TAG_EXISTS", { name });
    const id = this.resolve(rev);
    const t: Tag = { commit: id, message: opts.message ?? "" };
    this.db.commitRef(this.metaRef, { [T_TAGS]: [{ key: utf8(name), value: encodeTag(t) }] });
    return id;
  }

  deleteTag(name: string): void {
    if (this.metaGet(T_TAGS, utf8(name)) === undefined)
      throw new HeliosError("REPO_REV_NOT_FOUND", { rev: name }, `no tag ${name}`);
    this.db.commitRef(this.metaRef, { [T_TAGS]: [{ key: utf8(name), value: null }] });
  }

  /**
   * Moves the current branch's head to `rev`. Soft (the default) keeps the
   * working state as it is (it then differs from the new head by whatever
   * changed); `hard` also sets the working state to `rev`'s, discarding
   * uncommitted writes: the only verb besides a forced branch delete that does.
   */
  reset(rev: string, opts: { hard?: boolean } = {}): Uint8Array {
    const b = this.current;
    const id = this.resolve(rev);
    if (opts.hard) this.db.setRef(this.workRef(b), this.commit(id).data, { sync: false }); // covered by the next record
    this.db.commitRef(this.metaRef, { [T_BRANCHES]: [{ key: utf8(b), value: encodeBranch(id) }] });
    return id;
  }

  /**
   * Merges `rev` into the current branch from their merge base (a three-way
   * merge, merge.ts). The working state must be clean (REPO_DIRTY). Policy
   * "fail" (the default) throws REPO_MERGE_CONFLICT listing the conflicts and
   * changes nothing; "ours", "theirs" or a resolver function settle them.
   * If the branch is an ancestor of `rev` it fast-forwards (unless `noFastForward`).
   */
  merge(
    rev: string,
    opts: { policy?: MergePolicy; message?: string; noFastForward?: boolean; time?: number } = {},
  ): MergeResult {
    const b = this.current;
    if (this.isDirty(b))
      throw new HeliosError("REPO_DIRTY", { branch: b }, "commit or reset the working state before merging");
    const ours = this.branchHead(b);
    const theirs = this.resolve(rev);
    const base = this.mergeBase(ours, theirs);
    const none: Conflict[] = [];
    if (equalBytes(ours, theirs) || (base !== undefined && equalBytes(base, theirs))) {
      return { kind: "up-to-date", commit: ours, base, conflicts: none, taken: 0 };
    }
    const theirData = this.commit(theirs).data;
    if (base !== undefined && equalBytes(base, ours) && !opts.noFastForward) {
      this.db.setRef(this.workRef(b), theirData, { sync: false }); // covered by the next record
      const hll = this.metaGet(T_HLL, utf8(b));
      const theirHll = this.theirHll(rev);
      const w: Record<string, Op[]> = { [T_BRANCHES]: [{ key: utf8(b), value: encodeBranch(theirs) }] };
      if (theirHll !== undefined) {
        const h = hll === undefined ? new HyperLogLog(HLL_PRECISION) : HyperLogLog.fromBytes(hll);
        h.merge(HyperLogLog.fromBytes(theirHll));
        w[T_HLL] = [{ key: utf8(b), value: h.toBytes() }];
      }
      this.db.commitRef(this.metaRef, w);
      return { kind: "fast-forward", commit: theirs, base, conflicts: none, taken: 0 };
    }
    const ourData = this.commit(ours).data;
    const baseData = base === undefined ? EMPTY_ROOT : this.commit(base).data;
    const policy = opts.policy ?? "fail";
    const plan = planMerge(this.db.map, baseData, ourData, theirData, policy);
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
    // the merged state becomes the working state (durable, logged), then the merge commit records it
    const merged = plan.writes.size === 0 ? ourData : this.db.commitRef(this.workRef(b), plan.writes);
    const message = opts.message ?? `merge ${rev} into ${b}`;
    const id = this.record(
      b,
      { data: merged, parents: [ours, theirs], message },
      ourData,
      opts.time,
      this.theirHll(rev),
    );
    return { kind: "merged", commit: id, base, conflicts: plan.conflicts, taken: plan.taken };
  }

  private theirHll(rev: string): Uint8Array | undefined {
    return this.metaGet(T_BRANCHES, utf8(rev)) !== undefined ? this.metaGet(T_HLL, utf8(rev)) : undefined;
  }

  /**
   * Drops commit records no branch or tag reaches (what `reset` and deleted
   * branches leave behind), and their keep-alive links, so GC can take their
   * states. Returns the ids dropped. With `dryRun`, changes nothing.
   */
  prune(opts: { dryRun?: boolean } = {}): Uint8Array[] {
    const reach = new Set<string>();
    const stack: Uint8Array[] = [
      ...this.branchNames().map((n) => this.branchHead(n)),
      ...this.tags().map((t) => t.commit),
    ];
    while (stack.length > 0) {
      const id = stack.pop() as Uint8Array;
      const k = bytesToHex(id);
      if (reach.has(k)) continue;
      reach.add(k);
      const rec = this.metaGet(T_COMMITS, id);
      if (rec !== undefined) for (const p of decodeCommit(rec).parents) stack.push(p);
    }
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
   * Forgets old commits (retention, like restic's forget): for every branch,
   * walks its first-parent line from the head and keeps the head, the newest
   * `keepLast` commits, and every commit made within `keepWithinMs` of `now`
   * (inclusive), stopping at the first commit neither rule keeps; tagged
   * commits are kept too. Every other commit record and its keep-alive link
   * is dropped in one logged record, so GC can take the states only they
   * held. History before a kept commit is then "forgotten": `log` stops
   * there, and a merge whose base was forgotten merges from the empty state
   * (so every differing key is a conflict for the policy). With `dryRun`,
   * nothing changes.
   */
  forget(
    policy: { keepLast?: number; keepWithinMs?: number },
    opts: { now: number; dryRun?: boolean },
  ): { kept: Uint8Array[]; forgotten: Uint8Array[] } {
    const keep = new Set<string>();
    const kept: Uint8Array[] = [];
    const add = (id: Uint8Array) => {
      const k = bytesToHex(id);
      if (!keep.has(k)) {
        keep.add(k);
        kept.push(id);
      }
    };
    for (const t of this.tags()) add(t.commit);
    for (const name of this.branchNames()) {
      let id: Uint8Array | undefined = this.branchHead(name);
      let n = 0;
      while (id !== undefined && this.metaGet(T_COMMITS, id) !== undefined) {
        const c = this.commit(id);
        const within = policy.keepWithinMs !== undefined && opts.now - c.time <= policy.keepWithinMs;
        const last = n < (policy.keepLast ?? 0);
        if (n === 0 || within || last) add(id);
        else break;
        n++;
        id = c.parents[0];
      }
    }
    const forgotten = this.dropCommits((id) => !keep.has(bytesToHex(id)), opts.dryRun === true);
    return { kept, forgotten };
  }
}
