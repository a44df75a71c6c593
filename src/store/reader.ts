/**
 * store/reader — a read-only NodeStore over a store's LMDB node table, for
 * other threads of the process that owns the store (the sandbox's fork(n)
 * runner workers). lmdb-js shares one environment between the threads of a
 * process, so opening it read-only here costs no second mapping.
 *
 * It sees only what is in LMDB: the owner must checkpoint before handing a
 * version over (L0 lives in the owner's memory), and keep the version live
 * (a lease) while readers use it.
 *
 * Invariants: every node returned was decoded with the store's frame codec
 * and re-hashed to its id first (STORE_CORRUPT otherwise, never served or
 * cached); nothing is ever written.
 * Costs: a miss is one getBinaryFast, one frame decode and one BLAKE3 of the
 * node (~2–5 µs); a hit in its own byte-bounded L1 (NodeCache) ~0.2 µs.
 */
import { open, type Database, type RootDatabase } from "lmdb";
import { AssertionError, HASH_BYTES } from "../core/index.js";
import type { NodeStore } from "../merkle/index.js";
import { NodeCache } from "./cache.js";
import { NODES_TABLE, verifiedNode } from "./durable.js";

/** A read-only NodeStore over the store's LMDB node table, verifying every node it reads. */
export class NodeReader implements NodeStore {
  private readonly env: RootDatabase;
  private readonly nodes: Database<Buffer, Buffer>;
  private readonly cache: NodeCache;
  private readonly idBuf = new Uint8Array(HASH_BYTES);

  constructor(path: string, cacheBytes: number) {
    this.env = open({ path, readOnly: true, maxDbs: 4, compression: false });
    this.nodes = this.env.openDB<Buffer, Buffer>({ name: NODES_TABLE, encoding: "binary", keyEncoding: "binary" });
    this.cache = new NodeCache(cacheBytes);
  }

  get(id: Uint8Array, idOff: number): Uint8Array | undefined {
    const hit = this.cache.get(id, idOff);
    if (hit !== undefined) return hit;
    const key = Buffer.from(id.buffer, id.byteOffset + idOff, HASH_BYTES);
    const raw = this.nodes.getBinaryFast(key);
    if (raw === undefined) return undefined;
    const node = verifiedNode(raw, id, idOff, this.idBuf);
    // the frame may be a view into lmdb-js's reused read buffer: the cache copies it
    return this.cache.insert(id, idOff, node, 0, node.length);
  }

  put(): void {
    throw new AssertionError("a NodeReader is read-only");
  }

  has(id: Uint8Array, idOff: number): boolean {
    return this.get(id, idOff) !== undefined;
  }

  get size(): number {
    return (this.nodes.getStats() as { entryCount: number }).entryCount;
  }

  close(): Promise<void> {
    return this.env.close();
  }
}
