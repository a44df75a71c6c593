/**
 * merkle/check — verify a whole version: every node reachable from a root is
 * present, canonically encoded, and hashes to the id its parent names.
 *
 * Reads never recompute ids (that would cost a hash per node per read); a
 * durable store checks what it reads from disk, and this walk checks a whole
 * version end to end: after an import, before serving a snapshot, or when an
 * operator asks (`helios store verify`, store layer).
 *
 * Invariants: the first bad node stops the walk with a coded error that names
 * it: MERKLE_NODE_MISSING (absent), MERKLE_NODE_MALFORMED (not canonical) or
 * STORE_CORRUPT (its bytes hash to another id). Nothing is modified.
 * Costs: O(reachable nodes) reads and one id recomputation per node (single
 * kernel calls, about k for a branch of k children); iterative; a node shared
 * by several parents is checked once.
 */
import { bytesToHex, equalRange, HASH_BYTES, HeliosError } from "../core/index.js";
import { BranchView, isEmptyRoot, nodeIdInto, parseBranch, TAG_LEAF } from "./node.js";
import { load } from "./read.js";
import { MemoryStore, type NodeStore } from "./store.js";

export interface VersionReport {
  /** Distinct nodes checked. */
  nodes: number;
  /** Leaves among them (the version's entries). */
  leaves: number;
  /** Encoded bytes read. */
  bytes: number;
}

const NO_BYTES = new Uint8Array(0);

/**
 * Checks every node of the version `root`; returns what it checked, or
 * throws naming the first bad node. `seen` (shared across calls) skips nodes
 * already checked; `onProgress` is called every 4,096 nodes.
 */
export function checkVersion(
  store: NodeStore,
  root: Uint8Array,
  opts: { seen?: MemoryStore; onProgress?: (r: VersionReport) => void } = {},
): VersionReport {
  const report: VersionReport = { nodes: 0, leaves: 0, bytes: 0 };
  if (isEmptyRoot(root)) return report;
  const seen = opts.seen ?? new MemoryStore();
  const onProgress = opts.onProgress;
  const got = new Uint8Array(HASH_BYTES);
  const bv = new BranchView();
  const bufs: Uint8Array[] = [root];
  const offs: number[] = [0];
  while (bufs.length > 0) {
    const buf = bufs.pop() as Uint8Array;
    const off = offs.pop() as number;
    if (seen.has(buf, off)) continue;
    const bytes = load(store, buf, off);
    nodeIdInto(bytes, got, 0);
    if (!equalRange(got, 0, buf, off, HASH_BYTES)) {
      throw new HeliosError(
        "STORE_CORRUPT",
        { id: bytesToHex(buf.subarray(off, off + HASH_BYTES)), hashesTo: bytesToHex(got) },
        "a node's bytes hash to a different id",
      );
    }
    seen.put(buf, off, NO_BYTES, 0, 0);
    report.nodes++;
    report.bytes += bytes.length;
    if (onProgress !== undefined && (report.nodes & 4095) === 0) onProgress(report);
    if (bytes[0] === TAG_LEAF) {
      report.leaves++;
      continue;
    }
    parseBranch(bytes, 0, bytes.length, bv);
    for (let i = bv.count - 1; i >= 0; i--) {
      bufs.push(bytes);
      offs.push(bv.childOff + i * HASH_BYTES);
    }
  }
  return report;
}
