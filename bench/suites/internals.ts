/**
 * bench/suites/internals — the costs underneath the merkle suite, so that its
 * figures can be explained: how long a dependent memory read takes on this
 * machine, what one memory-store lookup and insert cost at the size the merkle
 * suite reaches, what copying a small value costs, and where one batch of
 * `map.update` spends its time when keys and values are views into one buffer
 * (no per-key allocations for the garbage collector to walk).
 *
 * There are no peers here: these are micro-benchmarks of our own hot helpers
 * and of the machine (`impl` is "machine" for the latter). Quick mode uses
 * smaller sizes.
 */
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, type Op } from "../../src/merkle/index.js";
import { copyOut } from "../../src/core/index.js";
import { gc, median, type Mode, type Result, seededBytes } from "../lib.js";

function log(msg: string): void {
  console.error(`[internals] ${msg}`);
}

/** ns per step of a dependent pointer chase through a random cyclic permutation of `bytes`. */
function chaseNs(bytes: number, steps: number): number {
  const n = bytes >>> 2;
  const next = new Uint32Array(n);
  // Sattolo's algorithm: one cycle through every slot, so the chase never settles in cache.
  let x = 0x2545f491 ^ n;
  for (let i = 0; i < n; i++) next[i] = i;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % i;
    const t = next[i] as number;
    next[i] = next[j] as number;
    next[j] = t;
  }
  let p = 0;
  for (let i = 0; i < 1000; i++) p = next[p] as number;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) p = next[p] as number;
  const ns = Number(process.hrtime.bigint() - t0) / steps;
  if (p === 0xffffffff) log("unreachable");
  return ns;
}

export async function run(mode: Mode): Promise<Result[]> {
  const full = mode === "full";
  const out: Result[] = [];
  const add = (workload: string, impl: string, value: number, unit: string, note: string) =>
    out.push({ workload, impl, value, unit, better: "lower", note });

  // 1. Dependent memory reads.
  for (const mib of full ? [1, 8, 64, 256] : [1, 64]) {
    const ns = median([0, 1, 2].map(() => chaseNs(mib << 20, 1_000_000)));
    log(`pointer chase in ${mib} MiB: ${ns.toFixed(1)} ns/step`);
    add(`dependent read, ${mib} MiB`, "machine", ns, "ns", "pointer chase through a random cycle (Uint32Array)");
  }

  // 2. Memory store lookups and inserts at the merkle suite's node count.
  storeCosts(full, add);
  gc();

  // 3. A small value copy: slice() against copyOut.
  copyCosts(add);

  // 4. map.update with keys and values as views into one buffer.
  gc();
  updateCosts(full, out);
  return out;
}

type Add = (workload: string, impl: string, value: number, unit: string, note: string) => void;

function storeCosts(full: boolean, add: Add): void {
  const nodes = full ? 1_400_000 : 200_000;
  const batch = 28_000;
  const store = createMemoryStore();
  const ids = seededBytes(0x1d5)(32 * nodes);
  const rec = seededBytes(0x7ec)(600);
  for (let i = 0; i < nodes; i++) store.put(ids, 32 * i, rec, 0, 100 + (i % 400));
  const gets: number[] = [];
  const puts: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const fresh = seededBytes(0xf2e + rep)(32 * batch);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) store.put(fresh, 32 * i, rec, 0, 100 + (i % 400));
    puts.push(Number(process.hrtime.bigint() - t0) / batch);
    let sum = 0;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sum += (store.get(ids, 32 * ((i * 7919 + rep) % nodes)) as Uint8Array).length;
    gets.push(Number(process.hrtime.bigint() - t0) / batch);
    if (sum === 0) log("unreachable");
  }
  log(`memory store at ${nodes} nodes: get ${median(gets).toFixed(0)} ns, put ${median(puts).toFixed(0)} ns`);
  add("store get (random id)", "helios", median(gets), "ns", `MemoryStore holding ${nodes} records of 100-500 B`);
  add("store put (new id)", "helios", median(puts), "ns", `MemoryStore holding ${nodes} records; batches of ${batch}`);
}

function copyCosts(add: Add): void {
  const big = seededBytes(0xb16)(1 << 24);
  const copies = 1_000_000;
  let s = 0;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < copies; i++) s += big.slice((i * 4099) & 0xffff00, ((i * 4099) & 0xffff00) + 100)[5] as number;
  add(
    "copy 100 B",
    "Uint8Array.slice",
    Number(process.hrtime.bigint() - t0) / copies,
    "ns",
    "a new ArrayBuffer per copy",
  );
  t0 = process.hrtime.bigint();
  for (let i = 0; i < copies; i++) s += copyOut(big, (i * 4099) & 0xffff00, 100)[5] as number;
  add("copy 100 B", "helios", Number(process.hrtime.bigint() - t0) / copies, "ns", "core/bytes copyOut (arena views)");
  if (s === -1) log("unreachable");
}

function updateCosts(full: boolean, out: Result[]): void {
  const n = full ? 1_000_000 : 100_000;
  const pool = seededBytes(0x9001)(32 * n + 100 * 20_000);
  const keys = Array.from({ length: n }, (_, i) => pool.subarray(32 * i, 32 * i + 32));
  const vals = Array.from({ length: 20_000 }, (_, i) => pool.subarray(32 * n + 100 * i, 32 * n + 100 * i + 100));
  const map = createMerkleMap({ store: createMemoryStore() });
  let root = EMPTY_ROOT;
  gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 10_000) {
    const ops: Op[] = [];
    for (let j = i; j < i + 10_000; j++)
      ops.push({ key: keys[j] as Uint8Array, value: vals[j % 20_000] as Uint8Array });
    root = map.update(root, ops);
  }
  const rate = (n * 1e9) / Number(process.hrtime.bigint() - t0);
  log(`lean insert+root: ${rate.toFixed(0)} keys/s`);
  out.push({
    workload: "insert+root (lean)",
    impl: "helios",
    value: rate,
    unit: "keys/s",
    better: "higher",
    note: `N=${n}, batches of 10K, keys and values are views into one buffer`,
  });
  const upd: number[] = [];
  for (let rep = 0; rep < 8; rep++) {
    const ops: Op[] = [];
    for (let j = 0; j < 10_000; j++) {
      ops.push({ key: keys[(j * 7919 + rep * 131) % n] as Uint8Array, value: vals[(j + rep) % 20_000] as Uint8Array });
    }
    const t = process.hrtime.bigint();
    root = map.update(root, ops);
    if (rep > 0) upd.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  log(`lean 10K updates+root: ${median(upd).toFixed(1)} ms`);
  out.push({
    workload: "10K updates+root (lean)",
    impl: "helios",
    value: median(upd),
    unit: "ms",
    better: "lower",
    note: `N=${n}; median of 7 after a warmup`,
  });
}
