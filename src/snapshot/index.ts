/**
 * snapshot — full and incremental snapshots in deterministic, size-bounded
 * chunks that a receiver verifies one by one against the state root; the
 * resumable importer; snapshot management. Format: docs/spec/snapshot.md.
 * Lower layers: core, merkle, history (and store through history). Does file
 * I/O for snapshot directories and the import journal only.
 */
export {
  type BuildOptions,
  type BuiltChunk,
  DEFAULT_CHUNK_BYTES,
  fullChunks,
  incrementalChunks,
} from "./build.js";
export {
  chunkFile,
  detectProbability,
  type ExportOptions,
  type ExportReport,
  exportSnapshot,
  type ImportReport,
  importSnapshot,
  manifestJson,
  readManifest,
  type VerifyReport,
  verifySnapshotDir,
} from "./files.js";
export {
  type ChunkBody,
  type ChunkMeta,
  type Codec,
  decodeChunk,
  decodeFile,
  decodeManifest,
  encodeChunk,
  encodeFile,
  encodeManifest,
  FORMAT_VERSION as SNAPSHOT_FORMAT_VERSION,
  type Manifest,
  manifestTotals,
  type Position,
} from "./format.js";
export {
  abandonImport,
  type ImportOptions,
  type ImportProgress,
  type PendingImport,
  pendingImports,
  SnapshotImport,
} from "./import.js";
export {
  createSnapshot,
  deleteSnapshot,
  listSnapshots,
  pruneSnapshots,
  restoreSnapshot,
  rootForHeight,
  type SnapshotInfo,
  snapshotInfo,
  snapshotRef,
} from "./manage.js";
export { type ChunkAction, type ChunkReply, replyFor, type VerifiedChunk, verifyChunk } from "./verify.js";
