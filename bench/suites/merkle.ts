/**
 * bench/suites/merkle — the authenticated map: Helios vs its TypeScript peers
 * (@ethereumjs/trie with and without key hashing, @chainsafe/persistent-merkle-tree),
 * same keys, same values, same run.
 *
 * Dataset: N random 32-byte keys with 100-byte values (seededBytes), N = 1M
 * (full) or 50K (quick); MERKLE_N overrides. Slow peers (ethereumjs) are
 * built with at most PEER_SLOW_N keys (100K full, 10K quick; env overrides).
 * Each impl runs alone (its maps are dropped before the next impl starts):
 *   insert+root        insert all keys in 10K batches, root after each batch (keys/s)
 *   10K updates+root   update 10K distinct existing keys, then root; median of reps (ms)
 *   hot get            gets of random existing keys after warmup (ns)
 *   hot get (flat view) the same keys through a flat view of the version (Helios only)
 *   proof gen/verify   inclusion proofs of random existing keys (proofs/s)
 *   proof size         median proof bytes over the sampled keys (bytes)
 *   fork @1K / @N      fork, then one write on the fork (ns)
 *   heap per key       (heapUsed + external) growth over the build / keys (bytes)
 *   heap per key (live) the same, after dropping every version but the current one
 *   fork only          a fork of the current version, with no write (ns)
 * Correctness guards (gets, proofs, a wrong-value proof, forks leaving the
 * source untouched) run per impl and throw on failure.
 *
 * Env: MERKLE_N, PEER_SLOW_N, MERKLE_IMPLS (comma list of helios, ethereumjs,
 * ethereumjs-kh, chainsafe), CHAINSAFE_HASH=batch (chainsafe's batched
 * HashComputation hashing instead of its lazy root hashing).
 */
import { gc, median, type Result, seededBytes } from "../lib.js";
import {
  bytesEqual,
  chainsafe,
  ethereumjs,
  ethereumjsKeyHashing,
  type ForkVariant,
  type ImplFactory,
  type MapInstance,
} from "./merkle-peers.js";

const KEY_BYTES = 32;
const VALUE_BYTES = 100;
const BATCH = 10_000;
const UPDATES = 10_000;
const FORK_SMALL = 1_000;

const WORKLOADS = [
  "insert+root",
  "10K updates+root",
  "hot get",
  "hot get (flat view)",
  "proof gen",
  "proof verify",
  "proof size",
  "fork @1K",
  "fork @N",
  "fork only @1K",
  "fork only @N",
  "heap per key",
  "heap per key (live)",
] as const;
type Workload = (typeof WORKLOADS)[number];

// ---------------------------------------------------------------------------
// Helios adapter, coded against the merkle API (src/merkle/index.ts). The
// module is imported at run time so this suite still runs the peers while it
// is missing or broken.

interface HeliosDraft {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): unknown;
  get(key: Uint8Array): Uint8Array | undefined;
  apply(ops: ReadonlyArray<{ key: Uint8Array; value?: Uint8Array | null }>): void;
  commit(): Uint8Array;
  fork(): HeliosDraft;
}
interface HeliosMerkleMap {
  draft(root?: Uint8Array): HeliosDraft;
  update(root: Uint8Array, ops: ReadonlyArray<{ key: Uint8Array; value?: Uint8Array | null }>): Uint8Array;
  get(root: Uint8Array, key: Uint8Array): Uint8Array | undefined;
  prove(root: Uint8Array, key: Uint8Array): Uint8Array;
}
interface HeliosFlatView {
  get(key: Uint8Array): Uint8Array | undefined;
  readonly root: Uint8Array;
}
interface HeliosMerkleModule {
  createFlatView(map: HeliosMerkleMap, root: Uint8Array): HeliosFlatView;
  createMemoryStore(): { readonly size: number };
  copyReachable(from: { readonly size: number }, roots: readonly Uint8Array[]): { readonly size: number };
  createMerkleMap(opts: { store: unknown }): HeliosMerkleMap;
  EMPTY_ROOT: Uint8Array;
  verifyValue(root: Uint8Array, key: Uint8Array, value: Uint8Array | undefined, proof: Uint8Array): boolean;
}

const HELIOS_MODULE = "../../src/merkle/index.js";

const HELIOS_PENDING = 1_000;

class HeliosMap implements MapInstance {
  private map: HeliosMerkleMap;
  private d: HeliosDraft;
  private r: Uint8Array;
  private flat: HeliosFlatView | null = null;
  store: { readonly size: number };

  constructor(
    private readonly m: HeliosMerkleModule,
    private readonly keys: readonly Uint8Array[],
    private readonly viaDraft: boolean,
  ) {
    this.store = m.createMemoryStore();
    this.map = m.createMerkleMap({ store: this.store });
    this.r = m.EMPTY_ROOT;
    this.d = this.map.draft(this.r);
  }

  keepOnlyCurrent(): void {
    this.store = this.m.copyReachable(this.store, [this.r]);
    this.map = this.m.createMerkleMap({ store: this.store });
    this.d = this.map.draft(this.r);
  }

  async writeBatch(idx: Uint32Array, vals: readonly Uint8Array[]): Promise<void> {
    const ops: { key: Uint8Array; value: Uint8Array }[] = new Array(idx.length);
    for (let j = 0; j < idx.length; j++) ops[j] = { key: this.keys[idx[j]!]!, value: vals[j]! };
    if (this.viaDraft) {
      this.d.apply(ops);
      this.r = this.d.commit();
    } else {
      this.r = this.map.update(this.r, ops);
      this.d = this.map.draft(this.r);
    }
  }

  async forkOnly(count: number): Promise<number> {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += this.map.draft(this.r) === this.d ? 0 : 1;
    return sum;
  }

  async getRangeFlat(idx: Uint32Array, from: number, count: number): Promise<number> {
    // Built once per version (an O(n) scan, outside the timed region's steady state).
    if (this.flat === null || !bytesEqual(this.flat.root, this.r)) this.flat = this.m.createFlatView(this.map, this.r);
    const n = idx.length;
    const { flat, keys } = this;
    let sum = 0;
    for (let j = from; j < from + count; j++) {
      const v = flat.get(keys[idx[j % n]!]!);
      if (v === undefined) throw new Error("flat view lost a key");
      sum += v[0]!;
    }
    return sum;
  }

  root(): Uint8Array {
    return this.r;
  }

  async get(i: number): Promise<Uint8Array | undefined> {
    return this.map.get(this.r, this.keys[i]!);
  }

  async getForeign(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.map.get(this.r, key);
  }

  async getRange(idx: Uint32Array, from: number, count: number): Promise<number> {
    const n = idx.length;
    const { map, keys, r } = this;
    let sum = 0;
    for (let j = from; j < from + count; j++) {
      const v = map.get(r, keys[idx[j % n]!]!);
      sum += v === undefined ? 0 : v[0]!;
    }
    return sum;
  }

  async prove(i: number): Promise<Uint8Array> {
    return this.map.prove(this.r, this.keys[i]!);
  }

  async proveRange(idx: Uint32Array, from: number, count: number): Promise<number> {
    const n = idx.length;
    const { map, keys, r } = this;
    let sum = 0;
    for (let j = from; j < from + count; j++) sum += map.prove(r, keys[idx[j % n]!]!).length;
    return sum;
  }

  proofBytes(proof: unknown): number {
    return (proof as Uint8Array).length;
  }

  async verify(root: Uint8Array, i: number, value: Uint8Array, proof: unknown): Promise<boolean> {
    return this.m.verifyValue(root, this.keys[i]!, value, proof as Uint8Array);
  }

  async verifyRange(
    root: Uint8Array,
    idx: Uint32Array,
    vals: readonly Uint8Array[],
    proofs: readonly unknown[],
    from: number,
    count: number,
  ): Promise<number> {
    const n = idx.length;
    const { keys } = this;
    const verifyValue = this.m.verifyValue;
    let ok = 0;
    for (let j = from; j < from + count; j++) {
      const k = j % n;
      if (verifyValue(root, keys[idx[k]!]!, vals[k]!, proofs[k] as Uint8Array)) ok++;
    }
    return ok;
  }

  forks(): ForkVariant[] {
    const { map, keys } = this;
    // A draft holding uncommitted writes, for d.fork(): the writes are existing keys with fresh values.
    const pend = map.draft(this.r);
    const pv = seededBytes(0x70656e64);
    for (let i = 0; i < Math.min(HELIOS_PENDING, keys.length); i++) pend.put(keys[i]!, pv(VALUE_BYTES));
    return [
      {
        suffix: "",
        note: "map.draft(root) then one put (hashing deferred to commit)",
        run: async (idx, vals, from, count) => {
          const n = idx.length;
          const r = this.r;
          let sum = 0;
          for (let j = from; j < from + count; j++) {
            const f = map.draft(r);
            f.put(keys[idx[j % n]!]!, vals[j % n]!);
            sum += f === undefined ? 0 : 1;
          }
          return sum;
        },
      },
      {
        suffix: " d.fork()",
        note: `d.fork() of a draft holding ${HELIOS_PENDING} uncommitted writes, then one put`,
        run: async (idx, vals, from, count) => {
          const n = idx.length;
          let sum = 0;
          for (let j = from; j < from + count; j++) {
            const f = pend.fork();
            f.put(keys[idx[j % n]!]!, vals[j % n]!);
            sum += f === undefined ? 0 : 1;
          }
          return sum;
        },
      },
    ];
  }
}

function heliosFactory(m: HeliosMerkleModule, viaDraft: boolean): ImplFactory {
  const write = viaDraft
    ? "draft.apply(batch) then draft.commit() (the interactive working-set path)"
    : "map.update(root, batch) (the batch path: sorted ops, each touched node rebuilt once)";
  return {
    impl: viaDraft ? "helios (draft)" : "helios",
    slow: false,
    keyed: true,
    workloadNotes: {
      "insert+root": write,
      "10K updates+root": write,
      "heap per key": "the memory store keeps the nodes of every committed version (no GC in this row)",
      "heap per key (live)": "copyReachable(store, [root]) into a fresh memory store: the current version only",
      "fork only @1K": "map.draft(root): a working set on a root; nothing is copied",
      "fork only @N": "map.draft(root): a working set on a root; nothing is copied",
    },
    async create(keys) {
      return new HeliosMap(m, keys, viaDraft);
    },
  };
}

async function loadHelios(): Promise<ImplFactory[] | string> {
  try {
    const m = (await import(HELIOS_MODULE)) as HeliosMerkleModule;
    for (const f of [
      "createMemoryStore",
      "createMerkleMap",
      "verifyValue",
      "copyReachable",
      "createFlatView",
    ] as const) {
      if (typeof m[f] !== "function") return `src/merkle/index.js has no ${f}()`;
    }
    if (!(m.EMPTY_ROOT instanceof Uint8Array)) return "src/merkle/index.js has no EMPTY_ROOT";
    return [heliosFactory(m, false), heliosFactory(m, true)];
  } catch (e) {
    return `cannot import ${HELIOS_MODULE}: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------
// Dataset and measurement helpers.

let sink = 0;

function log(msg: string): void {
  process.stderr.write(`[merkle] ${msg}\n`);
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
  return n;
}

function fmtK(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}K`;
  return String(n);
}

/** Deterministic uniform integers in [0, 2^32). */
function seededU32(seed: number): () => number {
  const next = seededBytes(seed);
  let buf = next(1 << 14);
  let pos = 0;
  return () => {
    if (pos === buf.length) {
      buf = next(buf.length);
      pos = 0;
    }
    const x = (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
    pos += 4;
    return x;
  };
}

/** `count` distinct indices in [0, n), random order (all of [0, n) shuffled if count >= n). */
function sampleDistinct(seed: number, count: number, n: number): Uint32Array {
  const rnd = seededU32(seed);
  const pick = (m: number) => Math.floor((rnd() / 2 ** 32) * m);
  if (count >= n) {
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = pick(i + 1);
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    return all;
  }
  const seen = new Uint8Array(n);
  const out = new Uint32Array(count);
  for (let k = 0; k < count; ) {
    const i = pick(n);
    if (seen[i] === 0) {
      seen[i] = 1;
      out[k++] = i;
    }
  }
  return out;
}

/** Random indices in [0, n), repeats allowed. */
function sampleIndices(seed: number, count: number, n: number): Uint32Array {
  const rnd = seededU32(seed);
  const out = new Uint32Array(count);
  for (let k = 0; k < count; k++) out[k] = Math.floor((rnd() / 2 ** 32) * n);
  return out;
}

function seededValues(seed: number, count: number): Uint8Array[] {
  const next = seededBytes(seed);
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = next(VALUE_BYTES);
  return out;
}

function range(from: number, to: number): Uint32Array {
  const a = new Uint32Array(to - from);
  for (let i = 0; i < a.length; i++) a[i] = from + i;
  return a;
}

function memBytes(): number {
  // `external` already includes `arrayBuffers` (Node docs), so adding arrayBuffers again would count it twice.
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/**
 * Median ns per op of `run(from, count)` over `rounds` rounds of about
 * `targetMs` each; the calibration runs double as warmup.
 */
async function nsPerOp(
  run: (from: number, count: number) => Promise<number>,
  targetMs: number,
  rounds: number,
): Promise<number> {
  let count = 8;
  let from = 0;
  for (;;) {
    const t0 = process.hrtime.bigint();
    sink += await run(from, count);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    from += count;
    if (ms >= targetMs / 4 || count >= 1 << 26) {
      count = Math.max(1, Math.ceil((count * targetMs) / Math.max(ms, 1e-3)));
      break;
    }
    count *= 4;
  }
  const xs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    sink += await run(from, count);
    xs.push(Number(process.hrtime.bigint() - t0) / count);
    from += count;
  }
  return median(xs);
}

interface Params {
  mode: "quick" | "full";
  n: number;
  slowN: number;
  keys: Uint8Array[];
  values: Uint8Array[];
  updateReps: number;
  slowUpdateReps: number;
  targetMs: number;
  rounds: number;
  proofSample: number;
  slowProofSample: number;
}

function fail(impl: string, what: string): never {
  throw new Error(`${impl}: correctness guard failed: ${what}`);
}

/** Checks gets of `sample` keys (plus one absent key for keyed maps) and one proof, including a wrong-value proof. */
async function guard(f: ImplFactory, inst: MapInstance, cur: readonly Uint8Array[], n: number, when: string) {
  const sample = sampleIndices(0x67756172 + n, 8, n);
  sample[0] = 0;
  sample[1] = n - 1;
  for (const i of sample) {
    const v = await inst.get(i);
    if (v === undefined || !bytesEqual(v, cur[i]!)) fail(f.impl, `${when}: get(key ${i}) != written value`);
  }
  if (f.keyed && inst.getForeign) {
    const absent = seededBytes(0xabcdef)(KEY_BYTES);
    if ((await inst.getForeign(absent)) !== undefined) fail(f.impl, `${when}: get(absent key) returned a value`);
  }
  const i = sample[2]!;
  const root = inst.root();
  const p = await inst.prove(i);
  if (!(await inst.verify(root, i, cur[i]!, p))) fail(f.impl, `${when}: proof of key ${i} does not verify`);
  const wrong = cur[i]!.slice();
  wrong[0] = (wrong[0] ?? 0) ^ 1;
  if (await inst.verify(root, i, wrong, p)) fail(f.impl, `${when}: proof of key ${i} verifies a wrong value`);
}

async function buildAll(inst: MapInstance, values: readonly Uint8Array[], n: number): Promise<void> {
  for (let b = 0; b < n; b += BATCH) {
    const e = Math.min(n, b + BATCH);
    await inst.writeBatch(range(b, e), values.slice(b, e));
  }
}

async function benchImpl(f: ImplFactory, p: Params): Promise<Result[]> {
  const n = f.slow ? Math.min(p.slowN, p.n) : p.n;
  const out: Result[] = [];
  const sizeNote =
    n < p.n
      ? `measured at ${fmtK(n)} keys${p.mode === "quick" ? " (quick mode)" : ""}; its throughput falls with size, so this flatters it`
      : "";
  const add = (
    workload: Workload,
    value: number,
    unit: string,
    better: "higher" | "lower",
    extra = "",
    suffix = "",
  ) => {
    const notes = [sizeNote, f.note ?? "", f.workloadNotes?.[workload] ?? "", extra].filter((s) => s !== "");
    const r: Result = { workload, impl: f.impl + suffix, value, unit, better };
    if (notes.length > 0) r.note = notes.join("; ");
    out.push(r);
  };
  const cur = p.values.slice(0, n);

  // insert+root and heap per key (one build, gc around it).
  gc();
  const m0 = memBytes();
  let inst: MapInstance | null = await f.create(p.keys, n, VALUE_BYTES);
  let insertNs = 0n;
  for (let b = 0; b < n; b += BATCH) {
    const e = Math.min(n, b + BATCH);
    const idx = range(b, e);
    const vals = cur.slice(b, e);
    const t0 = process.hrtime.bigint();
    await inst.writeBatch(idx, vals);
    insertNs += process.hrtime.bigint() - t0;
    if ((e / BATCH) % 10 === 0 || e === n) {
      log(`${f.impl}: inserted ${e}/${n} (${((e * 1e9) / Number(insertNs)).toFixed(0)} keys/s)`);
    }
  }
  gc();
  const heapPerKey = (memBytes() - m0) / n;
  // The live set: the current version only. An implementation that keeps old
  // versions in memory drops them first (Helios copies the current version's
  // nodes into a fresh memory store); for the others this reads the same.
  inst.keepOnlyCurrent?.();
  gc();
  const heapPerKeyLive = (memBytes() - m0) / n;
  const insertRate = (n * 1e9) / Number(insertNs);
  await guard(f, inst, cur, n, "after insert");
  add("insert+root", insertRate, "keys/s", "higher", `N=${fmtK(n)}, batches of ${fmtK(BATCH)}`);

  // 10K updates+root: fresh distinct existing keys each rep, same sets for every impl.
  const reps = f.slow ? p.slowUpdateReps : p.updateReps;
  const warm = f.slow ? 0 : 1;
  const upd: number[] = [];
  for (let r = 0; r < warm + reps; r++) {
    const idx = sampleDistinct(0x75706400 + r, UPDATES, n);
    const vals = seededValues(0x76616c00 + r, idx.length);
    const t0 = process.hrtime.bigint();
    await inst.writeBatch(idx, vals);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    for (let j = 0; j < idx.length; j++) cur[idx[j]!] = vals[j]!;
    if (r >= warm) upd.push(ms);
    log(`${f.impl}: ${idx.length} updates+root ${ms.toFixed(1)} ms${r < warm ? " (warmup)" : ""}`);
  }
  await guard(f, inst, cur, n, "after updates");
  add("10K updates+root", median(upd), "ms", "lower", `N=${fmtK(n)}; median of ${reps} reps`);

  // hot get.
  const getIdx = sampleIndices(0x67657400, 1 << 16, n);
  const getNs = await nsPerOp((from, count) => inst!.getRange(getIdx, from, count), p.targetMs, p.rounds);
  log(`${f.impl}: hot get ${getNs.toFixed(0)} ns`);
  add("hot get", getNs, "ns", "lower", `N=${fmtK(n)}`);
  if (inst.getRangeFlat) {
    const flat = inst.getRangeFlat.bind(inst);
    await flat(getIdx, 0, 1); // builds the view (one O(n) scan) before timing
    const flatNs = await nsPerOp((from, count) => flat(getIdx, from, count), p.targetMs, p.rounds);
    log(`${f.impl}: hot get (flat view) ${flatNs.toFixed(0)} ns`);
    add("hot get (flat view)", flatNs, "ns", "lower", `N=${fmtK(n)}; the same keys as "hot get"`);
  }

  // proofs: one stored sample for verify and size, generation measured over the same keys.
  const sampleN = f.slow ? p.slowProofSample : p.proofSample;
  const prIdx = sampleIndices(0x70726f00, sampleN, n);
  const prVals = Array.from(prIdx, (i) => cur[i]!);
  const proofs: unknown[] = [];
  for (const i of prIdx) proofs.push(await inst.prove(i));
  const root = inst.root();
  const ok = await inst.verifyRange(root, prIdx, prVals, proofs, 0, prIdx.length);
  if (ok !== prIdx.length) fail(f.impl, `${prIdx.length - ok} of ${prIdx.length} sampled proofs do not verify`);
  const genNs = await nsPerOp((from, count) => inst!.proveRange(prIdx, from, count), p.targetMs, p.rounds);
  let bad = 0;
  const verNs = await nsPerOp(
    async (from, count) => {
      const k = await inst!.verifyRange(root, prIdx, prVals, proofs, from, count);
      bad += count - k;
      return k;
    },
    p.targetMs,
    p.rounds,
  );
  if (bad !== 0) fail(f.impl, `${bad} proof verifications failed in the timed loop`);
  const size = median(proofs.map((x) => inst!.proofBytes(x)));
  log(`${f.impl}: proof gen ${(1e9 / genNs).toFixed(0)}/s, verify ${(1e9 / verNs).toFixed(0)}/s, size ${size} B`);
  add("proof gen", 1e9 / genNs, "proofs/s", "higher", `N=${fmtK(n)}`);
  add("proof verify", 1e9 / verNs, "proofs/s", "higher", `N=${fmtK(n)}`);
  add("proof size", size, "bytes", "lower", `N=${fmtK(n)}; median over ${prIdx.length} keys`);

  // fork @1K (own map of the first 1K keys) and fork @N (the map above).
  const forkIdx = (m: number) => sampleIndices(0x666f7200 + m, 1 << 12, m);
  const forkVals = seededValues(0x666f7276, 1 << 12);
  const forkRows: [Workload, MapInstance, number, Uint8Array[]][] = [];
  let small: MapInstance | null = await f.create(p.keys, FORK_SMALL, VALUE_BYTES);
  const smallCur = p.values.slice(0, FORK_SMALL);
  await buildAll(small, smallCur, FORK_SMALL);
  await guard(f, small, smallCur, FORK_SMALL, "1K map");
  forkRows.push(["fork @1K", small, FORK_SMALL, smallCur], ["fork @N", inst, n, cur]);
  for (const [w, m, size, mcur] of forkRows) {
    const idx = forkIdx(size);
    const rootBefore = m.root().slice();
    for (const v of m.forks()) {
      const ns = await nsPerOp((from, count) => v.run(idx, forkVals, from, count), p.targetMs, p.rounds);
      log(`${f.impl}${v.suffix}: ${w} ${ns.toFixed(0)} ns`);
      add(w, ns, "ns", "lower", `${v.note}; map of ${fmtK(size)} keys`, v.suffix);
    }
    const onlyW = (w === "fork @1K" ? "fork only @1K" : "fork only @N") as Workload;
    const onlyNs = await nsPerOp((_from, count) => m.forkOnly(count), p.targetMs, p.rounds);
    log(`${f.impl}: ${onlyW} ${onlyNs.toFixed(0)} ns`);
    add(onlyW, onlyNs, "ns", "lower", `a fork of a map of ${fmtK(size)} keys, with no write`);
    if (!bytesEqual(m.root(), rootBefore)) fail(f.impl, `${w}: writes on forks changed the source root`);
    await guard(f, m, mcur, size, `${w}: source after forks`);
  }
  small = null;

  add(
    "heap per key",
    heapPerKey,
    "bytes",
    "lower",
    `N=${fmtK(n)}; (heapUsed + external) growth over the build / N, gc() before each reading (external already includes arrayBuffers); raw key+value = ${KEY_BYTES + VALUE_BYTES} B/key`,
  );
  add(
    "heap per key (live)",
    heapPerKeyLive,
    "bytes",
    "lower",
    `N=${fmtK(n)}; measured right after the build, like "heap per key"; raw key+value = ${KEY_BYTES + VALUE_BYTES} B/key`,
  );
  inst = null;
  sink += inst === null ? 0 : 1;
  return out;
}

export async function run(mode: "quick" | "full"): Promise<Result[]> {
  const full = mode === "full";
  const n = envInt("MERKLE_N") ?? (full ? 1_000_000 : 50_000);
  const p: Params = {
    mode,
    n,
    slowN: envInt("PEER_SLOW_N") ?? (full ? 100_000 : 10_000),
    keys: [],
    values: [],
    updateReps: full ? 7 : 5,
    slowUpdateReps: full ? 5 : 3,
    targetMs: full ? 400 : 100,
    rounds: full ? 7 : 5,
    proofSample: full ? 4096 : 2048,
    slowProofSample: full ? 1024 : 512,
  };
  if ((globalThis as { gc?: unknown }).gc === undefined)
    log("warning: run node with --expose-gc; heap per key is noisy without it");

  const wanted = process.env.MERKLE_IMPLS?.split(",").map((s) => s.trim());
  const factories: ImplFactory[] = [];
  const helios = !wanted || wanted.includes("helios") ? await loadHelios() : "not selected (MERKLE_IMPLS)";
  if (typeof helios === "string") log(`SKIPPING helios: ${helios}`);
  else factories.push(...helios);
  const peers: [string, ImplFactory][] = [
    ["ethereumjs", ethereumjs],
    ["ethereumjs-kh", ethereumjsKeyHashing],
    ["chainsafe", chainsafe],
  ];
  for (const [id, fac] of peers) if (!wanted || wanted.includes(id)) factories.push(fac);

  const t0 = Date.now();
  const kg = seededBytes(0x6b657973);
  const vg = seededBytes(0x76616c73);
  for (let i = 0; i < n; i++) {
    p.keys.push(kg(KEY_BYTES));
    p.values.push(vg(VALUE_BYTES));
  }
  log(
    `${mode}: N=${fmtK(n)} keys (${KEY_BYTES} B) with ${VALUE_BYTES} B values; slow peers at ${fmtK(Math.min(p.slowN, n))}`,
  );

  const results: Result[] = [];
  const failures: string[] = [];
  for (const f of factories) {
    const s = Date.now();
    log(`${f.impl}: start`);
    try {
      results.push(...(await benchImpl(f, p)));
    } catch (e) {
      const msg = `${f.impl}: FAILED: ${(e as Error).stack ?? e}`;
      failures.push(msg);
      log(msg);
    }
    gc();
    log(`${f.impl}: done in ${((Date.now() - s) / 1000).toFixed(1)} s`);
  }
  log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (failures.length > 0) {
    log(`${failures.length} impl(s) failed; their rows are missing:\n${failures.join("\n")}`);
    process.exitCode = 1;
  }
  if (sink === Number.MIN_SAFE_INTEGER) log("unreachable");

  // Stable sort: workloads in suite order, impls in run order within each.
  return results.sort((a, b) => WORKLOADS.indexOf(a.workload as Workload) - WORKLOADS.indexOf(b.workload as Workload));
}
