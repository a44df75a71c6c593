/**
 * bench/suites/hash — BLAKE3-256 throughput: Helios' native batched kernel
 * against the BLAKE3 packages a Node user would otherwise pick.
 *
 * Workloads: "hash 64B" (a Merkle node) and "hash 512B", reported as digests
 * per second (higher is better). Every impl hashes the same 4096 messages,
 * repeated enough times per rep to run ~30 ms (quick) / ~150 ms (full); the
 * value is the median over reps (7 quick, 11 full). Each impl uses its fastest public API with
 * objects reused and input/output views prepared outside the timed loop:
 *   helios                hashMany over the whole batch (one native call)
 *   helios (pairs)        hashPairs over 4096 (left, right, out) slot triples (64B only)
 *   helios (single call)  hashInto per message
 *   blake3-jit            hashInto(message, outView) per message
 *   hash-wasm             one createBLAKE3() hasher: init().update(m).digest("binary")
 *   blake3 (npm 2.1.7)    hash(m); reports whether its native or WASM backend loaded
 *   @noble/hashes         blake3(m)
 * Peers that return a fresh digest array keep it in an array (no extra copy).
 * Before timing, each impl's digest of a sample message is checked against Helios.
 */
import { createRequire } from "node:module";
import { blake3 as nobleBlake3 } from "@noble/hashes/blake3.js";
import { hashInto as jitHashInto } from "blake3-jit";
import { createBLAKE3 } from "hash-wasm";
import { HASH_BYTES, hashInto, hashMany, hashPairs, kernelInfo } from "../../src/core/hash.js";
import { gc, type Mode, type Result, seededBytes, timeMs } from "../lib.js";

const BATCH = 4096;

interface Blake3Npm {
  hash(input: Uint8Array): Uint8Array;
}

/** blake3@2.1.7: its native addon when present, else its WASM build (the default Node entry). */
function loadBlake3Npm(): { lib: Blake3Npm; backend: string } {
  const require = createRequire(import.meta.url);
  try {
    return { lib: require("blake3/dist/node-native") as Blake3Npm, backend: "native" };
  } catch {
    return { lib: require("blake3") as Blake3Npm, backend: "wasm (native binary not available)" };
  }
}

interface Impl {
  impl: string;
  note?: string;
  /** Hashes all BATCH messages once. */
  run: () => void;
  /** Digest of message 0, for the cross-check. */
  sample: () => Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

async function implsFor(size: number): Promise<Impl[]> {
  const data = seededBytes(0x5eed + size)(BATCH * size);
  const msgs = Array.from({ length: BATCH }, (_, i) => data.subarray(i * size, (i + 1) * size));
  const offsets = new Uint32Array(BATCH + 1);
  for (let i = 0; i <= BATCH; i++) offsets[i] = i * size;
  const out = new Uint8Array(HASH_BYTES * BATCH);
  const outViews = Array.from({ length: BATCH }, (_, i) => out.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)));
  const first = (): Uint8Array => out.slice(0, HASH_BYTES);
  // Peers whose API returns a fresh digest: keep it (no extra copy).
  const keep: Uint8Array[] = new Array<Uint8Array>(BATCH);

  const impls: Impl[] = [
    {
      impl: "helios",
      note: `hashMany, batches of ${BATCH}, ${kernelInfo.impl}`,
      run: () => hashMany(data, offsets, BATCH, out, null, null),
      sample: () => {
        hashMany(data, offsets, BATCH, out, null, null);
        return first();
      },
    },
  ];
  if (size === 64) {
    // Slab of 3*BATCH slots: leaves in slots [0, 2*BATCH), parents in [2*BATCH, 3*BATCH).
    const slab = new Uint8Array(HASH_BYTES * 3 * BATCH);
    slab.set(data, 0);
    const triples = new Int32Array(3 * BATCH);
    for (let i = 0; i < BATCH; i++) triples.set([2 * i, 2 * i + 1, 2 * BATCH + i], 3 * i);
    const parent0 = HASH_BYTES * 2 * BATCH;
    impls.push({
      impl: "helios (pairs)",
      note: `hashPairs, ${BATCH} triples per call, ${kernelInfo.impl}`,
      run: () => hashPairs(slab, triples, BATCH, null),
      sample: () => {
        hashPairs(slab, triples, BATCH, null);
        return slab.slice(parent0, parent0 + HASH_BYTES);
      },
    });
  }
  impls.push({
    impl: "helios (single call)",
    note: "hashInto per message",
    run: () => {
      for (let i = 0; i < BATCH; i++) hashInto(msgs[i] as Uint8Array, out, HASH_BYTES * i);
    },
    sample: () => {
      hashInto(msgs[0] as Uint8Array, out, 0);
      return first();
    },
  });
  impls.push({
    impl: "blake3-jit",
    note: "hashInto(message, outView) per message",
    run: () => {
      for (let i = 0; i < BATCH; i++) jitHashInto(msgs[i] as Uint8Array, outViews[i] as Uint8Array);
    },
    sample: () => {
      jitHashInto(msgs[0] as Uint8Array, outViews[0] as Uint8Array);
      return first();
    },
  });
  const wasmHasher = await createBLAKE3(256);
  impls.push({
    impl: "hash-wasm",
    note: "one reused createBLAKE3() hasher: init/update/digest('binary')",
    run: () => {
      for (let i = 0; i < BATCH; i++) {
        wasmHasher.init();
        wasmHasher.update(msgs[i] as Uint8Array);
        keep[i] = wasmHasher.digest("binary");
      }
    },
    sample: () => {
      wasmHasher.init();
      wasmHasher.update(msgs[0] as Uint8Array);
      return wasmHasher.digest("binary");
    },
  });
  const npm = loadBlake3Npm();
  impls.push({
    impl: "blake3",
    note: `npm blake3@2.1.7 hash(); backend: ${npm.backend}`,
    run: () => {
      for (let i = 0; i < BATCH; i++) keep[i] = npm.lib.hash(msgs[i] as Uint8Array);
    },
    sample: () => npm.lib.hash(msgs[0] as Uint8Array),
  });
  impls.push({
    impl: "@noble/hashes",
    note: "blake3(message)",
    run: () => {
      for (let i = 0; i < BATCH; i++) keep[i] = nobleBlake3(msgs[i] as Uint8Array);
    },
    sample: () => nobleBlake3(msgs[0] as Uint8Array),
  });
  return impls;
}

export async function run(mode: Mode): Promise<Result[]> {
  const targetMs = mode === "quick" ? 30 : 150;
  const reps = mode === "quick" ? 7 : 11;
  const results: Result[] = [];
  for (const size of [64, 512]) {
    const workload = `hash ${size}B`;
    const impls = await implsFor(size);
    const want = hex((impls[0] as Impl).sample());
    for (const im of impls) {
      const got = hex(im.sample());
      if (got !== want) throw new Error(`bench ${workload}: ${im.impl} digest ${got} differs from helios ${want}`);
      gc();
      // Calibrate: enough batches per rep to run about targetMs.
      const t1 = timeMs(im.run, 3, 2);
      const loops = Math.max(1, Math.ceil(targetMs / Math.max(t1, 1e-3)));
      const ms = timeMs(
        () => {
          for (let l = 0; l < loops; l++) im.run();
        },
        reps,
        1,
      );
      const r: Result = {
        workload,
        impl: im.impl,
        value: (BATCH * loops) / (ms / 1000),
        unit: "hashes/s",
        better: "higher",
      };
      if (im.note !== undefined) r.note = im.note;
      results.push(r);
    }
  }
  return results;
}
