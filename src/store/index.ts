/**
 * store — the content-addressed node store: L0 working set, L1 cache, L2
 * LMDB, the write-ahead log, and garbage collection.
 * Lower layers: core, merkle. May use fs (the only layer below node/ that does).
 */
export { NodeCache } from "./cache.js";
export { type CompressionPolicy, DEFAULT_COMPRESSION } from "./codec.js";
export {
  DEFAULT_CACHE_BYTES,
  DurableStore,
  type DurableOptions,
  type DurableStats,
  NODES_TABLE,
  type OpenedStore,
} from "./durable.js";
export { ioError, StoreDir } from "./env.js";
export { NodeReader } from "./reader.js";
export { Collector, type GcPhase, type GcProgress, IdSet } from "./gc.js";
export { fsyncDir, Wal, type WalRecord, writeFileDurable } from "./wal.js";
