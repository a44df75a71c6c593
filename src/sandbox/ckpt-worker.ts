/**
 * sandbox/ckpt-worker — a worker thread that compresses checkpoint chunks
 * (ckpt-pool.ts sends the jobs). A job is a batch of raw chunks in one
 * transferred buffer; the reply is their chunk values (ckpt-codec encode:
 * flag ‖ zstd frame or raw) in one transferred buffer, in the same order.
 *
 * Invariants: the values are exactly what ChunkEncoder.encode gives on the
 * main thread (same library, same level), so where a chunk was compressed
 * never changes what is stored.
 * Costs: one zstd context per worker; one copy of each value into the reply.
 */
import { parentPort } from "node:worker_threads";
import { ChunkEncoder } from "./ckpt-codec.js";

export interface CompressJob {
  id: number;
  level: number;
  data: ArrayBuffer;
  lens: Uint32Array;
}

export interface CompressReply {
  id: number;
  data: ArrayBuffer;
  lens: Uint32Array;
}

let encoder: ChunkEncoder | undefined;

parentPort?.on("message", (job: CompressJob) => {
  if (encoder === undefined || encoder.level !== job.level) encoder = new ChunkEncoder(job.level);
  const src = new Uint8Array(job.data);
  const values: Uint8Array[] = [];
  let total = 0;
  let off = 0;
  for (const len of job.lens) {
    const v = encoder.encode(src.subarray(off, off + len));
    values.push(v);
    total += v.length;
    off += len;
  }
  const out = new Uint8Array(total);
  const lens = new Uint32Array(values.length);
  let o = 0;
  values.forEach((v, i) => {
    out.set(v, o);
    lens[i] = v.length;
    o += v.length;
  });
  const reply: CompressReply = { id: job.id, data: out.buffer, lens };
  parentPort?.postMessage(reply, [out.buffer, lens.buffer]);
});
