/**
 * sandbox/merge — the three-way merge of two forest versions from their
 * merge base, key by key (docs/spec/repo.md R10–R14).
 *
 * For every tree either side changed: a key changed on one side only takes
 * that side's value; a key changed on both sides to the same value (or both
 * deleted) takes it; a key changed on both sides differently is a conflict,
 * resolved by the policy: "ours", "theirs", or a function of the conflict
 * returning the value to keep (a Uint8Array) or null to delete the key. The
 * result is a list of ops to apply to OUR version.
 *
 * Invariants: the result depends only on the three versions and the policy
 * (never on iteration order: trees and keys are visited in byte order); with
 * no conflicts, merge(ours, theirs) and merge(theirs, ours) give the same
 * state; merging a version into itself, or an ancestor into a descendant,
 * gives no ops.
 * Costs: two Merkle diffs per tree changed on both sides, each proportional
 * to the change (diff reads only subtrees whose ids differ); a tree changed
 * on one side only costs one diff; untouched trees cost nothing.
 */
import { bytesToHex, equalBytes, HeliosError } from "../core/index.js";
import { type Change, EMPTY_ROOT, type MerkleMap, type Op } from "../merkle/index.js";

export interface Conflict {
  readonly tree: string;
  readonly key: Uint8Array;
  /** The value in the merge base (undefined: absent). */
  readonly base: Uint8Array | undefined;
  /** Our value (undefined: we deleted it). */
  readonly ours: Uint8Array | undefined;
  /** Their value (undefined: they deleted it). */
  readonly theirs: Uint8Array | undefined;
}

/** What to keep for a conflicting key: a value, or null to delete the key. */
export type Resolver = (c: Conflict) => Uint8Array | null;
export type MergePolicy = "fail" | "ours" | "theirs" | Resolver;

export interface MergePlan {
  /** Ops to apply to our version, per tree, keys sorted. */
  readonly writes: Map<string, Op[]>;
  /** Every conflicting key (resolved by the policy unless it is "fail"). */
  readonly conflicts: Conflict[];
  /** Keys taken from their side without conflict. */
  readonly taken: number;
}

const dec = new TextDecoder();

function changedTrees(map: MerkleMap, a: Uint8Array, b: Uint8Array): Map<string, Change> {
  const out = new Map<string, Change>();
  for (const c of map.diff(a, b)) out.set(dec.decode(c.key), c);
  return out;
}

/**
 * Plans the merge of `theirs` into `ours` from `base` (all forest roots in
 * `map`'s store). With policy "fail", conflicts are returned unresolved and
 * the caller must not apply the plan (REPO_MERGE_CONFLICT).
 */
export function planMerge(
  map: MerkleMap,
  base: Uint8Array,
  ours: Uint8Array,
  theirs: Uint8Array,
  policy: MergePolicy,
): MergePlan {
  const writes = new Map<string, Op[]>();
  const conflicts: Conflict[] = [];
  let taken = 0;
  if (equalBytes(ours, theirs) || equalBytes(base, theirs)) return { writes, conflicts, taken };
  const byUs = changedTrees(map, base, ours);
  const byThem = changedTrees(map, base, theirs);
  const names = [...byThem.keys()].sort();
  for (const name of names) {
    const t = byThem.get(name) as Change;
    const rootB = t.before ?? EMPTY_ROOT;
    const rootT = t.after ?? EMPTY_ROOT;
    const u = byUs.get(name);
    const rootO = u === undefined ? rootB : (u.after ?? EMPTY_ROOT);
    if (equalBytes(rootO, rootT)) continue;
    const ops: Op[] = [];
    if (u === undefined) {
      // only they changed this tree: our tree is the base's, so their changes apply as they are
      for (const c of map.diff(rootO, rootT)) ops.push({ key: c.key.slice(), value: c.after?.slice() ?? null });
      taken += ops.length;
    } else {
      const ourChanges = new Map<string, Change>();
      for (const c of map.diff(rootB, rootO)) ourChanges.set(bytesToHex(c.key), c);
      for (const c of map.diff(rootB, rootT)) {
        const o = ourChanges.get(bytesToHex(c.key));
        if (o === undefined) {
          ops.push({ key: c.key.slice(), value: c.after?.slice() ?? null });
          taken++;
          continue;
        }
        const same =
          o.after === undefined ? c.after === undefined : c.after !== undefined && equalBytes(o.after, c.after);
        if (same) continue;
        const conflict: Conflict = {
          tree: name,
          key: c.key.slice(),
          base: c.before?.slice(),
          ours: o.after?.slice(),
          theirs: c.after?.slice(),
        };
        conflicts.push(conflict);
        if (policy === "fail" || policy === "ours") continue;
        let keep: Uint8Array | null | undefined;
        if (policy === "theirs") keep = conflict.theirs ?? null;
        else {
          keep = policy(conflict);
          if (keep !== null && !(keep instanceof Uint8Array)) {
            throw new HeliosError(
              "INVALID_ARGUMENT",
              { tree: name, key: bytesToHex(conflict.key) },
              "a merge resolver returns a Uint8Array, or null to delete the key",
            );
          }
        }
        const cur = conflict.ours;
        if (keep === null ? cur !== undefined : cur === undefined || !equalBytes(cur, keep)) {
          ops.push({ key: conflict.key, value: keep });
        }
      }
    }
    if (ops.length > 0) writes.set(name, ops);
  }
  return { writes, conflicts, taken };
}
