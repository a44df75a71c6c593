/**
 * The retention policy (src/sandbox/retention.ts; docs/spec/checkpoint.md
 * C20): examples, and properties against a direct model with fast-check —
 * keep-last keeps exactly the newest N of each group, keep-within is
 * inclusive of its boundary, rules combine as a union, the newest of a group
 * survives unless asked, and the plan does not depend on input order (so a
 * dry run and a real run agree).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isHeliosError } from "../../../src/core/index.js";
import {
  parseDuration,
  planRetention,
  type RetentionItem,
  type RetentionPolicy,
} from "../../../src/sandbox/retention.js";

const H = 3_600_000;
const item = (id: string, group: string, time: number): RetentionItem => ({ id, group, time });
const kept = (items: RetentionItem[], p: RetentionPolicy, now: number) =>
  new Set(planRetention(items, p, now).keep.map((d) => d.id));

test("C20: examples: keep-last, keep-within (inclusive), union, groups, reasons", () => {
  const now = 100 * H;
  const items = [
    item("a1", "/a", 99 * H),
    item("a2", "/a", 90 * H),
    item("a3", "/a", 80 * H),
    item("a4", "/a", 70 * H),
    item("b1", "/b", 10 * H),
    item("b2", "/b", 5 * H),
  ];
  assert.deepEqual([...kept(items, { keepLast: 2 }, now)].sort(), ["a1", "a2", "b1", "b2"]);
  // within 20h: a1 (1h old), a2 (10h), a3 exactly 20h old (inclusive); b1 as the newest of /b
  const p = planRetention(items, { keepWithinMs: 20 * H }, now);
  assert.deepEqual(
    p.keep.map((d) => d.id),
    ["a1", "a2", "a3", "b1"],
  );
  assert.deepEqual(p.keep.find((d) => d.id === "b1")?.reasons, ["newest"]);
  assert.deepEqual(
    p.forget.map((d) => d.id),
    ["a4", "b2"],
  );
  assert.deepEqual(
    p.items.map((d) => d.id),
    ["a1", "a2", "a3", "a4", "b1", "b2"],
    "by group, newest first",
  );
  // union: last 1 or within 15h
  assert.deepEqual([...kept(items, { keepLast: 1, keepWithinMs: 15 * H }, now)].sort(), ["a1", "a2", "b1"]);
  // the newest may go only when asked
  assert.deepEqual([...kept(items, { keepWithinMs: 0, forgetNewest: true }, now)], []);
  assert.deepEqual([...kept(items, { keepLast: 0 }, now)].sort(), ["a1", "b1"]);
});

test("C20: a policy must keep something; bad values are INVALID_ARGUMENT", () => {
  const bad: RetentionPolicy[] = [{}, { keepLast: -1 }, { keepLast: 1.5 }, { keepWithinMs: -5 }];
  for (const p of bad) {
    assert.throws(
      () => planRetention([], p, 0),
      (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
    );
  }
});

test("C20: durations: 7d, 12h, 30m, 45s, 2w, 1d12h", () => {
  assert.equal(parseDuration("7d"), 7 * 24 * H);
  assert.equal(parseDuration("12h"), 12 * H);
  assert.equal(parseDuration("30m"), 30 * 60_000);
  assert.equal(parseDuration("45s"), 45_000);
  assert.equal(parseDuration("2w"), 14 * 24 * H);
  assert.equal(parseDuration("1d12h"), 36 * H);
  for (const s of ["", "7", "d", "7x", "-1d", "1.5h", "7 d"]) {
    assert.throws(
      () => parseDuration(s),
      (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
    );
  }
});

const itemsArb = fc
  .array(fc.record({ group: fc.constantFrom("/a", "/b", "/c"), time: fc.integer({ min: 0, max: 1000 }) }), {
    maxLength: 40,
  })
  .map((xs) => xs.map((x, i) => item(`id${String(i).padStart(3, "0")}`, x.group, x.time)));

/** The model: per group, sort newest first (time, then id, descending) and apply each rule directly. */
function model(items: RetentionItem[], p: RetentionPolicy, now: number): Set<string> {
  const keep = new Set<string>();
  for (const g of new Set(items.map((i) => i.group))) {
    const list = items.filter((i) => i.group === g).sort((x, y) => y.time - x.time || (x.id < y.id ? 1 : -1));
    list.forEach((it, idx) => {
      const last = p.keepLast !== undefined && idx < p.keepLast;
      const within = p.keepWithinMs !== undefined && now - it.time <= p.keepWithinMs;
      if (last || within) keep.add(it.id);
    });
    if (!p.forgetNewest && list.length > 0 && !list.some((i) => keep.has(i.id)))
      keep.add((list[0] as RetentionItem).id);
  }
  return keep;
}

const policyArb = fc
  .record(
    {
      keepLast: fc.integer({ min: 0, max: 6 }),
      keepWithinMs: fc.integer({ min: 0, max: 1200 }),
      forgetNewest: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .filter((p) => p.keepLast !== undefined || p.keepWithinMs !== undefined);

test("C20: the plan equals the model; keep and forget partition the items (fast-check)", () => {
  fc.assert(
    fc.property(itemsArb, policyArb, fc.integer({ min: 0, max: 1500 }), (items, p, now) => {
      const plan = planRetention(items, p, now);
      assert.deepEqual(new Set(plan.keep.map((d) => d.id)), model(items, p, now));
      assert.equal(plan.keep.length + plan.forget.length, items.length);
      assert.equal(plan.items.length, items.length);
      for (const d of plan.items) assert.equal(d.keep, d.reasons.length > 0);
    }),
    { numRuns: 300 },
  );
});

test("C20: keep-last N keeps exactly min(N, size) of each group, the newest ones (fast-check)", () => {
  fc.assert(
    fc.property(itemsArb, fc.integer({ min: 1, max: 6 }), (items, n) => {
      const plan = planRetention(items, { keepLast: n }, 0);
      for (const g of ["/a", "/b", "/c"]) {
        const all = items.filter((i) => i.group === g);
        const k = plan.keep.filter((d) => d.group === g);
        assert.equal(k.length, Math.min(n, all.length));
        const oldestKept = Math.min(...k.map((d) => d.time));
        for (const f of plan.forget.filter((d) => d.group === g)) assert.ok(f.time <= oldestKept);
      }
    }),
    { numRuns: 200 },
  );
});

test("C20: keep-within is inclusive at its boundary (fast-check)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (now, d) => {
      const items = [item("edge", "/a", now - d), item("older", "/a", now - d - 1), item("newest", "/a", now + 5)];
      const k = kept(items, { keepWithinMs: d, forgetNewest: true }, now);
      assert.ok(k.has("edge"));
      assert.ok(!k.has("older"));
      assert.ok(k.has("newest"), "a time after now is within");
    }),
  );
});

test("C20: rules are a union, and input order does not matter: a dry run plans what a real run does (fast-check)", () => {
  fc.assert(
    fc.property(
      itemsArb,
      fc.integer({ min: 0, max: 6 }),
      fc.integer({ min: 0, max: 1200 }),
      fc.integer({ min: 0, max: 1500 }),
      (items, n, w, now) => {
        const both = kept(items, { keepLast: n, keepWithinMs: w, forgetNewest: true }, now);
        const union = new Set([
          ...kept(items, { keepLast: n, forgetNewest: true }, now),
          ...kept(items, { keepWithinMs: w, forgetNewest: true }, now),
        ]);
        assert.deepEqual(both, union);
        const shuffled = items.slice().reverse();
        assert.deepEqual(
          planRetention(shuffled, { keepLast: n, keepWithinMs: w }, now),
          planRetention(items, { keepLast: n, keepWithinMs: w }, now),
        );
      },
    ),
    { numRuns: 200 },
  );
});
