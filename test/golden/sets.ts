/**
 * The fixed key sets whose roots are pinned in test/golden/merkle-roots.json.
 * Changing a set changes its root: regenerate with scripts/update-golden.mjs.
 */
import { blake3 } from "@noble/hashes/blake3.js";

const te = new TextEncoder();
export function goldenSets(): Record<string, [Uint8Array, Uint8Array][]> {
  const seq = (n: number, f: (i: number) => [Uint8Array, Uint8Array]) => Array.from({ length: n }, (_, i) => f(i));
  return {
    empty: [],
    "one key": [[te.encode("helios"), te.encode("state engine")]],
    "empty key and empty value": [[new Uint8Array(0), new Uint8Array(0)]],
    "prefix chain": [
      [te.encode("a"), te.encode("1")],
      [te.encode("ab"), te.encode("2")],
      [te.encode("abc"), te.encode("3")],
      [te.encode("abd"), te.encode("4")],
      [te.encode("b"), te.encode("5")],
    ],
    "256 one-byte keys": seq(256, (i) => [Uint8Array.of(i), Uint8Array.of(i, i)]),
    "1000 hashed 32-byte keys, 100-byte values": seq(1000, (i) => [
      blake3(te.encode(`key ${i}`)),
      blake3(te.encode(`value ${i}`), { dkLen: 100 }),
    ]),
  };
}
