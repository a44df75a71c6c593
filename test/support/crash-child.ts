/**
 * The crash harness's victim (test/crash/crash.test.ts): opens a store and
 * commits forever until it is SIGKILLed, deterministically from a seed.
 *
 *   node dist/test/support/crash-child.js <dir> <seed>
 *
 * The contents of height h are a function of (seed, h) only: height h applies
 * writesAt(seed, h) to the contents of height h − 1. A rollback to t followed
 * by re-commits of t + 1, t + 2, … therefore re-creates the same contents and
 * the same roots, and the parent can recompute any height from the seed.
 *
 * Between commits it runs, as planAt(seed, h) says: awaited and background
 * checkpoints, GC cycles in steps, ref moves (setRef, commitRef, deleteRef)
 * and rollbacks. It reports on stdout, one line per write(2), so a line is
 * either wholly in the pipe or not at all:
 *
 *   PHASE <name> [height]   before each phase (open, commit, ckpt, gc-mark,
 *                           gc-sweep, ref, rollback, yield)
 *   OPEN <height> <root>    after the store opened (recovery done)
 *   ACK <height> <root>     after commit() returned: durable from here on
 *   RB <height> <root>      after rollback() returned: durable
 *   REF <name> <root|->     after a ref change returned
 *   GC <removed>            after a GC cycle completed (records it deleted)
 *
 * Anything thrown ends the process with code 3 and the error on stderr: the
 * parent treats an exit it did not cause as a failure.
 */
import { bytesToHex } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import type { Op } from "../../src/merkle/index.js";
import { childUsage, isMainModule, runChildMain, say, tick } from "./proc.js";

/** Trees and their key spaces (~2K keys in all). */
export const TREES: readonly { name: string; keys: number }[] = [
  { name: "accounts", keys: 1024 },
  { name: "storage/c1", keys: 640 },
  { name: "storage/c2", keys: 384 },
];

export const CHILD_OPTIONS = { create: true, retain: 8, checkpointEvery: 4 } as const;
/** GC work per step (nodes marked or records swept), and steps between two commits. */
export const GC_BUDGET = 2500;
export const GC_STEPS = 2;
/**
 * How a cycle starts: "direct" calls gcStart() wherever the plan says (the
 * default); "checkpointed" awaits a checkpoint first, as collect() does
 * (HELIOS_CRASH_GC_START=checkpointed).
 */
export const GC_START = process.env.HELIOS_CRASH_GC_START === "checkpointed" ? "checkpointed" : "direct";

function h32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit PRNG (mulberry32) seeded from any tuple of integers. */
export function prng(...parts: number[]): () => number {
  let s = 0x2545f491;
  for (const p of parts) {
    s = h32(s ^ h32(p >>> 0) ^ h32(Math.floor(p / 2 ** 32) + 0x632be5ab));
  }
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/** The key table: 20-byte keys spread over the key space, the same for every seed. */
const KEYS: Uint8Array[][] = TREES.map((t, ti) => {
  const r = prng(0x6b657973, ti);
  return Array.from({ length: t.keys }, () => bytes(r, 20));
});

/** The writes of height h (tree name order, as the store canonicalises them). */
export function writesAt(seed: number, h: number): [string, Op[]][] {
  const r = prng(seed, h, 1);
  const out: [string, Op[]][] = [];
  TREES.forEach((t, ti) => {
    if (ti >= 2 && r() < 0.4) return; // the third tree is touched at ~60% of heights
    const n = 70 + Math.floor(r() * 110);
    const ops: Op[] = [];
    const keys = KEYS[ti] as Uint8Array[];
    for (let i = 0; i < n; i++) {
      const key = keys[Math.floor(r() * keys.length)] as Uint8Array;
      ops.push(r() < 0.2 ? { key, value: null } : { key, value: bytes(r, 4 + Math.floor(r() * 40)) });
    }
    out.push([t.name, ops]);
  });
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Writes for a commitRef on the branch at height h. */
export function branchWritesAt(seed: number, h: number): [string, Op[]][] {
  const r = prng(seed, h, 2);
  const keys = KEYS[0] as Uint8Array[];
  const ops: Op[] = [];
  for (let i = 0; i < 40; i++) {
    const key = keys[Math.floor(r() * keys.length)] as Uint8Array;
    ops.push(r() < 0.25 ? { key, value: null } : { key, value: bytes(r, 8) });
  }
  return [["accounts", ops]];
}

export interface Plan {
  /** After the commit: an awaited checkpoint, one started in the background, or none. */
  ckpt: "await" | "bg" | "none";
  /** Start a GC cycle if none is running (then run in GC_STEPS steps per height). */
  gcStart: boolean;
  /** If no cycle is running, run a whole one now (gcStart + gcFinish), right after the ref changes. */
  gcWhole: boolean;
  /** Move ref "tag" to the height this many back (0: no). */
  tagBack: number;
  deleteTag: boolean;
  /** "reset": branch := head; "commit": commitRef on the branch; "none". */
  branch: "reset" | "commit" | "none";
  /** Roll back this many heights after the commit (0: no). */
  rollback: number;
}

export function planAt(seed: number, h: number): Plan {
  const r = prng(seed, h, 3);
  const c = r();
  const g = r();
  const t = r();
  const b = r();
  const rb = r();
  return {
    ckpt: c < 0.3 ? "await" : c < 0.45 ? "bg" : "none",
    gcStart: g < 0.7,
    tagBack: t < 0.15 ? 1 + Math.floor(r() * 6) : 0,
    deleteTag: t > 0.97,
    branch: b < 0.08 ? "reset" : b < 0.3 ? "commit" : "none",
    rollback: rb < 0.05 ? 1 + Math.floor(r() * 3) : 0,
    gcWhole: r() < 0.1,
  };
}

async function main(dir: string, seed: number): Promise<void> {
  say("PHASE open");
  const db = openState(dir, CHILD_OPTIONS);
  say(`OPEN ${db.height} ${bytesToHex(db.root)}`);
  const rolledBackAt = new Set<number>(); // a rollback at h happens once per process: no endless loop
  for (;;) {
    const h = db.height + 1;
    say(`PHASE commit ${h}`);
    const root = db.commit(h, new Map(writesAt(seed, h)));
    say(`ACK ${h} ${bytesToHex(root)}`);
    const plan = planAt(seed, h);

    if (plan.tagBack > 0 || plan.deleteTag || plan.branch !== "none") {
      say("PHASE ref");
      const hs = db.heights();
      if (plan.tagBack > 0) {
        const th = Math.max(hs[0] as number, h - plan.tagBack);
        db.setRef("tag", db.rootAt(th));
        say(`REF tag ${bytesToHex(db.rootAt(th))}`);
      } else if (plan.deleteTag && db.refs().has("tag")) {
        db.deleteRef("tag");
        say("REF tag -");
      }
      if (plan.branch === "reset" || (plan.branch === "commit" && !db.refs().has("branch"))) {
        db.setRef("branch", db.root);
        say(`REF branch ${bytesToHex(db.root)}`);
      } else if (plan.branch === "commit") {
        const br = db.commitRef("branch", new Map(branchWritesAt(seed, h)));
        say(`REF branch ${bytesToHex(br)}`);
      }
    }

    const startCycle = async (): Promise<void> => {
      if (GC_START === "checkpointed") {
        // a durable checkpoint right before the cycle: no log record older than the cycle needs a swept version
        say("PHASE ckpt");
        await db.checkpoint();
      }
      say("PHASE gc-mark");
      db.gcStart();
    };
    if (plan.gcWhole && db.gcStatus().phase === "idle") {
      await startCycle();
      let shown = "mark";
      const done = await db.gcFinish(GC_BUDGET, (p) => {
        if (p.phase !== shown && p.phase !== "idle") {
          shown = p.phase;
          say(`PHASE gc-${p.phase}`);
        }
      });
      say(`GC ${done.removed}`);
    }
    if (plan.gcStart && db.gcStatus().phase === "idle") await startCycle();
    for (let i = 0; i < GC_STEPS; i++) {
      const gc = db.gcStatus();
      if (gc.phase === "idle") break;
      say(`PHASE gc-${gc.phase}`);
      if (db.gcStep(GC_BUDGET)) say(`GC ${db.gcStatus().removed}`);
    }

    if (plan.ckpt === "await") {
      say("PHASE ckpt");
      await db.checkpoint();
    } else if (plan.ckpt === "bg") {
      db.checkpoint().catch(() => undefined); // kept in lastCheckpointError, retried by the next one
    }

    if (plan.rollback > 0 && !rolledBackAt.has(h)) {
      const to = h - plan.rollback;
      if (to >= 1 && db.heights().includes(to)) {
        rolledBackAt.add(h);
        say(`PHASE rollback ${to}`);
        db.rollback(to);
        say(`RB ${to} ${bytesToHex(db.root)}`);
      }
    }

    say("PHASE yield");
    await tick(); // let lmdb-js callbacks run: checkpoint completion, log segment deletion
  }
}

if (isMainModule(import.meta.url)) {
  const [dir, seedArg] = process.argv.slice(2);
  const seed = Number(seedArg);
  if (dir === undefined || !Number.isSafeInteger(seed)) childUsage("crash-child <dir> <seed>");
  runChildMain("crash-child", () => main(dir, seed));
}
