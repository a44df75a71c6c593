/**
 * sandbox/ckpt-codec — how a checkpoint chunk is stored: zstd at a fixed
 * level when that saves at least 1/32 of the bytes, raw otherwise, behind a
 * one-byte flag (docs/spec/checkpoint.md §4); and the way back, which checks
 * the decompressed bytes against the chunk's hash.
 *
 * Invariants: encoding is deterministic for a given zstd library and level
 * (the same raw chunk gives the same value, so the same leaf, which is what
 * makes chunks dedup across checkpoints and branches); decode never returns
 * bytes that do not hash to the key (CHECKPOINT_CORRUPT), and never
 * allocates more than the length the entry states (a zstd frame that
 * claims or produces more is rejected, so a crafted "zip bomb" costs
 * nothing).
 * Costs: compress ~300–600 MB/s at level 3 (one reused context, one scratch
 * buffer; only the kept output is copied); decompress ~1 GB/s plus one
 * BLAKE3 of the chunk.
 */
import { createRequire } from "node:module";
import { bytesToHex, equalBytes, HASH_BYTES, HeliosError, hashInto } from "../core/index.js";
import { CHUNK_RAW, CHUNK_ZSTD, MAX_CHUNK_LEN } from "./ckpt-format.js";

interface ZstdBinding {
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
  compressBound(n: number): number;
  getFrameContentSize(frame: Uint8Array): number | null;
}

// zstd-napi's low-level binding (CommonJS; its exports are not visible to an ESM named import)
const zstd = createRequire(import.meta.url)("zstd-napi/binding.js") as ZstdBinding;

export const DEFAULT_ZSTD_LEVEL = 3;

/** Compresses raw chunks into chunk values. One per checkpoint run (it owns a zstd context and a scratch buffer). */
export class ChunkEncoder {
  readonly level: number;
  private readonly cctx = new zstd.CCtx();
  private scratch: Uint8Array;

  constructor(level = DEFAULT_ZSTD_LEVEL) {
    if (!Number.isInteger(level) || level < 1 || level > 19) {
      throw new HeliosError("INVALID_ARGUMENT", { zstdLevel: level }, "zstdLevel must be an integer from 1 to 19");
    }
    this.level = level;
    this.scratch = new Uint8Array(1 + zstd.compressBound(64 * 1024));
  }

  /** The stored value of a raw chunk: 0x01 ‖ zstd frame if that is ≥ 1/32 smaller, else 0x00 ‖ raw. */
  encode(raw: Uint8Array): Uint8Array {
    const bound = 1 + zstd.compressBound(raw.length);
    if (this.scratch.length < bound) this.scratch = new Uint8Array(bound);
    const n = this.cctx.compress(this.scratch.subarray(1), raw, this.level);
    if (n <= raw.length - (raw.length >>> 5) - 1) {
      this.scratch[0] = CHUNK_ZSTD;
      return this.scratch.slice(0, 1 + n);
    }
    const v = new Uint8Array(1 + raw.length);
    v[0] = CHUNK_RAW;
    v.set(raw, 1);
    return v;
  }
}

/** Turns chunk values back into verified raw bytes. */
export class ChunkDecoder {
  private readonly dctx = new zstd.DCtx();
  private readonly digest = new Uint8Array(HASH_BYTES);

  /**
   * The raw bytes of a chunk value, checked: exactly `len` bytes that hash to
   * `hash`. CHECKPOINT_CORRUPT otherwise (context: the chunk's hash and why).
   */
  decode(value: Uint8Array, hash: Uint8Array, len: number): Uint8Array {
    const bad = (why: string): never => {
      throw new HeliosError("CHECKPOINT_CORRUPT", { chunk: bytesToHex(hash) }, `chunk ${why}`);
    };
    if (value.length < 1 || len < 0 || len > MAX_CHUNK_LEN) bad("value empty or length out of range");
    const flag = value[0];
    const payload = value.subarray(1);
    let raw: Uint8Array;
    if (flag === CHUNK_RAW) {
      raw = payload;
    } else if (flag === CHUNK_ZSTD) {
      let claimed: number | null;
      try {
        claimed = zstd.getFrameContentSize(payload);
      } catch {
        claimed = null;
      }
      if (claimed !== len) bad(`frame states ${claimed} bytes, the entry ${len}`);
      raw = new Uint8Array(len);
      let n = -1;
      try {
        n = this.dctx.decompress(raw, payload);
      } catch (e) {
        bad(`does not decompress (${(e as Error).message})`);
      }
      if (n !== len) bad(`decompressed to ${n} bytes, the entry states ${len}`);
    } else {
      return bad(`has unknown flag ${flag}`);
    }
    if (raw.length !== len) bad(`is ${raw.length} bytes, the entry states ${len}`);
    hashInto(raw, this.digest, 0);
    if (!equalBytes(this.digest, hash)) bad("does not hash to its id");
    return raw;
  }
}
