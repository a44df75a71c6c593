/** Deterministic key sets for the sketch tests (Bloom filter, HyperLogLog). */
import { HASH_BYTES, hashMany } from "../../src/core/index.js";

/** n distinct BLAKE3 digests, deterministic in (start, tag). */
export function digests(start: number, n: number, tag: number): Uint8Array[] {
  const data = new Uint8Array(8 * n);
  const view = new DataView(data.buffer);
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    view.setUint32(8 * i, start + i, true);
    view.setUint32(8 * i + 4, tag, true);
    offsets[i + 1] = 8 * (i + 1);
  }
  const out = new Uint8Array(HASH_BYTES * n);
  hashMany(data, offsets, n, out, null, null);
  return Array.from({ length: n }, (_, i) => out.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)));
}
