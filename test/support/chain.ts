/**
 * Test helpers for the state machine: deterministic keys, signed
 * transactions, and blocks whose header fits a manager's head.
 */
import { type Block, type BlockHeader, merkleRoot } from "../../src/exec/block.js";
import type { StateManager } from "../../src/exec/manager.js";
import { encodeTx, keyPairFromSeed, signTx, type TxKeyPair, txHash, type UnsignedTx } from "../../src/exec/tx.js";

export const CHAIN_ID = 7;

/** n deterministic key pairs (seed i+1 in the first bytes). */
export function keys(n: number, salt = 0): TxKeyPair[] {
  const out: TxKeyPair[] = [];
  for (let i = 0; i < n; i++) {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    new DataView(seed.buffer).setUint32(4, salt);
    out.push(keyPairFromSeed(seed));
  }
  return out;
}

export function sign(k: TxKeyPair, u: Omit<UnsignedTx, "from" | "chainId"> & { chainId?: number }): Uint8Array {
  return encodeTx(signTx({ chainId: CHAIN_ID, ...u, from: k.publicKey } as UnsignedTx, k));
}

export function transfer(
  k: TxKeyPair,
  to: Uint8Array,
  value: bigint,
  nonce: number,
  fee = 1n,
  gasLimit = 5_000,
): Uint8Array {
  return sign(k, { kind: "transfer", nonce, gasLimit, fee, to, value });
}

export function call(
  k: TxKeyPair,
  to: Uint8Array,
  method: string,
  args: Uint8Array,
  nonce: number,
  gasLimit = 2_000_000,
  fee = 1n,
  value = 0n,
): Uint8Array {
  return sign(k, { kind: "call", nonce, gasLimit, fee, to, method, args, value });
}

export function deploy(
  k: TxKeyPair,
  code: Uint8Array,
  args: Uint8Array,
  nonce: number,
  gasLimit = 50_000_000,
): Uint8Array {
  return sign(k, { kind: "deploy", nonce, gasLimit, fee: 1n, code, args, value: 0n });
}

export const PROPOSER = new Uint8Array(32).fill(0xee);

/** A block on the manager's committed head (or on `parent`), holding `txs`. */
export function makeBlock(
  m: StateManager,
  txs: Uint8Array[],
  opts: { parent?: { height: number; stateRoot: Uint8Array }; timeMs?: number; extra?: Partial<BlockHeader> } = {},
): Block {
  const header: BlockHeader = {
    height: (opts.parent?.height ?? m.committedHeight) + 1,
    timeMs: opts.timeMs ?? 1_700_000_000_000 + m.committedHeight * 1000,
    gasLimit: m.config.blockGasLimit,
    parentRoot: opts.parent?.stateRoot ?? m.stateRoot(),
    proposer: PROPOSER,
    txRoot: merkleRoot(txs.map((t) => txHash(t))),
    ...opts.extra,
  };
  return { header, txs };
}

/** u128 as 16 bytes little-endian (the contracts' ABI). */
export { u128FromLE as readU128le, u128ToLE as u128le } from "../../src/exec/types.js";
