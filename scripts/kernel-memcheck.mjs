// Drives every entry point of the native BLAKE3 kernel through edge cases
// (empty, one block, chunk boundaries, long tree-path messages, mixed batches
// with slots, in-place pair hashing, rejected arguments) so that a memory
// checker can watch it. Run it under valgrind, for both kernel paths:
//   npx tsc -p tsconfig.json
//   valgrind --error-exitcode=9 node scripts/kernel-memcheck.mjs
//   HELIOS_BLAKE3_IMPL=portable valgrind --error-exitcode=9 node scripts/kernel-memcheck.mjs
import { hash, hashMany, hashPairs, keyFromContext, nodeIdOf } from "../dist/src/core/hash.js";
const key = keyFromContext("vg");
let s = 0;
for (const n of [0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 5000, 70000]) {
  const d = new Uint8Array(n).fill(7);
  s += hash(d)[0] + hash(d, key)[0];
}
// mixed batch incl. empty and long messages, with outSlots
const lens = [0, 64, 1, 1024, 1025, 3000, 64, 64, 64, 64, 64, 64, 64, 64, 7, 70000];
const total = lens.reduce((a, b) => a + b, 0);
const data = new Uint8Array(total).map((_, i) => i & 255);
const offs = new Uint32Array(lens.length + 1);
for (let i = 0; i < lens.length; i++) offs[i + 1] = offs[i] + lens[i];
const out = new Uint8Array(32 * lens.length * 2);
const slots = new Int32Array(lens.map((_, i) => lens.length * 2 - 1 - i));
hashMany(data, offs, lens.length, out, slots, key);
hashMany(data, offs, lens.length, out, null, null);
const slab = new Uint8Array(32 * 64).map((_, i) => i);
const tr = new Int32Array(3 * 20);
for (let i = 0; i < 20; i++) {
  tr[3 * i] = 2 * i;
  tr[3 * i + 1] = 2 * i + 1;
  tr[3 * i + 2] = 2 * i;
}
hashPairs(slab, tr, 20, key);
hashPairs(slab, tr, 20, null);
// one-call node ids: leaves of several sizes up to the scratch limit, branches of 2..17 children
const keys = [keyFromContext("l"), keyFromContext("n"), keyFromContext("i")];
const id = new Uint8Array(32);
for (const vlen of [0, 1, 100, 1000, 8000]) {
  const leaf = new Uint8Array(1 + 1 + 32 + 2 + vlen).fill(3);
  s += nodeIdOf(leaf, 0, leaf.length, 0, 2, 32, 36, keys, id, 0) ? id[0] : 0;
}
for (let n = 1; n <= 17; n++) {
  const br = new Uint8Array(4 + 32 * n).map((_, i) => i * 7);
  nodeIdOf(br, 0, br.length, 1, 1, 3, 4, keys, id, 0);
  s += id[1];
}
// bad arguments
for (const f of [
  () => nodeIdOf(new Uint8Array(40), 0, 40, 0, 2, 300, 36, keys, id, 0),
  () => nodeIdOf(new Uint8Array(45), 0, 45, 1, 1, 3, 4, keys, id, 0),
  () => hashMany(data, offs, lens.length + 5, out, null, null),
  () => hashPairs(slab, new Int32Array([0, 1, 9999]), 1, null),
]) {
  try {
    f();
  } catch {
    s += 1;
  }
}
console.log("ok", s, out[5], slab[40]);
