/**
 * store/codec — how a node is framed in LMDB, and adaptive compression.
 *
 * LMDB value = flags u8 ‖ birth u32 LE ‖ payload
 *   flags 0: payload is the node encoding
 *   flags 1: payload is lz4 (block, size-prefixed) of it   — warm
 *   flags 2: payload is zstd (frame) of it                  — cold
 * birth is the GC epoch in which the record was last written (store/gc.ts).
 *
 * Policy (measured in docs/performance.md): nodes under `minBytes` (256 B by
 * default) are stored raw — branches are hashes and do not compress, and
 * small leaves gain nothing worth a decompression on every cold read. A
 * larger node is written lz4 at checkpoint (it is new, so warm), and is
 * recompressed with zstd when the collector's sweep finds it older than
 * `coldEpochs` GC cycles. A compressed form is kept only if it saves ≥ 1/8.
 *
 * Invariants: decode(encode(x)) = x; the caller checks the decoded bytes
 * against the node id, so a corrupt frame is caught there (a frame that does
 * not even decode is STORE_CORRUPT here).
 * Costs: raw frames are one copy; lz4 ~2–3 µs per call here, zstd ~2 µs to
 * decode and ~400 MB/s to encode at level 3.
 */
import { compressSync as lz4Compress, uncompressSync as lz4Decompress } from "lz4-napi";
import { compress as zstdCompress, decompress as zstdDecompress } from "zstd-napi";
import { HeliosError } from "../core/index.js";

export const FRAME_HEAD = 5;
export const RAW = 0;
export const LZ4 = 1;
export const ZSTD = 2;

export interface CompressionPolicy {
  /** Nodes shorter than this are stored raw (default 256). 0 disables compression. */
  minBytes: number;
  /** zstd level for cold nodes (default 3). */
  zstdLevel: number;
  /** A node untouched for this many GC cycles is cold (default 2). */
  coldEpochs: number;
}

export const DEFAULT_COMPRESSION: CompressionPolicy = { minBytes: 256, zstdLevel: 3, coldEpochs: 2 };

function frame(flags: number, birth: number, payload: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(FRAME_HEAD + payload.length);
  out[0] = flags;
  out.writeUInt32LE(birth >>> 0, 1);
  out.set(payload, FRAME_HEAD);
  return out;
}

/** Frames a node for LMDB: raw, or `kind` (LZ4/ZSTD) when that saves ≥ 1/8. */
export function encodeFrame(node: Uint8Array, birth: number, policy: CompressionPolicy, kind: number): Uint8Array {
  if (kind !== RAW && policy.minBytes > 0 && node.length >= policy.minBytes) {
    const buf = Buffer.from(node.buffer, node.byteOffset, node.length);
    const c = kind === LZ4 ? lz4Compress(buf) : zstdCompress(buf, { compressionLevel: policy.zstdLevel });
    if (c.length <= node.length - (node.length >>> 3)) return frame(kind, birth, c);
  }
  return frame(RAW, birth, node);
}

export function frameFlags(v: Uint8Array): number {
  return v[0] as number;
}

export function frameBirth(v: Uint8Array): number {
  return ((v[1] as number) | ((v[2] as number) << 8) | ((v[3] as number) << 16) | ((v[4] as number) << 24)) >>> 0;
}

/**
 * The node bytes inside a frame. For RAW, a view into `v` (copy it if `v`
 * is a reused buffer); otherwise a fresh buffer.
 */
export function decodeFrame(v: Uint8Array, idHex: () => string): Uint8Array {
  if (v.length < FRAME_HEAD) throw new HeliosError("STORE_CORRUPT", { id: idHex() }, "stored frame too short");
  const flags = v[0];
  const payload = v.subarray(FRAME_HEAD);
  try {
    if (flags === RAW) return payload;
    if (flags === LZ4) return lz4Decompress(payload);
    if (flags === ZSTD) return zstdDecompress(payload);
  } catch (e) {
    throw new HeliosError(
      "STORE_CORRUPT",
      { id: idHex(), flags },
      `stored frame does not decompress: ${(e as Error).message}`,
    );
  }
  throw new HeliosError("STORE_CORRUPT", { id: idHex(), flags }, "unknown frame flags");
}
