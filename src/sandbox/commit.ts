/**
 * sandbox/commit — the canonical encodings of the repository's records:
 * commits, branch records and tags (docs/spec/repo.md R1–R4).
 *
 *   commit  = 0x01 ‖ data[32] ‖ varint(nParents) ‖ parent[32]* ‖ time u64 ‖
 *             str(author) ‖ str(message)
 *   id      = BLAKE3("helios.commit.v1" ‖ commit)
 *   branch  = 0x01 ‖ head[32]                     (the head commit's id)
 *   tag     = 0x01 ‖ commit[32] ‖ str(message)
 *   str     = varint(len) ‖ UTF-8 bytes
 *
 * Invariants: encodings are canonical (one byte string per record; decoders
 * reject anything else with CODEC_MALFORMED), so a commit's id is a function
 * of its data root, parents, time, author and message only.
 * Costs: linear in the record size.
 */
import { concatBytes, HASH_BYTES, hash, Reader, utf8 } from "../core/index.js";
import { Writer } from "../history/index.js";

export interface Commit {
  /** The forest root of the committed state. */
  readonly data: Uint8Array;
  /** Parent commit ids: none for a root commit, two for a merge. */
  readonly parents: readonly Uint8Array[];
  /** Milliseconds since the epoch, from the repository's clock. */
  readonly time: number;
  readonly author: string;
  readonly message: string;
}

const COMMIT_DOMAIN = utf8("helios.commit.v1");
const MAX_PARENTS = 16;

export function encodeCommit(c: Commit): Uint8Array {
  const w = new Writer(128 + c.message.length * 3);
  w.u8(1);
  w.raw(c.data);
  w.varint(c.parents.length);
  for (const p of c.parents) w.raw(p);
  w.u64(c.time);
  w.str(c.author);
  w.str(c.message);
  return w.finish();
}

const text = new TextDecoder("utf-8", { fatal: true });
function str(r: Reader): string {
  try {
    return text.decode(r.bytes(r.varint()));
  } catch (e) {
    if (e instanceof TypeError) r.fail("string is not UTF-8");
    throw e;
  }
}

function u64(r: Reader): number {
  const b = r.bytes(8);
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.fail("time out of range");
  return Number(v);
}

export function decodeCommit(b: Uint8Array): Commit {
  const r = new Reader(b);
  if (r.byte() !== 1) r.fail("unknown commit version");
  const data = r.bytes(HASH_BYTES).slice();
  const n = r.varint();
  if (n > MAX_PARENTS) r.fail("too many parents");
  const parents: Uint8Array[] = [];
  for (let i = 0; i < n; i++) parents.push(r.bytes(HASH_BYTES).slice());
  const time = u64(r);
  const author = str(r);
  const message = str(r);
  r.done();
  return { data, parents, time, author, message };
}

export function commitId(encoded: Uint8Array): Uint8Array {
  return hash(concatBytes(COMMIT_DOMAIN, encoded));
}

export function encodeBranch(head: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(1), head);
}

export function decodeBranch(b: Uint8Array): Uint8Array {
  const r = new Reader(b);
  if (r.byte() !== 1) r.fail("unknown branch record version");
  const head = r.bytes(HASH_BYTES).slice();
  r.done();
  return head;
}

export interface Tag {
  readonly commit: Uint8Array;
  readonly message: string;
}

export function encodeTag(t: Tag): Uint8Array {
  const w = new Writer(40 + t.message.length * 3);
  w.u8(1);
  w.raw(t.commit);
  w.str(t.message);
  return w.finish();
}

export function decodeTag(b: Uint8Array): Tag {
  const r = new Reader(b);
  if (r.byte() !== 1) r.fail("unknown tag record version");
  const commit = r.bytes(HASH_BYTES).slice();
  const message = str(r);
  r.done();
  return { commit, message };
}

/**
 * An operation that spans two refs (the metadata and a working state), written
 * first so that a crash mid-way is finished by `Repo.open` (R9a):
 *   setWork = 0x01 ‖ root[32]                  the working state must become root
 *   merge   = 0x02 ‖ ours[32] ‖ theirs[32] ‖ time u64 ‖ str(message) ‖ str(their branch or "")
 */
export type Pending =
  | { readonly kind: "setWork"; readonly root: Uint8Array }
  | {
      readonly kind: "merge";
      readonly ours: Uint8Array;
      readonly theirs: Uint8Array;
      readonly time: number;
      readonly message: string;
      readonly theirBranch: string;
    };

export function encodePending(p: Pending): Uint8Array {
  const w = new Writer(p.kind === "setWork" ? 33 : 96 + p.message.length * 3);
  if (p.kind === "setWork") {
    w.u8(1);
    w.raw(p.root);
  } else {
    w.u8(2);
    w.raw(p.ours);
    w.raw(p.theirs);
    w.u64(p.time);
    w.str(p.message);
    w.str(p.theirBranch);
  }
  return w.finish();
}

export function decodePending(b: Uint8Array): Pending {
  const r = new Reader(b);
  const kind = r.byte();
  let p: Pending;
  if (kind === 1) p = { kind: "setWork", root: r.bytes(HASH_BYTES).slice() };
  else if (kind === 2) {
    const ours = r.bytes(HASH_BYTES).slice();
    const theirs = r.bytes(HASH_BYTES).slice();
    const time = u64(r);
    const message = str(r);
    p = { kind: "merge", ours, theirs, time, message, theirBranch: str(r) };
  } else return r.fail("unknown pending operation");
  r.done();
  return p;
}
