/**
 * exec/executor — applies a block's transactions, in order, to a journaled
 * world overlay and produces their receipts (docs/spec/exec.md §Execution).
 *
 * For each transaction:
 *   1. stateless checks (size, decoding, chain, gas bounds, signature — the
 *      signature is skipped when the cache saw it verified at admission);
 *   2. stateful checks: nonce equal to the account's, balance ≥ value +
 *      gasLimit × fee. A block holding a transaction that fails 1 or 2 is
 *      invalid as a whole (BLOCK_INVALID with the index and the cause);
 *   3. the nonce is bumped and gasLimit × fee is taken from the sender;
 *   4. the body runs: a transfer moves the value; a deploy prepares the
 *      code, installs it at contractAddress(from, nonce) and runs its `init`;
 *      a call runs the method. A failure (revert, trap, out of gas, …)
 *      reverts the body's writes but not steps 3 and 5, and is reported in
 *      the receipt: it never throws through the block;
 *   5. (gasLimit − gasUsed) × fee is refunded and gasUsed × fee goes to the
 *      block's proposer, so fees move balances and never create or burn.
 *
 * Invariants: execution reads only the overlay, the header and the
 * transactions (no clock, no randomness): the same block on the same base
 * gives the same receipts and writes; the sum of all balances is unchanged
 * by every transaction; gasUsed ≤ gasLimit and the block's total gas ≤ its
 * gas limit.
 * Costs: a transfer is a few Map operations and bigint additions; a call
 * adds one WASM instantiation plus metered execution.
 */
import { bytesToHex, equalBytes, HeliosError, hash, isHeliosError } from "../core/index.js";
import { type BlockHeader, merkleRoot, type Receipt } from "./block.js";
import { DecodeError } from "./codec.js";
import type { StateConfig } from "./config.js";
import type { SigCache } from "./sigcache.js";
import { checkTxStateless, intrinsicGas, type Tx, txHash } from "./tx.js";
import type { CallStatus } from "./types.js";
import type { Vm } from "./vm.js";
import { contractAddress, type WorldState } from "./world.js";

export interface ExecContext {
  config: Readonly<StateConfig>;
  sigCache?: SigCache | undefined;
}

/** A decoded transaction with its hash, as admission or the block decoder produced it. */
export interface CheckedTx {
  tx: Tx;
  hash: Uint8Array;
  bytes: Uint8Array;
}

/** Stateless checks of one transaction's bytes (steps 1); throws the TX_* code. */
export function checkTx(bytes: Uint8Array, ctx: ExecContext): CheckedTx {
  // the size check comes first (before hashing an oversize input)
  if (bytes instanceof Uint8Array && bytes.length > ctx.config.maxTxBytes) {
    throw new HeliosError("TX_OVERSIZE", { size: bytes.length, max: ctx.config.maxTxBytes });
  }
  const h = bytes instanceof Uint8Array ? txHash(bytes) : undefined;
  const tx = checkTxStateless(bytes, {
    chainId: ctx.config.chainId,
    maxTxBytes: ctx.config.maxTxBytes,
    blockGasLimit: ctx.config.blockGasLimit,
    ...(ctx.sigCache ? { sigCache: ctx.sigCache } : {}),
    ...(h ? { hash: h } : {}),
  });
  return { tx, hash: h as Uint8Array, bytes };
}

/** Stateful checks (step 2) against the overlay; throws the TX_* code. `gap` allows nonces ahead (admission). */
export function checkTxState(world: WorldState, tx: Tx, gap = 0): void {
  const a = world.account(tx.from);
  if (tx.nonce < a.nonce) throw new HeliosError("TX_NONCE_TOO_LOW", { nonce: tx.nonce, expected: a.nonce });
  if (tx.nonce > a.nonce + gap) throw new HeliosError("TX_NONCE_TOO_HIGH", { nonce: tx.nonce, expected: a.nonce, gap });
  const needed = tx.value + BigInt(tx.gasLimit) * tx.fee;
  if (a.balance < needed) {
    throw new HeliosError("TX_INSUFFICIENT_BALANCE", { balance: a.balance.toString(), needed: needed.toString() });
  }
}

/**
 * Runs one transaction that passed both checks (steps 3–5) and returns its
 * receipt. The world's journal is sealed afterwards.
 */
export function applyTx(world: WorldState, vm: Vm, header: BlockHeader, tx: Tx): Receipt {
  const fee = tx.fee;
  world.setNonce(tx.from, tx.nonce + 1);
  const upfront = BigInt(tx.gasLimit) * fee;
  const paid = world.debit(tx.from, upfront);
  if (!paid) throw new HeliosError("TX_INSUFFICIENT_BALANCE", {}, "checked before: a bug if reached");
  const intrinsic = intrinsicGas(tx);
  const budget = tx.gasLimit - intrinsic;
  const mark = world.mark();
  world.events = [];
  let status: CallStatus = "ok";
  let gasUsed = intrinsic;
  let output: Uint8Array = EMPTY;
  let contract: Uint8Array | undefined;
  if (tx.kind === "transfer") {
    if (!world.transfer(tx.from, tx.to as Uint8Array, tx.value)) status = "INSUFFICIENT_BALANCE";
  } else if (tx.kind === "call") {
    const r = vm.call({
      caller: tx.from,
      address: tx.to as Uint8Array,
      method: tx.method as string,
      args: tx.args ?? EMPTY,
      value: tx.value,
      gas: budget,
    });
    status = r.status;
    gasUsed += r.gasUsed;
    output = r.output;
  } else {
    const code = tx.code as Uint8Array;
    const codeHash = hash(code);
    let ok = true;
    try {
      world.loadModule(codeHash, code);
    } catch (e) {
      if (!isHeliosError(e, "VM_MODULE_INVALID")) throw e;
      ok = false;
      status = "MODULE_INVALID";
    }
    if (ok) {
      const address = contractAddress(tx.from, tx.nonce);
      world.deploy(address, codeHash, code);
      const r = vm.init({ caller: tx.from, address, args: tx.args ?? EMPTY, value: tx.value, gas: budget });
      status = r.status;
      gasUsed += r.gasUsed;
      output = r.output;
      if (status === "ok") contract = address;
    }
  }
  if (status !== "ok") world.revertTo(mark);
  const events = status === "ok" ? world.events : [];
  world.events = [];
  world.credit(tx.from, BigInt(tx.gasLimit - gasUsed) * fee);
  world.credit(header.proposer, BigInt(gasUsed) * fee);
  world.seal();
  const receipt: Receipt = { status, gasUsed, output, events };
  if (contract !== undefined) receipt.contract = contract;
  return receipt;
}

const EMPTY = new Uint8Array(0);

/**
 * A transaction's own failure (a TX_* code, or its bytes not decoding) makes
 * the block invalid; anything else (a damaged store, an I/O error, a bug) is
 * this node's problem and is rethrown as it is, so a node never blames the
 * proposer for its own fault.
 */
export function asBlockInvalid(e: unknown, index: number): unknown {
  if (isHeliosError(e) && (e.code.startsWith("TX_") || e instanceof DecodeError)) {
    return new HeliosError("BLOCK_INVALID", { index, cause: e.code, ...e.context }, `transaction ${index}: ${e.code}`);
  }
  return e;
}

/**
 * The checks of a block's transactions that need no state (E16), run before
 * any of them executes, so a proposer cannot make nodes execute a block that
 * fails on its transactions' bytes: the stateless checks and signatures, the
 * sum of the gas limits against the header's gas limit, and txRoot.
 */
export function checkBlockTxs(header: BlockHeader, txs: readonly Uint8Array[], ctx: ExecContext): CheckedTx[] {
  const out: CheckedTx[] = [];
  let gasLimits = 0;
  for (let i = 0; i < txs.length; i++) {
    let c: CheckedTx;
    try {
      c = checkTx(txs[i] as Uint8Array, ctx);
    } catch (e) {
      throw asBlockInvalid(e, i);
    }
    gasLimits += c.tx.gasLimit;
    if (gasLimits > header.gasLimit) {
      throw new HeliosError("BLOCK_INVALID", {
        index: i,
        reason: "gas limits",
        gasLimits,
        blockGasLimit: header.gasLimit,
      });
    }
    out.push(c);
  }
  const txRoot = merkleRoot(out.map((c) => c.hash));
  if (!equalBytes(txRoot, header.txRoot)) {
    throw new HeliosError("BLOCK_INVALID", {
      reason: "txRoot",
      expected: bytesToHex(header.txRoot),
      computed: bytesToHex(txRoot),
    });
  }
  return out;
}

/**
 * Executes checked transactions (checkBlockTxs) on `world`, in order, with
 * the stateful checks (E5 step 2). Throws BLOCK_INVALID (the caller drops
 * the overlay) when one fails them; otherwise returns the receipts.
 */
export function executeTxs(
  world: WorldState,
  vm: Vm,
  header: BlockHeader,
  txs: readonly CheckedTx[],
): { receipts: Receipt[]; gasUsed: number } {
  const receipts: Receipt[] = [];
  let gasUsed = 0;
  for (let i = 0; i < txs.length; i++) {
    const c = txs[i] as CheckedTx;
    try {
      checkTxState(world, c.tx);
    } catch (e) {
      throw asBlockInvalid(e, i);
    }
    const r = applyTx(world, vm, header, c.tx);
    gasUsed += r.gasUsed;
    receipts.push(r);
  }
  return { receipts, gasUsed };
}
