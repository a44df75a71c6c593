/**
 * merkle/subtree — the id of the part of a version under a nibble prefix.
 *
 * For a region Q (a nibble path; exact = the one key whose nibbles are Q),
 * `subtreeIdAt` returns the id that the canonical trie of the version's keys
 * in Q would have if rooted at depth |Q|: exactly the id a node sitting in a
 * slot whose region is Q has in any version with the same keys in Q. So two
 * versions hold the same entries in Q iff their ids for Q are equal — which
 * lets a receiver compare a region of its own version with a pruned subtree
 * of a proof, whatever the two versions hold outside Q.
 *
 * Where Q ends inside a branch's skip, that branch is re-rooted: the same
 * children under a shorter skip, one header and one inner-root hash.
 * Invariants: returns EMPTY_ROOT when the version has no key in Q; never
 * writes. Costs: one root-to-depth walk (≤ depth node reads) plus, when
 * re-rooting, one inner root (≤ 16 pair hashes) and one branch hash.
 */
import { HASH_BYTES } from "../core/index.js";
import {
  BranchView,
  branchIdInto,
  EMPTY_ROOT,
  innerRootInto,
  isEmptyRoot,
  LeafView,
  MAX_KEY_BYTES,
  parseBranch,
  parseLeaf,
  popcount,
  skipNib,
  TAG_LEAF,
  writeBranchHeader,
} from "./node.js";
import { load } from "./read.js";
import { pathIsPrefixOf } from "./region.js";
import type { NodeStore } from "./store.js";

const bv = new BranchView();
const lv = new LeafView();
const skipScratch = new Uint8Array(MAX_KEY_BYTES * 2 + 2);
const headerScratch = new Uint8Array(MAX_KEY_BYTES + 16);
const innerScratch = new Uint8Array(HASH_BYTES);

/** The id of the version `root`'s keys in region path[0..len) (exact: the key with exactly those nibbles). */
export function subtreeIdAt(
  store: NodeStore,
  root: Uint8Array,
  path: Uint8Array,
  len: number,
  exact: boolean,
): Uint8Array {
  if (isEmptyRoot(root)) return EMPTY_ROOT;
  let buf = root;
  let off = 0;
  let d = 0; // the node at buf[off..] sits in a slot whose region is path[0..d)
  for (;;) {
    const bytes = load(store, buf, off);
    if (bytes[0] === TAG_LEAF) {
      parseLeaf(bytes, 0, bytes.length, lv);
      const key = bytes.subarray(lv.keyOff, lv.keyOff + lv.keyLen);
      const inQ = exact ? key.length * 2 === len && pathIsPrefixOf(path, len, key) : pathIsPrefixOf(path, len, key);
      return inQ ? buf.slice(off, off + HASH_BYTES) : EMPTY_ROOT;
    }
    parseBranch(bytes, 0, bytes.length, bv);
    const d2 = d + bv.skipLen; // its children sit at path[0..d2) ‖ slot
    const m = len < d2 ? len : d2;
    for (let i = d; i < m; i++) if (skipNib(bytes, bv, i - d) !== path[i]) return EMPTY_ROOT;
    if (len <= d2) {
      if (exact) {
        // the one key with nibbles path[0..len): only a terminal child at exactly d2
        if (len < d2 || (bv.bitmap & 1) === 0) return EMPTY_ROOT;
        return bytes.slice(bv.childOff, bv.childOff + HASH_BYTES);
      }
      if (len === d) return buf.slice(off, off + HASH_BYTES); // this node's own region
      // re-root at depth len: the same children under the rest of the skip
      const rest = d2 - len;
      for (let i = 0; i < rest; i++) skipScratch[i] = skipNib(bytes, bv, len - d + i);
      const hl = writeBranchHeader(headerScratch, 0, skipScratch, 0, rest, bv.bitmap);
      innerRootInto(bytes, bv.childOff, 0, bv.count, innerScratch, 0);
      const out = new Uint8Array(HASH_BYTES);
      branchIdInto(headerScratch, 0, hl, innerScratch, 0, out, 0);
      return out;
    }
    // deeper: follow the slot of path[d2]
    const s = (path[d2] as number) + 1;
    if (((bv.bitmap >> s) & 1) === 0) return EMPTY_ROOT;
    const idx = popcount(bv.bitmap & ((1 << s) - 1));
    buf = bytes;
    off = bv.childOff + idx * HASH_BYTES;
    d = d2 + 1;
  }
}
