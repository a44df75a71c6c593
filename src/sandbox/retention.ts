/**
 * sandbox/retention — which checkpoints a retention policy keeps: a pure
 * function of the items, the policy and "now" (restic's `forget` rules,
 * reduced to the two the issue asks for).
 *
 * Items are grouped (checkpoints by source path) and ordered newest first
 * within a group (by time, then id, descending, so ties are deterministic).
 * An item is kept if any rule keeps it (the rules are a union):
 *   keep-last N     the N newest of its group;
 *   keep-within D   time ≥ now − D (inclusive: an item exactly D old is
 *                   kept; an item newer than now is kept too);
 *   newest          the newest of its group, unless `forgetNewest` is set,
 *                   so a policy never empties a group by accident.
 * Everything else is forgotten. At least one of keep-last and keep-within
 * must be given (a policy of neither would forget everything but the newest
 * by omission; restic refuses it too).
 *
 * Invariants: the plan depends only on its inputs (not on input order);
 * keep and forget partition the items; a dry run and a real run of the same
 * inputs get the same plan.
 * Costs: O(n log n) for the sort.
 */
import { HeliosError } from "../core/index.js";

export interface RetentionItem {
  id: string;
  group: string;
  /** ms since the epoch. */
  time: number;
}

export interface RetentionPolicy {
  /** Keep the N newest of each group (an integer ≥ 0). */
  keepLast?: number;
  /** Keep items no older than this many ms (inclusive). */
  keepWithinMs?: number;
  /** Allow the newest of a group to be forgotten when no rule keeps it (default false). */
  forgetNewest?: boolean;
}

export type RetentionReason = "keep-last" | "keep-within" | "newest";

export interface RetentionDecision extends RetentionItem {
  keep: boolean;
  /** Why it is kept (empty when forgotten). */
  reasons: RetentionReason[];
}

export interface RetentionPlan {
  /** Every item: by group (in name order), newest first within a group. */
  items: RetentionDecision[];
  keep: RetentionDecision[];
  forget: RetentionDecision[];
}

function checkPolicy(p: RetentionPolicy): void {
  if (p === null || typeof p !== "object") throw new HeliosError("INVALID_ARGUMENT", {}, "a policy is an object");
  const { keepLast, keepWithinMs } = p;
  if (keepLast === undefined && keepWithinMs === undefined) {
    throw new HeliosError(
      "INVALID_ARGUMENT",
      {},
      "a retention policy needs keep-last and/or keep-within (nothing would say what to keep)",
    );
  }
  if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 0)) {
    throw new HeliosError("INVALID_ARGUMENT", { keepLast }, "keep-last is an integer ≥ 0");
  }
  if (keepWithinMs !== undefined && (!Number.isSafeInteger(keepWithinMs) || keepWithinMs < 0)) {
    throw new HeliosError("INVALID_ARGUMENT", { keepWithinMs }, "keep-within is a whole number of ms ≥ 0");
  }
}

/** Newest first: time descending, then id descending. */
function newestFirst(a: RetentionItem, b: RetentionItem): number {
  return b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The plan for `items` under `policy` at time `now` (ms). */
export function planRetention(items: readonly RetentionItem[], policy: RetentionPolicy, now: number): RetentionPlan {
  checkPolicy(policy);
  if (!Number.isFinite(now)) throw new HeliosError("INVALID_ARGUMENT", { now }, "now is ms since the epoch");
  const groups = new Map<string, RetentionItem[]>();
  for (const it of items) {
    const g = groups.get(it.group);
    if (g === undefined) groups.set(it.group, [it]);
    else g.push(it);
  }
  const out: RetentionDecision[] = [];
  for (const name of [...groups.keys()].sort()) {
    const list = (groups.get(name) as RetentionItem[]).slice().sort(newestFirst);
    list.forEach((it, i) => {
      const reasons: RetentionReason[] = [];
      if (policy.keepLast !== undefined && i < policy.keepLast) reasons.push("keep-last");
      if (policy.keepWithinMs !== undefined && it.time >= now - policy.keepWithinMs) reasons.push("keep-within");
      if (i === 0 && reasons.length === 0 && policy.forgetNewest !== true) reasons.push("newest");
      out.push({ id: it.id, group: it.group, time: it.time, keep: reasons.length > 0, reasons });
    });
  }
  return { items: out, keep: out.filter((d) => d.keep), forget: out.filter((d) => !d.keep) };
}

const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** "7d", "12h", "30m", "45s", "2w", or a sum like "1d12h" → ms. INVALID_ARGUMENT otherwise. */
export function parseDuration(s: string): number {
  if (typeof s !== "string" || !/^(\d+[wdhms])+$/.test(s)) {
    throw new HeliosError(
      "INVALID_ARGUMENT",
      { duration: String(s) },
      "a duration is a number with a unit w, d, h, m or s (e.g. 7d, 12h, 30m, 1d12h)",
    );
  }
  let ms = 0;
  for (const m of s.matchAll(/(\d+)([wdhms])/g)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  if (!Number.isSafeInteger(ms)) throw new HeliosError("INVALID_ARGUMENT", { duration: s }, "duration too large");
  return ms;
}
