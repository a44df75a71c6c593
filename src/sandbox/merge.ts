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
 * Several merge bases (criss-cross histories, R10a): the caller passes the
 * keys on which the other best bases disagree with the chosen one as
 * `uncertain`. For those keys the base is unknown, so any difference between
 * the two sides is a conflict for the policy, never a silent pick.
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
import { bytesToHex, compareBytes, equalBytes, HeliosError, utf8 } from "../core/index.js";
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

/** The policy, checked: INVALID_ARGUMENT for anything but the three names and a function. */
export function checkPolicy(policy: unknown): MergePolicy {
  if (policy === "fail" || policy === "ours" || policy === "theirs" || typeof policy === "function") {
    return policy as MergePolicy;
  }
  throw new HeliosError(
    "INVALID_ARGUMENT",
    { policy: String(policy) },
    'a merge policy is "fail", "ours", "theirs" or a function',
  );
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined ? b === undefined : b !== undefined && equalBytes(a, b);

/**
 * Plans the merge of `theirs` into `ours` from `base` (all forest roots in
 * `map`'s store). With policy "fail", conflicts are returned unresolved and
 * the caller must not apply the plan (REPO_MERGE_CONFLICT). `uncertain`:
 * per tree, keys whose base is unknown (see the header).
 */
export function planMerge(
  map: MerkleMap,
  base: Uint8Array,
  ours: Uint8Array,
  theirs: Uint8Array,
  policy: MergePolicy,
  uncertain: ReadonlyMap<string, readonly Uint8Array[]> = new Map(),
): MergePlan {
  checkPolicy(policy);
  const writes = new Map<string, Op[]>();
  const conflicts: Conflict[] = [];
  let taken = 0;
  if (equalBytes(ours, theirs) || (uncertain.size === 0 && equalBytes(base, theirs))) {
    return { writes, conflicts, taken };
  }
  const settle = (conflict: Conflict, ops: Op[]): void => {
    conflicts.push(conflict);
    if (policy === "fail" || policy === "ours") return;
    let keep: Uint8Array | null;
    if (policy === "theirs") keep = conflict.theirs ?? null;
    else {
      keep = policy(conflict);
      if (keep !== null && !(keep instanceof Uint8Array)) {
        throw new HeliosError(
          "INVALID_ARGUMENT",
          { tree: conflict.tree, key: bytesToHex(conflict.key) },
          "a merge resolver returns a Uint8Array, or null to delete the key",
        );
      }
    }
    if (!same(conflict.ours, keep ?? undefined)) ops.push({ key: conflict.key, value: keep });
  };
  const byUs = changedTrees(map, base, ours);
  const byThem = changedTrees(map, base, theirs);
  const names = [...new Set([...byThem.keys(), ...uncertain.keys()])].sort();
  for (const name of names) {
    const t = byThem.get(name);
    const u = byUs.get(name);
    const rootB =
      t?.before ??
      u?.before ??
      (t === undefined && u === undefined ? map.get(base, utf8(name)) : undefined) ??
      EMPTY_ROOT;
    const rootT = t === undefined ? rootB : (t.after ?? EMPTY_ROOT);
    const rootO = u === undefined ? rootB : (u.after ?? EMPTY_ROOT);
    if (equalBytes(rootO, rootT)) continue;
    const ops: Op[] = [];
    const unsureKeys = [...(uncertain.get(name) ?? [])].sort(compareBytes);
    const unsure = new Set(unsureKeys.map((k) => bytesToHex(k)));
    // keys whose base is unknown: every difference between the two sides is a conflict
    for (const key of unsureKeys) {
      const o = map.get(rootO, key);
      const th = map.get(rootT, key);
      if (same(o, th)) continue;
      settle(
        { tree: name, key: key.slice(), base: map.get(rootB, key)?.slice(), ours: o?.slice(), theirs: th?.slice() },
        ops,
      );
    }
    if (t !== undefined && u === undefined) {
      // only they changed this tree: our tree is the base's, so their changes apply as they are
      for (const c of map.diff(rootO, rootT)) {
        if (unsure.has(bytesToHex(c.key))) continue;
        ops.push({ key: c.key.slice(), value: c.after?.slice() ?? null });
        taken++;
      }
    } else if (t !== undefined) {
      const ourChanges = new Map<string, Change>();
      for (const c of map.diff(rootB, rootO)) ourChanges.set(bytesToHex(c.key), c);
      for (const c of map.diff(rootB, rootT)) {
        const hex = bytesToHex(c.key);
        if (unsure.has(hex)) continue;
        const o = ourChanges.get(hex);
        if (o === undefined) {
          ops.push({ key: c.key.slice(), value: c.after?.slice() ?? null });
          taken++;
        } else if (!same(o.after, c.after)) {
          settle(
            {
              tree: name,
              key: c.key.slice(),
              base: c.before?.slice(),
              ours: o.after?.slice(),
              theirs: c.after?.slice(),
            },
            ops,
          );
        }
      }
    }
    ops.sort((a, b) => compareBytes(a.key, b.key));
    if (ops.length > 0) writes.set(name, ops);
  }
  return { writes, conflicts, taken };
}
