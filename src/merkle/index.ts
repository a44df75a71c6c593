/**
 * merkle — the authenticated, ordered, content-addressed map (pure, no I/O).
 * Lower layers: core. Must not import store/, history/ or anything above.
 */
export type { Change, DiffStats } from "./diff.js";
export { checkVersion, type VersionReport } from "./check.js";
export { Draft, type Op } from "./draft.js";
export { createFlatView, FlatView } from "./flat.js";
export { createMerkleMap, MerkleMap, type MerkleMapOptions } from "./map.js";
export { EMPTY_ROOT, isEmptyRoot, MAX_KEY_BYTES, MAX_VALUE_BYTES, nodeIdInto } from "./node.js";
export {
  type Entry,
  type KeyProofResult,
  P_BRANCH,
  P_EMPTY,
  P_HASH,
  P_LEAF,
  P_LEAFV,
  P_SPLIT,
  proveBoundary,
  proveKeys,
  proveRange,
  type RevealedLeaf,
  verifyBoundary,
  verifyKeys,
  verifyProof,
  verifyRange,
  verifyRangeCount,
  verifyValue,
  type WitnessVisitor,
} from "./proof.js";
export { BoundaryQuery, RangeQuery } from "./region.js";
export { subtreeIdAt } from "./subtree.js";
export type { ScanOptions } from "./read.js";
export { copyReachable, countReachable, forEachChild } from "./reachable.js";
export { createMemoryStore, MemoryStore, type NodeStore } from "./store.js";
