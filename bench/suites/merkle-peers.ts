/**
 * bench/suites/merkle-peers — the adapter contract of the merkle suite and the
 * adapters of Helios's TypeScript peers (@ethereumjs/trie,
 * @chainsafe/persistent-merkle-tree). The Helios adapter and the driver live
 * in merkle.ts.
 *
 * Every adapter works on the suite's shared dataset: key i is `keys[i]`; a
 * write set is a list of key indices plus the values to store under them.
 * Hot loops are range methods (`getRange`, `proveRange`, ...) so a synchronous
 * implementation pays one `await` per batch, not one per operation; an
 * asynchronous peer awaits its own API per operation, as its users must.
 */
import {
  createNodeFromProof,
  createProof,
  executeHashComputations,
  getNodesAtDepth,
  HashComputationGroup,
  type HashComputationLevel,
  type Node,
  packedNodeRootsToBytes,
  packedRootsBytesToLeafNodes,
  ProofType,
  type SingleProof,
  setHasher,
  setNodesAtDepth,
  subtreeFillToContents,
  Tree,
  toGindex,
  zeroNode,
} from "@chainsafe/persistent-merkle-tree";
import { hasher as hashtreeHasher } from "@chainsafe/persistent-merkle-tree/hasher/hashtree";
import { Trie } from "@ethereumjs/trie";
import type { BatchDBOp } from "@ethereumjs/util";

/** One way of forking a map and writing one key on the fork. */
export interface ForkVariant {
  /** Appended to the impl name ("" for the impl's natural fork). */
  suffix: string;
  note: string;
  /** For j in [from, from+count): fork, then write keys[idx[j % len]] := vals[j % len] on the fork. Returns a checksum. */
  run(idx: Uint32Array, vals: readonly Uint8Array[], from: number, count: number): Promise<number>;
}

/** A map built by one implementation, holding the keys of the shared dataset. */
export interface MapInstance {
  /** Writes keys[idx[j]] := vals[j] for all j as one batch (idx distinct), then computes the root. */
  writeBatch(idx: Uint32Array, vals: readonly Uint8Array[]): Promise<void>;
  /** The current root (after the last writeBatch). */
  root(): Uint8Array;
  /** Value of key i (undefined if absent; positional maps always have a value). */
  get(i: number): Promise<Uint8Array | undefined>;
  /** Value of a key outside the dataset (keyed maps only). */
  getForeign?(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Reads keys[idx[j % len]] for j in [from, from+count); returns a checksum. */
  getRange(idx: Uint32Array, from: number, count: number): Promise<number>;
  /** Inclusion proof of key i against the current root. */
  prove(i: number): Promise<unknown>;
  /** Proves keys[idx[j % len]] for j in [from, from+count); returns a checksum. */
  proveRange(idx: Uint32Array, from: number, count: number): Promise<number>;
  /** Bytes a verifier must receive, beyond the key and value it already has. */
  proofBytes(proof: unknown): number;
  /** Verifies that `value` is the value of key i under `root`. */
  verify(root: Uint8Array, i: number, value: Uint8Array, proof: unknown): Promise<boolean>;
  /** Verifies proofs[j % len] for key idx[j % len] and value vals[j % len]; returns how many verified. */
  verifyRange(
    root: Uint8Array,
    idx: Uint32Array,
    vals: readonly Uint8Array[],
    proofs: readonly unknown[],
    from: number,
    count: number,
  ): Promise<number>;
  forks(): ForkVariant[];
  /**
   * Drops every version but the current one, where the implementation keeps
   * old versions in memory (Helios' memory store does; a JS-object tree whose
   * old versions are unreferenced is collected by V8 anyway). Optional.
   */
  keepOnlyCurrent?(): void;
  /**
   * Reads keys[idx[j % len]] for j in [from, from+count) through a read
   * accelerator of the current version, where the implementation has one
   * (Helios: a flat key → value view); returns a checksum. Optional.
   */
  getRangeFlat?(idx: Uint32Array, from: number, count: number): Promise<number>;
  /** Makes `count` forks of the current version and writes nothing; returns a checksum. */
  forkOnly(count: number): Promise<number>;
}

export interface ImplFactory {
  impl: string;
  /** Applied to every result row of this impl. */
  note?: string;
  /** Slow peers are measured at PEER_SLOW_N keys and with fewer repetitions. */
  slow: boolean;
  /** Keyed maps can answer "absent"; positional ones cannot. */
  keyed: boolean;
  /** Extra notes per workload. */
  workloadNotes?: Record<string, string>;
  /** A new empty map over `keys`; `capacity` is the most keys it will hold. */
  create(keys: readonly Uint8Array[], capacity: number, valueBytes: number): Promise<MapInstance>;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// @ethereumjs/trie 6.2.1 — Merkle-Patricia trie over its in-memory MapDB.

class EthereumjsMap implements MapInstance {
  constructor(
    private readonly trie: Trie,
    private readonly keys: readonly Uint8Array[],
  ) {}

  async writeBatch(idx: Uint32Array, vals: readonly Uint8Array[]): Promise<void> {
    const ops: BatchDBOp[] = new Array(idx.length);
    for (let j = 0; j < idx.length; j++) ops[j] = { type: "put", key: this.keys[idx[j]!]!, value: vals[j]! };
    await this.trie.batch(ops);
    this.trie.root(); // the trie hashes eagerly on every put; root() reads it
  }

  root(): Uint8Array {
    return this.trie.root();
  }

  async get(i: number): Promise<Uint8Array | undefined> {
    return (await this.trie.get(this.keys[i]!)) ?? undefined;
  }

  async getForeign(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.trie.get(key)) ?? undefined;
  }

  async getRange(idx: Uint32Array, from: number, count: number): Promise<number> {
    const n = idx.length;
    let sum = 0;
    for (let j = from; j < from + count; j++) {
      const v = await this.trie.get(this.keys[idx[j % n]!]!);
      sum += v === null ? 0 : v[0]!;
    }
    return sum;
  }

  prove(i: number): Promise<Uint8Array[]> {
    return this.trie.createProof(this.keys[i]!);
  }

  async proveRange(idx: Uint32Array, from: number, count: number): Promise<number> {
    const n = idx.length;
    let sum = 0;
    for (let j = from; j < from + count; j++) sum += (await this.trie.createProof(this.keys[idx[j % n]!]!)).length;
    return sum;
  }

  proofBytes(proof: unknown): number {
    let b = 0;
    for (const node of proof as Uint8Array[]) b += node.length;
    return b;
  }

  async verify(root: Uint8Array, i: number, value: Uint8Array, proof: unknown): Promise<boolean> {
    try {
      const v = await this.trie.verifyProof(root, this.keys[i]!, proof as Uint8Array[]);
      return v !== null && bytesEqual(v, value);
    } catch {
      return false;
    }
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
    let ok = 0;
    for (let j = from; j < from + count; j++) {
      if (await this.verify(root, idx[j % n]!, vals[j % n]!, proofs[j % n])) ok++;
    }
    return ok;
  }

  async forkOnly(count: number): Promise<number> {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += this.trie.shallowCopy() === this.trie ? 0 : 1;
    return sum;
  }

  forks(): ForkVariant[] {
    return [
      {
        suffix: "",
        note: "trie.shallowCopy() (shares the MapDB) then one put; its put hashes the path eagerly",
        run: async (idx, vals, from, count) => {
          const n = idx.length;
          let sum = 0;
          for (let j = from; j < from + count; j++) {
            const f = this.trie.shallowCopy();
            await f.put(this.keys[idx[j % n]!]!, vals[j % n]!);
            sum += f.root()[0]!;
          }
          return sum;
        },
      },
    ];
  }
}

function ethereumjsFactory(useKeyHashing: boolean): ImplFactory {
  return {
    impl: useKeyHashing ? "@ethereumjs/trie (key hashing)" : "@ethereumjs/trie",
    slow: true,
    keyed: true,
    workloadNotes: {
      "insert+root": "trie.batch(ops) (a loop of put) then trie.root(); in-memory MapDB, no pruning (defaults)",
      "heap per key": "MapDB keeps every node ever written (default: no pruning)",
      "heap per key (live)":
        "not compacted: MapDB still holds stale nodes (with useNodePruning it would not, at a throughput cost)",
    },
    async create(keys) {
      const trie = await Trie.create({ useKeyHashing });
      return new EthereumjsMap(trie, keys);
    },
  };
}

export const ethereumjs: ImplFactory = ethereumjsFactory(false);
export const ethereumjsKeyHashing: ImplFactory = ethereumjsFactory(true);

// ---------------------------------------------------------------------------
// @chainsafe/persistent-merkle-tree 1.3.1 — positional binary SHA-256 tree.
//
// Key i is leaf index i. Each 100-byte value is an SSZ ByteVector: 4 chunks
// (128 bytes, zero-padded) merkleized into a depth-2 subtree hung at index i
// of a depth-ceil(log2(capacity)) tree (so depth+2 levels in all). Hasher:
// @chainsafe/hashtree. Batches go through setNodesAtDepth (sorted indices,
// each node touched once); hashing happens lazily on reading the root
// (default: measured the faster path here, 10K updates at 1M keys ~90-115 ms
// vs ~125-155 ms) or through the batched HashComputation path that Lodestar
// uses with hashtree (CHAINSAFE_HASH=batch).

let hasherSet = false;
function useHashtree(): void {
  if (hasherSet) return;
  setHasher(hashtreeHasher);
  hasherSet = true;
}

const chainsafeBatchHash = process.env.CHAINSAFE_HASH === "batch";

class ChainsafeMap implements MapInstance {
  private readonly tree: Tree;
  private readonly depth: number;
  private readonly hc = new HashComputationGroup();
  private readonly outView: DataView;
  private readonly out: Uint8Array;

  constructor(
    capacity: number,
    private readonly valueBytes: number,
  ) {
    this.depth = Math.max(1, Math.ceil(Math.log2(Math.max(2, capacity))));
    this.tree = new Tree(zeroNode(this.depth + 2));
    this.out = new Uint8Array(valueBytes);
    this.outView = new DataView(this.out.buffer);
  }

  /** The SSZ ByteVector subtree of a value; registers its hashing in hcByLevel if given. */
  private valueNode(v: Uint8Array, hcByLevel: HashComputationLevel[] | null): Node {
    if (v.length !== this.valueBytes) throw new Error(`chainsafe adapter: value must be ${this.valueBytes} bytes`);
    const chunks = packedRootsBytesToLeafNodes(new DataView(v.buffer, v.byteOffset, v.byteLength), 0, v.length);
    return subtreeFillToContents(chunks, 2, this.depth, hcByLevel);
  }

  async writeBatch(idx: Uint32Array, vals: readonly Uint8Array[]): Promise<void> {
    const m = idx.length;
    // setNodesAtDepth needs ascending indices: sort (index, position) pairs packed in a float64.
    let sorted = true;
    for (let j = 1; j < m && sorted; j++) if (idx[j]! <= idx[j - 1]!) sorted = false;
    let order: Float64Array | null = null;
    if (!sorted) {
      order = new Float64Array(m);
      for (let j = 0; j < m; j++) order[j] = idx[j]! * m + j;
      order.sort();
    }
    const indexes: number[] = new Array(m);
    const nodes: Node[] = new Array(m);
    const hcByLevel = chainsafeBatchHash ? this.hc.byLevel : null;
    if (hcByLevel) this.hc.reset();
    for (let k = 0; k < m; k++) {
      const j = order ? order[k]! % m : k;
      indexes[k] = idx[j]!;
      if (k > 0 && indexes[k]! === indexes[k - 1]!) throw new Error("chainsafe adapter: duplicate index in batch");
      nodes[k] = this.valueNode(vals[j]!, hcByLevel);
    }
    this.tree.rootNode = setNodesAtDepth(this.tree.rootNode, this.depth, indexes, nodes, 0, hcByLevel);
    if (hcByLevel) {
      executeHashComputations(hcByLevel);
      this.hc.clean();
    }
    this.tree.root; // hashes whatever is still unhashed (lazy mode: everything)
  }

  root(): Uint8Array {
    return this.tree.root;
  }

  private readInto(i: number): void {
    const sub = this.tree.getNodeAtDepth(this.depth, i);
    packedNodeRootsToBytes(this.outView, 0, this.valueBytes, getNodesAtDepth(sub, 2, 0, 4));
  }

  async get(i: number): Promise<Uint8Array | undefined> {
    this.readInto(i);
    return this.out.slice();
  }

  async getRange(idx: Uint32Array, from: number, count: number): Promise<number> {
    const n = idx.length;
    let sum = 0;
    for (let j = from; j < from + count; j++) {
      // Reading a value = reading its 4 chunk nodes and serializing them (what an SSZ view does).
      this.readInto(idx[j % n]!);
      sum += this.out[0]!;
    }
    return sum;
  }

  private gindex(i: number): bigint {
    return toGindex(this.depth, BigInt(i));
  }

  async prove(i: number): Promise<SingleProof> {
    return createProof(this.tree.rootNode, { type: ProofType.single, gindex: this.gindex(i) }) as SingleProof;
  }

  async proveRange(idx: Uint32Array, from: number, count: number): Promise<number> {
    const n = idx.length;
    const rootNode = this.tree.rootNode;
    let sum = 0;
    for (let j = from; j < from + count; j++) {
      const p = createProof(rootNode, { type: ProofType.single, gindex: this.gindex(idx[j % n]!) }) as SingleProof;
      sum += p.witnesses.length;
    }
    return sum;
  }

  proofBytes(proof: unknown): number {
    const p = proof as SingleProof;
    let b = p.leaf.length;
    for (const w of p.witnesses) b += w.length;
    return b;
  }

  private verifySync(root: Uint8Array, i: number, value: Uint8Array, p: SingleProof): boolean {
    // The position must be the key's, the leaf must be the value's SSZ root, the branch must rebuild the root.
    if (p.type !== ProofType.single || p.gindex !== this.gindex(i)) return false;
    if (!bytesEqual(p.leaf, this.valueNode(value, null).root)) return false;
    return bytesEqual(createNodeFromProof(p).root, root);
  }

  async verify(root: Uint8Array, i: number, value: Uint8Array, proof: unknown): Promise<boolean> {
    return this.verifySync(root, i, value, proof as SingleProof);
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
    let ok = 0;
    for (let j = from; j < from + count; j++) {
      if (this.verifySync(root, idx[j % n]!, vals[j % n]!, proofs[j % n] as SingleProof)) ok++;
    }
    return ok;
  }

  async forkOnly(count: number): Promise<number> {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += this.tree.clone() === this.tree ? 0 : 1;
    return sum;
  }

  forks(): ForkVariant[] {
    return [
      {
        suffix: "",
        note: "tree.clone() (persistent nodes, O(1)) then setNodeAtDepth of the value's subtree; hashing deferred to the next root read",
        run: async (idx, vals, from, count) => {
          const n = idx.length;
          let sum = 0;
          for (let j = from; j < from + count; j++) {
            const f = this.tree.clone();
            f.setNodeAtDepth(this.depth, idx[j % n]!, this.valueNode(vals[j % n]!, null));
            sum += f.rootNode === this.tree.rootNode ? 0 : 1;
          }
          return sum;
        },
      },
    ];
  }
}

export const chainsafe: ImplFactory = {
  impl: "@chainsafe/persistent-merkle-tree",
  note:
    "positional, not a map: key i = leaf index i (no key lookup); value = SSZ ByteVector[100] (4-chunk subtree), " +
    `depth log2(N)+2; hasher @chainsafe/hashtree; ${chainsafeBatchHash ? "batched HashComputation hashing" : "lazy hashing"}`,
  slow: false,
  keyed: false,
  workloadNotes: {
    "insert+root": "setNodesAtDepth per batch (sorted indices) then tree.root",
    "10K updates+root": "includes sorting the batch's indices, which setNodesAtDepth requires",
    "hot get": "getNodeAtDepth + its 4 chunk nodes serialized to bytes (SSZ read); index given, no key lookup",
    "proof gen": "createProof single (SHA-256 branch of a positional index, not a key-value proof)",
    "proof verify":
      "index check + value merkleized to its leaf + createNodeFromProof(proof).root == root; not a key-value proof",
    "proof size": "leaf + witnesses (32 B each); a positional branch, no key, not a key-value proof",
    "heap per key": "old versions are garbage-collected (nothing keeps them)",
    "heap per key (live)": "old versions are garbage-collected (nothing keeps them)",
  },
  async create(_keys, capacity, valueBytes) {
    useHashtree();
    return new ChainsafeMap(capacity, valueBytes);
  },
};
