/**
 * Transactions, by property (docs/spec/tx.md): encode/decode round trips for
 * every kind; canonicality (any mutation of a valid encoding either fails to
 * decode or decodes to a transaction that re-encodes to exactly the mutated
 * bytes); fuzzing (random bytes, and mutated or truncated encodings, raise
 * DecodeError and nothing else, and isWellFormedTx agrees); signatures (a flipped bit anywhere fails);
 * and the signature cache against a model. Replay with HELIOS_SEED.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { DecodeError } from "../../src/exec/codec.js";
import { SigCache } from "../../src/exec/sigcache.js";
import {
  decodeTx,
  encodeTx,
  isWellFormedTx,
  keyPairFromSeed,
  METHOD_MAX_BYTES,
  signTx,
  type Tx,
  type TxKeyPair,
  type UnsignedTx,
  verifyTxSignature,
} from "../../src/exec/tx.js";
import { fcParams, propertyRuns } from "../support/model.js";

const U128_MAX = (1n << 128n) - 1n;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u128 = fc.oneof(
  fc.constantFrom(0n, 1n, U128_MAX, 1n << 64n, (1n << 53n) - 1n),
  fc.bigInt({ min: 0n, max: U128_MAX }),
);
const safeInt = fc.oneof(fc.constantFrom(0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const methodArb = fc
  .tuple(
    fc.constantFrom(..."abcxyzABCXYZ_"),
    fc.array(fc.constantFrom(..."abzAZ09_"), { maxLength: METHOD_MAX_BYTES - 1 }),
  )
  .map(([h, t]) => h + t.join(""));
const blob = fc.uint8Array({ maxLength: 300 });

const common = {
  chainId: fc.nat({ max: 0xffffffff }),
  nonce: safeInt,
  gasLimit: safeInt,
  fee: u128,
  from: bytes32,
  value: u128,
  signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
};
const txArb: fc.Arbitrary<Tx> = fc.oneof(
  fc.record({ kind: fc.constant("transfer" as const), ...common, to: bytes32 }),
  fc.record({ kind: fc.constant("call" as const), ...common, to: bytes32, method: methodArb, args: blob }),
  fc.record({ kind: fc.constant("deploy" as const), ...common, code: blob, args: blob }),
);

/** One way of damaging an encoding: set, flip, insert or delete a byte, truncate, or append. */
const mutationArb = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), v: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), v: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("append" as const), tail: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const x = Array.from(b);
  const at = "at" in m ? m.at % (x.length + 1) : 0;
  switch (m.op) {
    case "set":
      if (at < x.length) x[at] = m.v;
      break;
    case "flip":
      if (at < x.length) x[at] = (x[at] as number) ^ (1 << m.bit);
      break;
    case "insert":
      x.splice(at, 0, m.v);
      break;
    case "delete":
      x.splice(at, 1);
      break;
    case "truncate":
      x.length = at;
      break;
    case "append":
      x.push(...m.tail);
      break;
  }
  return Uint8Array.from(x);
}

/**
 * decodeTx, asserting it throws nothing but a TX_MALFORMED DecodeError, and
 * that isWellFormedTx agrees with it; undefined when it throws.
 */
function tryDecode(b: Uint8Array): Tx | undefined {
  let d: Tx | undefined;
  try {
    d = decodeTx(b);
  } catch (e) {
    assert.ok(e instanceof DecodeError, `not a DecodeError: ${String(e)}`);
    assert.equal(e.code, "TX_MALFORMED");
  }
  assert.equal(isWellFormedTx(b), d !== undefined, "isWellFormedTx agrees with decodeTx");
  return d;
}

test("round trip: decode(encode(tx)) = tx and encode(decode(b)) = b, for every kind", () => {
  fc.assert(
    fc.property(txArb, (tx) => {
      const b = encodeTx(tx);
      const d = decodeTx(b);
      assert.deepEqual(d, { ...tx }); // fast-check records have a null prototype
      assert.deepEqual(encodeTx(d), b);
    }),
    fcParams(),
  );
});

test("canonical: a mutated encoding fails with DecodeError or re-encodes to exactly itself", () => {
  fc.assert(
    fc.property(txArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (tx, ms) => {
      let b = encodeTx(tx);
      for (const m of ms) b = mutate(b, m);
      const d = tryDecode(b);
      if (d !== undefined) assert.deepEqual(encodeTx(d), b);
    }),
    fcParams(propertyRuns(3000)),
  );
});

test("fuzz: random bytes, and every truncation of valid encodings, raise DecodeError only", () => {
  const prefixed = fc
    .tuple(fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 400 }))
    .map(([kind, rest]) => Uint8Array.from([1, kind, ...rest]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), prefixed), (b) => {
      const d = tryDecode(b);
      if (d !== undefined) assert.deepEqual(encodeTx(d), b);
    }),
    fcParams(propertyRuns(5000)),
  );
  fc.assert(
    fc.property(txArb, (tx) => {
      const b = encodeTx(tx);
      for (let n = 0; n < b.length; n++) assert.equal(tryDecode(b.subarray(0, n)), undefined, `prefix ${n}`);
    }),
    fcParams(propertyRuns(200)),
  );
});

const keys: TxKeyPair[] = Array.from({ length: 4 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)));

test("signatures: signed transactions verify; a flipped bit in any field or the signature does not", () => {
  fc.assert(
    fc.property(txArb, fc.nat({ max: keys.length - 1 }), fc.nat(), fc.nat({ max: 7 }), (shape, who, at, bit) => {
      const key = keys[who] as TxKeyPair;
      const { signature: _, ...rest } = shape;
      const tx = signTx({ ...rest, from: key.publicKey } as UnsignedTx, key);
      const b = encodeTx(tx);
      assert.equal(verifyTxSignature(b), true);
      assert.equal(verifyTxSignature(tx), true);
      const x = b.slice();
      const i = at % x.length;
      x[i] = (x[i] as number) ^ (1 << bit);
      assert.equal(verifyTxSignature(x), false, `byte ${i} bit ${bit}`);
    }),
    fcParams(propertyRuns(300)),
  );
});

test("SigCache against a model: never a false positive; the last capacity/2 hashes added are always held", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4, 8, 64),
      fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 150 })), { maxLength: 400 }),
      (capacity, ops) => {
        const c = new SigCache({ capacity });
        const key = (i: number): Uint8Array => {
          const k = new Uint8Array(32);
          k[0] = i; // small distinct keys: collisions in the slot index are common, on purpose
          k[31] = i * 7;
          return k;
        };
        const added = new Set<number>();
        const recent: number[] = [];
        for (const [isAdd, i] of ops) {
          if (isAdd) {
            c.add(key(i));
            added.add(i);
            recent.push(i);
          } else {
            const held = c.has(key(i));
            if (held) assert.ok(added.has(i), `false positive ${i}`);
            if (recent.slice(-(capacity >> 1)).includes(i)) assert.ok(held, `recently added ${i} was forgotten`);
            if (held) recent.push(i); // a hit counts as a use
          }
          assert.ok(c.size <= capacity);
        }
      },
    ),
    fcParams(),
  );
});
