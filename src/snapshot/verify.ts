/**
 * snapshot/verify — checks one chunk against the manifest and the root, on
 * its own, before anything from it is written; and says what the caller
 * should do next when it fails (the reply, modelled on CometBFT's
 * ApplySnapshotChunk results).
 *
 * Order of checks (the first failure names the reason): the file envelope
 * (BAD_COMPRESSION), the body's grammar (MALFORMED), the header's root and
 * kind (WRONG_ROOT), its index and range against the manifest
 * (OUT_OF_ORDER), the entries' order and range (INJECTED_KEYS), the count of
 * entries against the proof's slots (MISSING_KEYS / INJECTED_KEYS), the
 * forest proof and each tree's proof against the root (BAD_PROOF; for an
 * increment, changes the target contradicts are INJECTED_KEYS), and last the
 * body's hash against the manifest (HASH_MISMATCH: the chunk is right, the
 * manifest is not).
 *
 * Invariants: a chunk that passes holds exactly the state's entries in its
 * range (full), or only changes the target agrees with (incremental; a
 * change left out is caught by the import's final root check); hostile
 * bytes only ever raise SNAPSHOT_CHUNK_* errors.
 * Costs: one decompression, one BLAKE3 of the compressed bytes and one of
 * the body, and one proof verification (a hash per revealed node and leaf).
 */
import { bytesToHex, compareBytes, equalBytes, HASH_BYTES, HeliosError, hash, isHeliosError } from "../core/index.js";
import type { Op } from "../merkle/index.js";
import { isEmptyRoot, verifyKeys, verifyRange } from "../merkle/index.js";
import { forestRange, treeRange } from "./build.js";
import {
  type ChunkBody,
  comparePos,
  countSlots,
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
export function verifyChunk(m: Manifest, index: number, file: Uint8Array): VerifiedChunk {
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
  const writes = c.kind === "full" ? verifyFull(c, index) : verifyIncremental(c, index);
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

function verifyFull(c: ChunkBody, index: number): Map<string, Op[]> {
  // 1. the forest: which trees the range touches, and their roots
  const [flo, fhi] = forestRange(c.start, c.end);
  let trees: { key: Uint8Array; value: Uint8Array }[];
  try {
    trees = isEmptyRoot(c.root)
      ? c.forestProof.length === 1 && c.forestProof[0] === 0
        ? []
        : fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a non-empty forest proof for the empty state")
      : verifyRange(c.root, flo, fhi, c.forestProof);
  } catch (e) {
    if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `forest proof: ${e.message}`);
    throw e;
  }
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
    const slots = countSlots(s.proof, index);
    if (s.entries.length < slots) {
      fail("SNAPSHOT_CHUNK_MISSING_KEYS", index, `${slots - s.entries.length} of ${slots} entries are left out`);
    }
    if (s.entries.length > slots) {
      fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, `${s.entries.length - slots} entries more than the proof holds`);
    }
    const witness = fromSkeleton(s.proof, s.entries, index, s.proof.length + s.entries.length * 64);
    const [lo, hi] = treeRange(s.tree, c.start, c.end);
    let got: { key: Uint8Array }[];
    try {
      got = isEmptyRoot(t.value) ? [] : verifyRange(t.value, lo, hi, witness);
    } catch (e) {
      if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `tree proof: ${e.message}`);
      throw e;
    }
    if (got.length !== s.entries.length) {
      fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "an entry sits outside the chunk's range in the proof");
    }
    writes.set(
      new TextDecoder().decode(s.tree),
      s.entries.map((e) => ({ key: e.key, value: e.value as Uint8Array })),
    );
  }
  return writes;
}

function verifyIncremental(c: ChunkBody, index: number): Map<string, Op[]> {
  // 1. each tree's target root, by a multi-key proof on the forest
  let rootHashes: (Uint8Array | undefined)[];
  try {
    rootHashes = isEmptyRoot(c.root)
      ? c.segments.map(() => undefined)
      : verifyKeys(
          c.root,
          c.segments.map((s) => s.tree),
          c.forestProof,
        );
  } catch (e) {
    if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `forest proof: ${e.message}`);
    throw e;
  }
  const writes = new Map<string, Op[]>();
  for (let j = 0; j < c.segments.length; j++) {
    const s = c.segments[j] as (typeof c.segments)[number];
    const tr = s.treeRoot as Uint8Array;
    const h = rootHashes[j];
    if (h === undefined ? !isEmptyRoot(tr) : !equalBytes(h, hash(tr))) {
      fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a tree root the forest proof does not back");
    }
    if (s.entries.length === 0) fail("SNAPSHOT_CHUNK_MALFORMED", index, "an empty segment");
    // 2. every change against the target tree: puts present with their value, deletes absent
    let found: (Uint8Array | undefined)[];
    try {
      found = isEmptyRoot(tr)
        ? s.proof.length === 1 && s.proof[0] === 0
          ? s.entries.map(() => undefined)
          : fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a non-empty proof for an empty tree")
        : verifyKeys(
            tr,
            s.entries.map((e) => e.key),
            s.proof,
          );
    } catch (e) {
      if (merkleFailure(e)) fail("SNAPSHOT_CHUNK_BAD_PROOF", index, `tree proof: ${e.message}`);
      throw e;
    }
    for (let i = 0; i < s.entries.length; i++) {
      const e = s.entries[i] as { key: Uint8Array; value: Uint8Array | null };
      const f = found[i];
      if (e.value === null) {
        if (f !== undefined) {
          fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "a delete of a key the target holds", { key: bytesToHex(e.key) });
        }
      } else if (f === undefined) {
        fail("SNAPSHOT_CHUNK_INJECTED_KEYS", index, "a put of a key the target does not hold", {
          key: bytesToHex(e.key),
        });
      } else if (!equalBytes(f, hash(e.value))) {
        fail("SNAPSHOT_CHUNK_BAD_PROOF", index, "a put whose value the target does not hold", {
          key: bytesToHex(e.key),
        });
      }
    }
    writes.set(
      new TextDecoder().decode(s.tree),
      s.entries.map((e) => ({ key: e.key, value: e.value })),
    );
  }
  return writes;
}
