/**
 * Worker for bench/suites/forest: receives packed ops for one tree, builds
 * the tree in its own memory store, and sends back the root and every new
 * node packed into one transferable buffer:
 *   ops   = (keyLen u16 ‖ key ‖ valLen u32 ‖ value)*
 *   nodes = (id[32] ‖ len u32 ‖ node)*
 */
import { parentPort } from "node:worker_threads";
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, type Op } from "../../src/merkle/index.js";

parentPort?.on("message", (msg: { ops: ArrayBuffer }) => {
  const buf = new Uint8Array(msg.ops);
  const dv = new DataView(msg.ops);
  const ops: Op[] = [];
  for (let p = 0; p < buf.length; ) {
    const kl = dv.getUint16(p, true);
    const key = buf.subarray(p + 2, p + 2 + kl);
    p += 2 + kl;
    const vl = dv.getUint32(p, true);
    ops.push({ key, value: buf.subarray(p + 4, p + 4 + vl) });
    p += 4 + vl;
  }
  const store = createMemoryStore({ initialCapacity: ops.length * 2 });
  const map = createMerkleMap({ store });
  const root = map.update(EMPTY_ROOT, ops);
  let total = 0;
  store.forEach((_id, node) => {
    total += 36 + node.length;
  });
  const out = new Uint8Array(total);
  const odv = new DataView(out.buffer);
  let q = 0;
  store.forEach((id, node) => {
    out.set(id, q);
    odv.setUint32(q + 32, node.length, true);
    out.set(node, q + 36);
    q += 36 + node.length;
  });
  parentPort?.postMessage({ root, nodes: out.buffer }, [out.buffer]);
});
