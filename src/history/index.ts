/**
 * history — versions (heights), refs, pins, retention and rollback over the
 * Merkle forest, made durable by the store layer's log and checkpoints.
 * Lower layers: core, merkle, store. No I/O of its own.
 */
export {
  LIVE_TREE,
  openState,
  StateDB,
  type Staged,
  type StateOptions,
  type StateStats,
  type Writes,
} from "./state.js";
export {
  decodeRecord,
  decodeState,
  encodeRecord,
  encodeState,
  type HistoryState,
  type LogRecord,
  Writer,
} from "./wire.js";
