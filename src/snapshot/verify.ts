/**
 * snapshot/verify — checks one chunk against the manifest and the root, on
 * its own, before anything from it is written; and says what the caller
 * should do next when it fails (the reply, modelled on CometBFT's
 * ApplySnapshotChunk results).
 *
 * Order of checks (the first failure names the reason): the file envelope
 * (BAD_COMPRESSION), the body's grammar (MALFORMED), the header's root and
 * kind (WRONG_ROOT), its index and range against the manifest
 * (OUT_OF_ORDER), the entries' order and range (INJECTED_KEYS); then for a
 * full chunk the count of entries against the proof's slots (MISSING_KEYS /
 * INJECTED_KEYS) and the forest and tree range proofs (BAD_PROOF); for an
 * incremental chunk the forest range proof and each tree's boundary witness
 * (BAD_PROOF), and — against the receiver's version with the changes applied
 * in a scratch overlay — every region the witness implies (MISSING_KEYS /
 * INJECTED_KEYS, docs/spec/snapshot.md S15); last the body's hash against the
 * manifest (HASH_MISMATCH: the chunk is right, the manifest is not).
 *
 * Invariants: a full chunk that passes holds exactly the state's entries in
 * its range; an incremental chunk that passes (with the receiver's version)
 * turns that version's range into exactly the target's; hostile bytes only
 * ever raise SNAPSHOT_CHUNK_* errors.
 * Costs: one decompression, one BLAKE3 of the compressed bytes and one of
 * the body, and one proof verification (a hash per revealed node and leaf);
 * an increment adds a trial update of its changes and, per region check,
 * one root-to-region walk (a few hundred per tree: the boundary paths).
 */
import { bytesToHex, compareBytes, equalBytes, HASH_BYTES, HeliosError, hash, isHeliosError } from "../core/index.js";
import {
  BoundaryQuery,
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
  isEmptyRoot,
  type MerkleMap,
  type NodeStore,
  type Op,
  subtreeIdAt,
  verifyBoundary,
  verifyRange,
  verifyRangeCount,
  type WitnessVisitor,
} from "../merkle/index.js";
import { forestRange, treeRange } from "./build.js";
import {
  type ChunkBody,
  comparePos,
  decodeChunk,
  decodeFile,
  fromSkeleton,
  type Manifest,
  type Position,
} from "./format.js";

export type ChunkAction = "accept" | "retry_chunk" | "reject_snapshot" | "abort";

/** What the caller does next with a chunk. */
export interface ChunkReply {
  action: ChunkAction;
  chunk: number;
  /** Refetch these chunks (from another sender). */
  refetch: number[];
  /** The sender gave bad data: stop asking it. */
  rejectSender: boolean;
  error?: HeliosError;
}

type ChunkCode =
  | "SNAPSHOT_CHUNK_BAD_COMPRESSION"
  | "SNAPSHOT_CHUNK_MALFORMED"
  | "SNAPSHOT_CHUNK_WRONG_ROOT"
  | "SNAPSHOT_CHUNK_OUT_OF_ORDER"
  | "SNAPSHOT_CHUNK_MISSING_KEYS"
  | "SNAPSHOT_CHUNK_INJECTED_KEYS"
  | "SNAPSHOT_CHUNK_BAD_PROOF"
  | "SNAPSHOT_CHUNK_HASH_MISMATCH";

const REASON: Record<ChunkCode, string> = {
  SNAPSHOT_CHUNK_BAD_COMPRESSION: "bad compression",
  SNAPSHOT_CHUNK_MALFORMED: "malformed",
  SNAPSHOT_CHUNK_WRONG_ROOT: "wrong root",
  SNAPSHOT_CHUNK_OUT_OF_ORDER: "out of order",
  SNAPSHOT_CHUNK_MISSING_KEYS: "missing keys",
  SNAPSHOT_CHUNK_INJECTED_KEYS: "injected keys",
  SNAPSHOT_CHUNK_BAD_PROOF: "bad proof",
  SNAPSHOT_CHUNK_HASH_MISMATCH: "manifest hash mismatch",
};

function fail(code: ChunkCode, chunk: number, detail: string, ctx: Record<string, unknown> = {}): never {
  throw new HeliosError(code, { chunk, reason: REASON[code], ...ctx }, `chunk ${chunk}: ${detail}`);
}

/** The reply for an error raised while verifying or applying chunk `chunk`. */
export function replyFor(e: unknown, chunk: number): ChunkReply {
  if (!(e instanceof HeliosError) || !e.code.startsWith("SNAPSHOT_")) {
    return {
      action: "abort",
      chunk,
      refetch: [],
      rejectSender: false,
      ...(e instanceof HeliosError ? { error: e } : {}),
    };
  }
  switch (e.code) {
    case "SNAPSHOT_CHUNK_OUT_OF_ORDER":
      return { action: "retry_chunk", chunk, refetch: [chunk], rejectSender: false, error: e };
    case "SNAPSHOT_CHUNK_HASH_MISMATCH":
    case "SNAPSHOT_ROOT_MISMATCH":
    case "SNAPSHOT_MANIFEST_INVALID":
    case "SNAPSHOT_UNTRUSTED_ROOT":
      return { action: "reject_snapshot", chunk, refetch: [], rejectSender: true, error: e };
    case "SNAPSHOT_BASE_MISSING":
      return { action: "abort", chunk, refetch: [], rejectSender: false, error: e };
    default:
      return { action: "retry_chunk", chunk, refetch: [chunk], rejectSender: true, error: e };
  }
}

export interface VerifiedChunk {
  index: number;
  /** Tree name → ops (puts; an increment's deletes have value null), keys ascending. */
  writes: Map<string, Op[]>;
  entries: number;
  rawBytes: number;
}

function merkleFailure(e: unknown): e is HeliosError {
  return isHeliosError(e, "MERKLE_PROOF_INVALID") || isHeliosError(e, "MERKLE_PROOF_MALFORMED");
}

function posEqual(a: Position | undefined, b: Position | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return comparePos(a, b) === 0;
}

/** Verifies chunk `index` of the snapshot described by `m` (its file bytes). Throws SNAPSHOT_CHUNK_* or returns its writes. */
export function verifyChunk(m: Manifest, index: number, file: Uint8Array, ctx?: IncrementContext): VerifiedChunk {
  const meta = m.chunks[index];
  if (meta === undefined) {
    throw new HeliosError("INVALID_ARGUMENT", { chunk: index, chunks: m.chunks.length }, "no such chunk index");
  }
  const body = decodeFile(file, index);
  const c = decodeChunk(body, index);
  if (c.kind !== m.kind || !equalBytes(c.root, m.root) || !equalBytes(c.baseRoot, m.baseRoot)) {
    fail("SNAPSHOT_CHUNK_WRONG_ROOT", index, "the chunk belongs to another snapshot", {
      root: bytesToHex(c.root),
      expected: bytesToHex(m.root),
    });
  }
  const end = m.chunks[index + 1]?.start;
  if (c.index !== index || !posEqual(c.start, meta.start) || !posEqual(c.end, end)) {
    fail("SNAPSHOT_CHUNK_OUT_OF_ORDER", index, `got chunk ${c.index}, or a key range other than the manifest's`, {
      got: c.index,
    });
  }
  checkOrderAndRange(c, index);
  const writes = c.kind === "full" ? verifyFull(c, index) : verifyIncremental(c, index, ctx);
  if (!equalBytes(hash(body), meta.hash)) {
    fail(
      "SNAPSHOT_CHUNK_HASH_MISMATCH",
      index,
      "the chunk is valid for the root but is not the one the manifest lists",
    );
  }
  let entries = 0;
  for (const s of c.segments) entries += s.entries.length;
  return { index, writes, entries, rawBytes: body.length };
}

function checkOrderAndRange(c: ChunkBody, index: number): void {
  let prev: Position | undefined;
  for (const s of c.segments) {
    if (prev !== undefined && compareBytes(s.tree, prev.tree) <= 0) {
      fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "trees out of order or repeated");
    }
    for (const e of s.entries) {
      const p = { tree: s.tree, key: e.key };
      if (prev !== undefined && comparePos(p, prev) <= 0) {
        fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "an entry out of order or repeated", { key: bytesToHex(e.key) });
      }
      if (comparePos(p, c.start) < 0 || (c.end !== undefined && comparePos(p, c.end) >= 0)) {
        fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "an entry outside the chunk's range", { key: bytesToHex(e.key) });
      }
      prev = p;
    }
    prev = { tree: s.tree, key: prev !== undefined && equalBytes(prev.tree, s.tree) ? prev.key : new Uint8Array(0) };
  }
}

/** The trees (name, root) the chunk's name range meets in the state, from its forest range proof. */
function forestTrees(c: ChunkBody, index: number): { key: Uint8Array; value: Uint8Array }[] {
  const [flo, fhi] = forestRange(c.start, c.end);
  try {
    if (!isEmptyRoot(c.root)) return verifyRange(c.root, flo, fhi, c.forestProof);
    if (c.forestProof.length === 1 && c.forestProof[0] === 0) return [];
    return fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a non-empty forest proof for the empty state");
  } catch (e) {
    if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `forest proof: ${e.message}`);
    throw e;
  }
}

function verifyFull(c: ChunkBody, index: number): Map<string, Op[]> {
  // 1. the forest: which trees the range touches, and their roots
  const trees = forestTrees(c, index);
  // 2. one segment per tree the forest reveals, in order
  let i = 0;
  for (const t of trees) {
    const s = c.segments[i];
    if (s === undefined || compareBytes(s.tree, t.key) > 0) {
      fail("SNAPSHOT_CHUNK_MISSING_KEYS", index, `tree ${JSON.stringify(new TextDecoder().decode(t.key))} is left out`);
    }
    if (compareBytes(s.tree, t.key) < 0) {
      fail(
        "SNAPSHOT_CHUNK_INJECTED_KEYS",
        index,
        `tree ${JSON.stringify(new TextDecoder().decode(s.tree))} is not in the state`,
      );
    }
    if (t.value.length !== HASH_BYTES) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a forest entry that is not a root");
    i++;
  }
  if (i < c.segments.length) {
    fail(
      "SNAPSHOT_CHUNK_INJECTED_KEYS",
      index,
      `tree ${JSON.stringify(new TextDecoder().decode((c.segments[i] as { tree: Uint8Array }).tree))} is not in the state`,
    );
  }
  // 3. each tree's range: entries against the proof's slots, then the proof against the tree root
  const writes = new Map<string, Op[]>();
  for (let j = 0; j < trees.length; j++) {
    const t = trees[j] as { key: Uint8Array; value: Uint8Array };
    const s = c.segments[j] as (typeof c.segments)[number];
    // entries fill the skeleton's slots: too few is MISSING_KEYS, too many INJECTED_KEYS
    const witness = fromSkeleton(s.proof, s.entries, index, s.proof.length + s.entries.length * 64);
    const [lo, hi] = treeRange(s.tree, c.start, c.end);
    let got: number;
    try {
      got = isEmptyRoot(t.value) ? 0 : verifyRangeCount(t.value, lo, hi, witness);
    } catch (e) {
      if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `tree proof: ${e.message}`);
      throw e;
    }
    if (got !== s.entries.length) {
      fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "an entry sits outside the chunk's range in the proof");
    }
    writes.set(new TextDecoder().decode(s.tree), s.entries); // {key, value} entries are the ops
  }
  return writes;
}

/** What verifying an incremental chunk needs from the receiver: its store and the version the chunk applies to. */
export interface IncrementContext {
  map: MerkleMap;
  /** The forest root the chunk's changes apply to (the import's work ref). */
  working: Uint8Array;
}

/** A store that reads through to `base` and keeps its own writes: a trial update that writes nothing. */
class OverlayStore implements NodeStore {
  readonly top = createMemoryStore();
  constructor(readonly base: NodeStore) {}
  get(id: Uint8Array, off: number): Uint8Array | undefined {
    return this.top.get(id, off) ?? this.base.get(id, off);
  }
  put(id: Uint8Array, idOff: number, src: Uint8Array, srcOff: number, len: number): void {
    this.top.put(id, idOff, src, srcOff, len);
  }
  has(id: Uint8Array, off: number): boolean {
    return this.top.has(id, off) || this.base.has(id, off);
  }
  get size(): number {
    return this.top.size;
  }
}

function nibblesToKey(p: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array((len + 1) >> 1);
  for (let i = 0; i < len; i++) out[i >> 1] = (out[i >> 1] as number) | ((p[i] as number) << ((i & 1) === 0 ? 4 : 0));
  return out;
}

/** [first, end) of the keys with nibble prefix p[0..len) (end undefined: unbounded). */
function regionRange(p: Uint8Array, len: number): [Uint8Array, Uint8Array | undefined] {
  const first = nibblesToKey(p, len);
  const q = p.slice(0, len);
  let i = len - 1;
  while (i >= 0 && q[i] === 15) i--;
  if (i < 0) return [first, undefined];
  q[i] = (q[i] as number) + 1;
  return [first, nibblesToKey(q, i + 1)];
}

/** One place where the receiver's version must match the target's, recorded during the witness walk. */
type RegionCheck =
  | { kind: "id"; path: Uint8Array; exact: boolean; id: Uint8Array }
  | { kind: "empty"; path: Uint8Array; exact: boolean }
  | { kind: "leaf"; path: Uint8Array; exact: boolean; key: Uint8Array; valueHash: Uint8Array; id: Uint8Array };

/**
 * Does version `root` (of `map`) hold, inside [lo, hi), exactly what the
 * target holds there according to `check`?
 */
function holds(map: MerkleMap, root: Uint8Array, c: RegionCheck, q: BoundaryQuery): boolean {
  const len = c.path.length;
  const range = q.range;
  if (c.exact) {
    const key = nibblesToKey(c.path, len);
    if (!range.contains(key)) return true;
    const v = isEmptyRoot(root) ? undefined : map.get(root, key);
    if (c.kind === "empty") return v === undefined;
    if (c.kind === "id") return equalBytes(subtreeIdAt(map.store, root, c.path, len, true), c.id);
    return v !== undefined && equalBytes(hash(v), c.valueHash);
  }
  if (!range.touches(c.path, len, false)) return true;
  const sub = subtreeIdAt(map.store, root, c.path, len, false);
  if (q.inside(c.path, len)) {
    if (c.kind === "empty") return isEmptyRoot(sub);
    return equalBytes(sub, c.id);
  }
  // a region across a boundary of the range: compare what lies inside the range
  if (c.kind === "id") return false; // the witness never prunes such a region
  if (isEmptyRoot(sub)) return c.kind === "empty" || !range.contains(c.key);
  const [first, end] = regionRange(c.path, len);
  const start = compareBytes(first, range.start) > 0 ? first : range.start;
  const stop =
    end === undefined ? range.end : range.end === undefined || compareBytes(end, range.end) < 0 ? end : range.end;
  const got: [Uint8Array, Uint8Array][] = [];
  for (const e of map.entries(root, stop === undefined ? { start } : { start, end: stop })) {
    got.push(e);
    if (got.length > 1) break;
  }
  if (c.kind === "empty" || !range.contains(c.key)) return got.length === 0;
  const only = got[0];
  return got.length === 1 && only !== undefined && equalBytes(only[0], c.key) && equalBytes(hash(only[1]), c.valueHash);
}

/**
 * The checks a boundary witness of the target implies for [lo, hi): every
 * pruned child inside the range (its id), every revealed leaf (its key and
 * value there), every empty slot and every area off a revealed branch's skip
 * (nothing there). Together they cover every key position of the range.
 */
function boundaryChecks(
  treeRoot: Uint8Array,
  lo: Uint8Array,
  hi: Uint8Array | undefined,
  proof: Uint8Array,
): RegionCheck[] {
  const checks: RegionCheck[] = [];
  const visitor: WitnessVisitor = {
    pruned(path, len, exact, id) {
      checks.push({ kind: "id", path: path.slice(0, len), exact, id: id.slice() });
    },
    leaf(path, len, exact, key, valueHash, id) {
      checks.push({
        kind: "leaf",
        path: path.slice(0, len),
        exact,
        key: key.slice(),
        valueHash: valueHash.slice(),
        id: id.slice(),
      });
    },
    branch(path, len, skipLen, bitmap) {
      // off the skip: at each skipped nibble, the 15 sibling regions hold nothing (nor does the exact key
      // at an even depth inside the skip)
      for (let i = 0; i < skipLen; i++) {
        const at = len + i;
        if ((at & 1) === 0) checks.push({ kind: "empty", path: path.slice(0, at), exact: true });
        for (let x = 0; x < 16; x++) {
          if (x === path[at]) continue;
          const p = path.slice(0, at + 1);
          p[at] = x;
          checks.push({ kind: "empty", path: p, exact: false });
        }
      }
      // empty slots
      const cl = len + skipLen;
      if ((bitmap & 1) === 0 && (cl & 1) === 0) checks.push({ kind: "empty", path: path.slice(0, cl), exact: true });
      for (let s = 1; s < 17; s++) {
        if (((bitmap >> s) & 1) === 1) continue;
        const p = path.slice(0, cl + 1);
        p[cl] = s - 1;
        checks.push({ kind: "empty", path: p, exact: false });
      }
    },
  };
  verifyBoundary(treeRoot, lo, hi, proof, visitor);
  return checks;
}

function verifyIncremental(c: ChunkBody, index: number, ctx: IncrementContext | undefined): Map<string, Op[]> {
  // 1. the target's roots of the trees the chunk's name range meets
  const [flo, fhi] = forestRange(c.start, c.end);
  const target = forestTrees(c, index);
  const targetRoots = new Map(target.map((t) => [bytesToHex(t.key), t.value]));
  // 2. one segment per tree in the range, in the target or in the receiver's version
  const expected = new Map<string, Uint8Array>(target.map((t) => [bytesToHex(t.key), t.key]));
  if (ctx !== undefined && !isEmptyRoot(ctx.working)) {
    for (const [k] of ctx.map.entries(ctx.working, fhi === undefined ? { start: flo } : { start: flo, end: fhi })) {
      expected.set(bytesToHex(k), k);
    }
  }
  const segNames = new Set(c.segments.map((s) => bytesToHex(s.tree)));
  for (const [hex, name] of expected) {
    if (!segNames.has(hex))
      fail("SNAPSHOT_CHUNK_MISSING_KEYS", index, `tree ${JSON.stringify(new TextDecoder().decode(name))} is left out`);
  }
  if (ctx !== undefined) {
    for (const s of c.segments) {
      if (!expected.has(bytesToHex(s.tree))) {
        fail(
          "SNAPSHOT_CHUNK_INJECTED_KEYS",
          index,
          `tree ${JSON.stringify(new TextDecoder().decode(s.tree))} is in neither version`,
        );
      }
    }
  }
  const overlay = ctx === undefined ? undefined : createMerkleMap({ store: new OverlayStore(ctx.map.store) });
  const writes = new Map<string, Op[]>();
  for (const s of c.segments) {
    const name = new TextDecoder().decode(s.tree);
    const tr = s.treeRoot as Uint8Array;
    if (!equalBytes(targetRoots.get(bytesToHex(s.tree)) ?? EMPTY_ROOT, tr)) {
      fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `tree ${JSON.stringify(name)}: a root the forest proof does not back`);
    }
    const [lo, hi] = treeRange(s.tree, c.start, c.end);
    const q = new BoundaryQuery(lo, hi);
    // 3. the target's boundary witness over the tree's range
    let checks: RegionCheck[];
    try {
      if (isEmptyRoot(tr)) {
        if (!(s.proof.length === 1 && s.proof[0] === 0))
          fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a proof for an empty tree");
        checks = [{ kind: "empty", path: new Uint8Array(0), exact: false }];
      } else checks = boundaryChecks(tr, lo, hi, s.proof);
    } catch (e) {
      if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `tree ${JSON.stringify(name)}: ${e.message}`);
      throw e;
    }
    const ops: Op[] = s.entries.map((e) => ({ key: e.key, value: e.value }));
    writes.set(name, ops);
    if (ctx === undefined || overlay === undefined) continue;
    // 4. the receiver's version with the changes applied must equal the target in the range
    const before = ctx.map.get(ctx.working, s.tree) ?? EMPTY_ROOT;
    let after: Uint8Array;
    try {
      after = ops.length === 0 ? before : overlay.update(before, ops);
    } catch (e) {
      if (e instanceof HeliosError && e.code.startsWith("MERKLE_")) {
        fail("SNAPSHOT_CHUNK_MALFORMED", index, `tree ${JSON.stringify(name)}: ${e.message}`);
      }
      throw e;
    }
    for (const chk of checks) {
      if (holds(overlay, after, chk, q)) continue;
      // the target differs from the result here: if it agreed with the version before the
      // changes, the chunk's changes broke it (injected); else a change is missing
      const code = holds(overlay, before, chk, q) ? "SNAPSHOT_CHUNK_INJECTED_KEYS" : "SNAPSHOT_CHUNK_MISSING_KEYS";
      fail(
        code,
        index,
        `tree ${JSON.stringify(name)}: after the changes, the range differs from the target at nibble path ${bytesToHex(chk.path)}`,
      );
    }
  }
  return writes;
}
