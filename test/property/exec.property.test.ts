/**
 * Property: total supply is conserved, and every balance matches a plain
 * model, under random workloads of transfers, token calls that succeed or
 * revert, calls that run out of gas, calls to addresses without code and
 * to missing methods (docs/spec/exec.md E8–E10). The model charges
 * gasUsed × fee from the receipts and moves the value only for "ok".
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../../src/core/index.js";
import { contractAddress } from "../../src/exec/index.js";
import { StateManager } from "../../src/exec/manager.js";
import { call, deploy, keys, makeBlock, PROPOSER, transfer, u128le } from "../support/chain.js";
import { rmDir, tmpDir } from "../support/tmp.js";

const TOKEN = new Uint8Array(readFileSync(new URL("../../../build/contracts/token.wasm", import.meta.url)));
const K = keys(5, 99);
const START = 10n ** 12n;

const op = fc.record({
  kind: fc.constantFrom("transfer", "token", "tokenOverdraw", "oog", "noCode", "noMethod", "valueCall"),
  from: fc.nat({ max: K.length - 1 }),
  to: fc.nat({ max: K.length - 1 }),
  amount: fc.bigInt({ min: 0n, max: 5_000n }),
  fee: fc.bigInt({ min: 0n, max: 3n }),
});

test("E10: supply is conserved and balances follow the model under mixed successes and failures", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(op, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
      async (blocks) => {
        const dir = tmpDir("prop-exec");
        const m = StateManager.open(dir, { create: true, config: { chainId: 7, blockGasLimit: 100_000_000 } });
        try {
          m.genesis(K.map((k) => ({ address: k.publicKey, balance: START })));
          const model = new Map<string, bigint>(K.map((k) => [bytesToHex(k.publicKey), START]));
          const nonces = K.map(() => 0);
          const next = (i: number): number => {
            const n = nonces[i] as number;
            nonces[i] = n + 1;
            return n;
          };
          const owner = K[0] as (typeof K)[0];
          const token = contractAddress(owner.publicKey, 0);
          const dep = m.executeBlock(makeBlock(m, [deploy(owner, TOKEN, u128le(1_000_000n), next(0))]));
          assert.equal(dep.receipts[0]?.status, "ok");
          m.commit(1);
          const d = dep.receipts[0]?.gasUsed as number;
          model.set(bytesToHex(owner.publicKey), START - BigInt(d));
          model.set(bytesToHex(PROPOSER), BigInt(d));
          let height = 1;
          for (const ops of blocks) {
            const txs: Uint8Array[] = [];
            const meta: { from: string; to: string; value: bigint; fee: bigint }[] = [];
            for (const o of ops) {
              const f = K[o.from] as (typeof K)[0];
              const t = K[o.to] as (typeof K)[0];
              const n = next(o.from);
              let value = 0n;
              let to = t.publicKey;
              let bytes: Uint8Array;
              const args = new Uint8Array([...t.publicKey, ...u128le(o.amount)]);
              if (o.kind === "transfer") {
                value = o.amount;
                bytes = transfer(f, t.publicKey, value, n, o.fee);
              } else if (o.kind === "token" || o.kind === "tokenOverdraw") {
                to = token;
                const a = o.kind === "token" ? args : new Uint8Array([...t.publicKey, ...u128le(10n ** 20n)]);
                bytes = call(f, token, "transfer", a, n, 200_000, o.fee);
              } else if (o.kind === "oog") {
                to = token;
                bytes = call(f, token, "transfer", args, n, 4_000, o.fee);
              } else if (o.kind === "noCode") {
                value = o.amount;
                bytes = call(f, t.publicKey, "transfer", args, n, 50_000, o.fee, value);
              } else if (o.kind === "noMethod") {
                to = token;
                bytes = call(f, token, "nope", args, n, 50_000, o.fee);
              } else {
                // value sent to the token contract with a call that succeeds or reverts
                to = token;
                value = o.amount;
                bytes = call(f, token, "balanceOf", t.publicKey, n, 200_000, o.fee, value);
              }
              txs.push(bytes);
              meta.push({ from: bytesToHex(f.publicKey), to: bytesToHex(to), value, fee: o.fee });
            }
            const r = m.executeBlock(makeBlock(m, txs));
            m.commit(++height);
            r.receipts.forEach((rc, i) => {
              const x = meta[i] as (typeof meta)[0];
              const fee = BigInt(rc.gasUsed) * x.fee;
              model.set(x.from, (model.get(x.from) ?? 0n) - fee - (rc.status === "ok" ? x.value : 0n));
              if (rc.status === "ok") model.set(x.to, (model.get(x.to) ?? 0n) + x.value);
              model.set(bytesToHex(PROPOSER), (model.get(bytesToHex(PROPOSER)) ?? 0n) + fee);
              if (ops[i]?.kind === "oog") assert.equal(rc.status, "OUT_OF_GAS");
              if (ops[i]?.kind === "tokenOverdraw") assert.equal(rc.status, "REVERT");
              if (ops[i]?.kind === "noCode") assert.equal(rc.status, "NOT_A_CONTRACT");
              if (ops[i]?.kind === "noMethod") assert.equal(rc.status, "NO_SUCH_METHOD");
            });
          }
          let total = 0n;
          for (const [addr, bal] of model) {
            const got = m.account(Uint8Array.from(Buffer.from(addr, "hex")))?.balance ?? 0n;
            assert.equal(got, bal, `balance of ${addr.slice(0, 8)}`);
            total += got;
          }
          assert.equal(total, START * BigInt(K.length), "total supply");
        } finally {
          await m.close();
          rmDir(dir);
        }
      },
    ),
    { numRuns: 25 },
  );
});
