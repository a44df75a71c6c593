/** Helios public API. */
export * from "./core/index.js";
export * from "./merkle/index.js";
export * from "./history/index.js";
export {
  DEFAULT_CACHE_BYTES,
  DEFAULT_COMPRESSION,
  type CompressionPolicy,
  type DurableOptions,
  type DurableStats,
  DurableStore,
  type GcProgress,
} from "./store/index.js";
export * from "./snapshot/index.js";
export * from "./exec/index.js";
export * from "./sandbox/index.js";
export * from "./node/index.js";
