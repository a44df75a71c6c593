/**
 * bench/suites/exec-peer — the @ethereumjs/vm peer of the state-machine suite
 * (issue 5): the same blocks Helios executes, run by the EVM of ethereumjs.
 *
 * Workload. A accounts are funded at genesis; each block holds N
 * transactions from N distinct senders (a window that walks round the account
 * set, so every sender sends one transaction per block with the right nonce)
 * to recipients drawn from the set by a seeded PRNG (never the sender itself).
 * Two kinds of block:
 *   transfer  a value transfer (21,000 gas);
 *   token     a call of `transfer(address,uint256)` on an ERC-20-style
 *             contract, hand-assembled below (no solc): it hashes both
 *             balance slots, reads them, reverts when the sender's balance is
 *             short, writes both and emits a Transfer log.
 * Every transaction is a legacy EIP-155 transaction signed with secp256k1
 * (chain id PEER_CHAIN_ID); signing happens before the clock starts.
 *
 * Path. `runBlock(vm, {block, generate: true, skipBlockValidation: true})`,
 * the block-execution call of the vm README: it checkpoints the journal, runs
 * every transaction with runTx, builds the receipts trie and the bloom,
 * computes the transactions trie, flushes the caches into the state trie and
 * computes the state root, commits the checkpoint, and (generate) rebuilds the
 * Block with the new header, which copies every transaction once more (~0.15
 * ms each; ethereumjs's own cost). So it computes the three roots Helios
 * computes (transactions, receipts, state). Block validation is skipped: it
 * checks the header against a blockchain we do not have, recomputes the
 * transactions trie that generate computes anyway, and runs a second
 * signature pass. `path: "runTx"` is the leanest documented alternative
 * (journal checkpoint, runTx per transaction, getStateRoot, commit, which is
 * what BlockBuilder does minus its tries): no receipts or transactions trie,
 * so it is a lower bound on ethereumjs's cost of a block, not like for like.
 *
 * Fairness (no handicap):
 *   - state: MerkleStateManager over an in-memory MapDB, with the diff-based
 *     Caches that @ethereumjs/client runs it with (`caches: false` without);
 *     the tries are created with `valueEncoding: Bytes` (`trieBytes`): by
 *     default MerkleStateManager's storage tries are shallow copies that store
 *     hex strings in the MapDB and decode them on every node read (with hex
 *     strings in every trie, token blocks ran ~1.9× slower);
 *   - hashing: keccak-256 in WebAssembly through Common's customCrypto
 *     (`wasmKeccak`), the swap ethereumjs documents for performance and its
 *     client makes by default (@polkadot/wasm-crypto there, hash-wasm here,
 *     as that one is not installed); 1.3–1.6× faster blocks here;
 *   - genesis accounts (and the token's code and balance slots) are written
 *     with putAccount/putCode/putStorage and flushed to a state root before
 *     the clock starts, which leaves every account in the cache;
 *   - one warm-up block of the same size runs first (JIT, caches);
 *   - Prague; its system contracts (EIP-2935, 4788, 7002, 7251) are not
 *     deployed, so those per-block system calls find no code and end at once;
 *     proof of stake, so no block reward;
 *   - transactions are decoded into fresh tx objects before the clock. With
 *     `verifySignatures: false`, `tx.getSenderAddress()` is called on each of
 *     the block's own tx objects first (createBlock copies the transactions
 *     it is given, so it must be those) and ethereumjs caches the recovered
 *     public key on the frozen tx; with `true` runTx recovers the sender
 *     (ecrecover) inside the timed run. That ecrecover is pure JS
 *     (@noble/curves): ethereumjs's client plugs in a WASM one
 *     (customCrypto.ecrecover, @polkadot/wasm-crypto), which is not installed
 *     here and nothing faster is, so the peer's `true` rows are pessimistic.
 *
 * Costs. Setup derives A secp256k1 public keys (once per process) and signs
 * (blocks + warm-up) × N transactions (once per workload): pure JS, ~0.5–1 ms
 * each on the bench machine, untimed. A block costs what ethereumjs charges:
 * every state access is an awaited call, every trie insert hashes its path.
 *
 * Versions: @ethereumjs/vm, tx, common, block, mpt, statemanager 10.1.3. They use
 * @ethereumjs/util 10, which is nested under each of them (the top-level
 * @ethereumjs/util is 9, for the trie peer), so this module loads util 10 from
 * under @ethereumjs/vm. @ethereumjs/block, mpt and statemanager are declared
 * dev dependencies (this module imports them), at the versions vm uses.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Block, createBlock } from "@ethereumjs/block";
import { type Common, createCustomCommon, Hardfork, Mainnet } from "@ethereumjs/common";
import { createMPT } from "@ethereumjs/mpt";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import { createLegacyTx, createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import { createVM, runBlock, runTx, type VM } from "@ethereumjs/vm";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { createKeccak } from "hash-wasm";
import { gc, median, msSince, now } from "../lib.js";
import type { Address } from "../../node_modules/@ethereumjs/vm/node_modules/@ethereumjs/util/dist/esm/index.js";

type Util10 = typeof import("../../node_modules/@ethereumjs/vm/node_modules/@ethereumjs/util/dist/esm/index.js");

/** util 10 as @ethereumjs/vm itself resolves it (nested), or the top level when npm hoists it one day. */
const util: Util10 = await (async () => {
  const nested = new URL(
    "../../node_modules/@ethereumjs/util/dist/esm/index.js",
    import.meta.resolve("@ethereumjs/vm"),
  );
  return (await import(existsSync(fileURLToPath(nested)) ? nested.href : "@ethereumjs/util")) as Util10;
})();

/**
 * keccak-256 in WebAssembly (hash-wasm), for Common's customCrypto: ethereumjs
 * documents this swap "for performance" (its example uses
 * @polkadot/wasm-crypto, which is not installed here; its client does the same
 * unless started with --useJsCrypto). ~0.9 µs per trie node against ~8 µs for
 * the pure-JS default.
 * One hasher, used synchronously, so calls cannot interleave.
 */
const wasmKeccak = await createKeccak(256);
function keccak256Wasm(msg: Uint8Array): Uint8Array {
  wasmKeccak.init();
  wasmKeccak.update(msg);
  return wasmKeccak.digest("binary");
}

export const PEER_CHAIN_ID = 31337;
export const PEER_HARDFORK = Hardfork.Prague;
/** What each funded account holds at genesis, in wei (10^6 ether). */
export const GENESIS_WEI = 10n ** 24n;
/** What each funded account holds at genesis, in token units. */
export const GENESIS_TOKENS = 10n ** 18n;
/** Legacy gas price of every transaction; the header's base fee is BASE_FEE_WEI. */
export const GAS_PRICE_WEI = 2_000_000_000n;
export const BASE_FEE_WEI = 1_000_000_000n;
export const TRANSFER_GAS_LIMIT = 21_000n;
export const TOKEN_GAS_LIMIT = 100_000n;
/** Far above any block here, so no block is ever refused for gas. */
const BLOCK_GAS_LIMIT = 10n ** 12n;
const COINBASE = new Uint8Array(20).fill(0xcb);
/** Where the token lives (installed at genesis, so no deploy transaction). */
const TOKEN_ADDRESS = new Uint8Array(20).fill(0x70);

// ---------------------------------------------------------------------------
// The token contract, hand-assembled.
//
// Storage: balanceOf[a] lives at keccak256(a as a 32-byte word ‖ 0), the slot
// Solidity gives `mapping(address => uint256)` declared first. Calldata is
// the ABI encoding of transfer(address to, uint256 amount): selector
// 0xa9059cbb, `to` at byte 4, `amount` at byte 36. Memory [32, 64) is never
// written, so it stays the zero word that is the mapping's slot index.
// Stack pictures list the top first.

type Asm = { op: string; arg?: bigint; ref?: string } | { label: string };

const OPCODES: Record<string, number> = {
  ADD: 0x01,
  SUB: 0x03,
  LT: 0x10,
  EQ: 0x14,
  AND: 0x16,
  SHR: 0x1c,
  SHA3: 0x20,
  CALLER: 0x33,
  CALLDATALOAD: 0x35,
  MSTORE: 0x52,
  SLOAD: 0x54,
  SSTORE: 0x55,
  JUMPI: 0x57,
  JUMPDEST: 0x5b,
  PUSH1: 0x60,
  PUSH2: 0x61,
  PUSH4: 0x63,
  PUSH20: 0x73,
  PUSH32: 0x7f,
  DUP1: 0x80,
  DUP3: 0x82,
  DUP4: 0x83,
  SWAP1: 0x90,
  LOG3: 0xa3,
  RETURN: 0xf3,
  REVERT: 0xfd,
};

/** keccak256("Transfer(address,address,uint256)"), topic 0 of the ERC-20 event. */
export const TRANSFER_TOPIC = BigInt(
  `0x${Buffer.from(keccak_256(new TextEncoder().encode("Transfer(address,address,uint256)"))).toString("hex")}`,
);
export const TRANSFER_SELECTOR = Uint8Array.of(0xa9, 0x05, 0x9c, 0xbb);
const ADDRESS_MASK = (1n << 160n) - 1n;

const op = (name: string, arg?: bigint): Asm => (arg === undefined ? { op: name } : { op: name, arg });
const jumpTo = (label: string): Asm => ({ op: "PUSH1", ref: label });

export const TOKEN_ASM: readonly Asm[] = [
  // Dispatch: transfer(address,uint256) is the only method; anything else reverts.
  op("PUSH1", 0n), //          [0]
  op("CALLDATALOAD"), //       [word0]                 calldata[0..32)
  op("PUSH1", 224n), //        [224, word0]
  op("SHR"), //                [selector]              word0 >> 224
  op("PUSH4", 0xa9059cbbn), // [0xa9059cbb, selector]
  op("EQ"), //                 [isTransfer]
  jumpTo("transfer"), //       PUSH1 @transfer
  op("JUMPI"), //              []                      jump if isTransfer
  { label: "fail" },
  op("JUMPDEST"), //           (also the target of the balance check)
  op("PUSH1", 0n), //          [0]
  op("DUP1"), //               [0, 0]
  op("REVERT"), //             revert(0, 0)
  { label: "transfer" },
  op("JUMPDEST"),
  // fromSlot = keccak256(caller ‖ 0)
  op("CALLER"), //             [caller]
  op("PUSH1", 0n), //          [0, caller]
  op("MSTORE"), //             []                      mem[0..32) = caller
  op("PUSH1", 64n), //         [64]
  op("PUSH1", 0n), //          [0, 64]
  op("SHA3"), //               [fromSlot]              keccak256(mem[0..64))
  op("DUP1"), //               [fromSlot, fromSlot]
  op("SLOAD"), //              [fromBal, fromSlot]
  op("PUSH1", 36n), //         [36, fromBal, fromSlot]
  op("CALLDATALOAD"), //       [amount, fromBal, fromSlot]
  // require(fromBal >= amount)
  op("DUP1"), //               [amount, amount, fromBal, fromSlot]
  op("DUP3"), //               [fromBal, amount, amount, fromBal, fromSlot]
  op("LT"), //                 [fromBal < amount, amount, fromBal, fromSlot]
  jumpTo("fail"), //           PUSH1 @fail
  op("JUMPI"), //              [amount, fromBal, fromSlot]
  // balanceOf[caller] = fromBal - amount
  op("DUP1"), //               [amount, amount, fromBal, fromSlot]
  op("DUP3"), //               [fromBal, amount, amount, fromBal, fromSlot]
  op("SUB"), //                [fromBal - amount, amount, fromBal, fromSlot]
  op("DUP4"), //               [fromSlot, newFrom, amount, fromBal, fromSlot]
  op("SSTORE"), //             [amount, fromBal, fromSlot]
  // toSlot = keccak256(to ‖ 0); balanceOf[to] += amount (the write above is
  // read back when to == caller, so a self-transfer changes nothing)
  op("PUSH1", 4n), //          [4, amount, ...]
  op("CALLDATALOAD"), //       [toWord, amount, ...]
  op("PUSH20", ADDRESS_MASK), // [mask, toWord, amount, ...]
  op("AND"), //                [to, amount, fromBal, fromSlot]
  op("DUP1"), //               [to, to, amount, ...]
  op("PUSH1", 0n), //          [0, to, to, amount, ...]
  op("MSTORE"), //             [to, amount, ...]       mem[0..32) = to
  op("PUSH1", 64n), //         [64, to, amount, ...]
  op("PUSH1", 0n), //          [0, 64, to, amount, ...]
  op("SHA3"), //               [toSlot, to, amount, fromBal, fromSlot]
  op("DUP1"), //               [toSlot, toSlot, to, amount, ...]
  op("SLOAD"), //              [toBal, toSlot, to, amount, ...]
  op("DUP4"), //               [amount, toBal, toSlot, to, amount, ...]
  op("ADD"), //                [toBal + amount, toSlot, to, amount, ...]  (supply is far below 2^256)
  op("SWAP1"), //              [toSlot, newTo, to, amount, ...]
  op("SSTORE"), //             [to, amount, fromBal, fromSlot]
  // emit Transfer(caller, to, amount): data = amount, topics = [sig, caller, to]
  op("SWAP1"), //              [amount, to, fromBal, fromSlot]
  op("PUSH1", 0n), //          [0, amount, to, ...]
  op("MSTORE"), //             [to, fromBal, fromSlot] mem[0..32) = amount
  op("CALLER"), //             [caller, to, ...]
  op("PUSH32", TRANSFER_TOPIC), // [sig, caller, to, ...]
  op("PUSH1", 32n), //         [32, sig, caller, to, ...]
  op("PUSH1", 0n), //          [0, 32, sig, caller, to, ...]
  op("LOG3"), //               [fromBal, fromSlot]     log3(0, 32, sig, caller, to)
  // return true
  op("PUSH1", 1n), //          [1, ...]
  op("PUSH1", 0n), //          [0, 1, ...]
  op("MSTORE"), //             mem[0..32) = 1
  op("PUSH1", 32n), //         [32, ...]
  op("PUSH1", 0n), //          [0, 32, ...]
  op("RETURN"), //             return(0, 32)
];

/** Two passes: label offsets, then bytes. PUSHn carries n big-endian immediate bytes. */
export function assemble(asm: readonly Asm[]): Uint8Array {
  const width = (name: string): number => {
    const code = OPCODES[name];
    if (code === undefined) throw new Error(`unknown opcode ${name}`);
    return code >= 0x60 && code <= 0x7f ? code - 0x5f : 0;
  };
  const labels = new Map<string, number>();
  let pc = 0;
  for (const a of asm) {
    if ("label" in a) labels.set(a.label, pc);
    else pc += 1 + width(a.op);
  }
  const out = new Uint8Array(pc);
  pc = 0;
  for (const a of asm) {
    if ("label" in a) continue;
    const n = width(a.op);
    out[pc++] = OPCODES[a.op]!;
    let v = a.ref === undefined ? (a.arg ?? 0n) : BigInt(labels.get(a.ref) ?? Number.NaN);
    if (v >= 1n << BigInt(8 * n)) throw new Error(`${a.op} immediate too wide`);
    for (let i = n - 1; i >= 0; i--) {
      out[pc + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    pc += n;
  }
  return out;
}

/** The token's runtime code (the bytes TOKEN_ASM assembles to). */
export const TOKEN_CODE = assemble(TOKEN_ASM);

/** balanceOf[address]'s storage slot: keccak256(address as a 32-byte word ‖ 0). */
export function tokenSlot(address: Uint8Array): Uint8Array {
  const pre = new Uint8Array(64);
  pre.set(address, 12);
  return keccak_256(pre);
}

/** ABI calldata of transfer(to, amount). */
export function tokenTransferData(to: Uint8Array, amount: bigint): Uint8Array {
  const data = new Uint8Array(68);
  data.set(TRANSFER_SELECTOR, 0);
  data.set(to, 16);
  data.set(util.setLengthLeft(util.bigIntToBytes(amount), 32), 36);
  return data;
}

// ---------------------------------------------------------------------------
// The chain.

export type PeerKind = "transfer" | "token";
export type PeerPath = "runBlock" | "runTx";

/** One planned transaction: account indices and the amount (wei or token units). */
export interface PlannedTransfer {
  from: number;
  to: number;
  amount: bigint;
}

export interface PeerBlockRun {
  ms: number;
  /** CPU time of the process over the same span (user + system, all threads): less hurt by a busy machine. */
  cpuMs: number;
  gasUsed: bigint;
  stateRoot: Uint8Array;
  /** Per transaction, 1 if its body succeeded (EIP-658). */
  statuses: number[];
  /** Per transaction, the logs it emitted. */
  logCounts: number[];
}

export interface PeerChainOpts {
  accounts: number;
  /** Installs and funds the token contract too. */
  token?: boolean;
  /** MerkleStateManager with Caches (default, as @ethereumjs/client runs it) or without. */
  caches?: boolean;
  /** The tries' MapDB holds bytes (default) rather than hex strings. */
  trieBytes?: boolean;
  /** keccak-256 in WebAssembly through Common's customCrypto (default) rather than the pure-JS default. */
  wasmKeccak?: boolean;
  seed?: number;
}

function cpuMsSince(c0: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1000;
}

/** mulberry32: small seeded PRNG for picking recipients and amounts. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Account i's private key: keccak256("helios-ep" zero-padded to 16 bytes ‖ seed u32 ‖ i u32); below the curve order in practice. */
function privateKeyOf(seed: number, i: number): Uint8Array {
  const pre = new Uint8Array(24);
  pre.set(new TextEncoder().encode("helios-ep"), 0);
  const dv = new DataView(pre.buffer);
  dv.setUint32(16, seed >>> 0);
  dv.setUint32(20, i >>> 0);
  return keccak_256(pre);
}

const accountMemo = new Map<string, { keys: Uint8Array[]; addresses: Address[] }>();

/** The keys and addresses of accounts 0..n-1, derived once per process (a secp256k1 public key each). */
function accountsOf(seed: number, n: number): { keys: Uint8Array[]; addresses: Address[] } {
  const memo = accountMemo.get(`${seed}/${n}`);
  if (memo !== undefined) return memo;
  const keys: Uint8Array[] = new Array(n);
  const addresses: Address[] = new Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = privateKeyOf(seed, i);
    addresses[i] = new util.Address(util.privateToAddress(keys[i]!));
  }
  const fresh = { keys, addresses };
  accountMemo.set(`${seed}/${n}`, fresh);
  return fresh;
}

/** A VM with A funded accounts, and the bookkeeping to sign and run blocks on it. */
export class EthereumjsChain {
  readonly vm: VM;
  readonly common: Common;
  readonly keys: Uint8Array[];
  readonly addresses: Address[];
  /** The nonce the next transaction signed for each account gets. */
  readonly nonces: bigint[];
  readonly token: Address;
  private readonly rng: () => number;
  private senderCursor: number;
  private height: bigint;
  private parentHash: Uint8Array;

  constructor(vm: VM, common: Common, keys: Uint8Array[], addresses: Address[], seed: number) {
    this.vm = vm;
    this.common = common;
    this.keys = keys;
    this.addresses = addresses;
    this.nonces = new Array<bigint>(keys.length).fill(0n);
    this.token = new util.Address(TOKEN_ADDRESS);
    this.rng = mulberry32(seed ^ 0x5eed);
    this.senderCursor = 0;
    this.height = 0n;
    this.parentHash = new Uint8Array(32);
  }

  /**
   * `txs` transfers from the next `txs` senders of the rotating window (so no
   * sender appears twice in a block), each to a random other account, of
   * 1..1000 units.
   */
  planTransfers(txs: number): PlannedTransfer[] {
    const n = this.keys.length;
    if (txs > n) throw new Error(`a block of ${txs} transactions needs at least as many accounts (have ${n})`);
    if (n < 2) throw new Error("need at least two accounts");
    const plan: PlannedTransfer[] = new Array(txs);
    for (let j = 0; j < txs; j++) {
      const from = (this.senderCursor + j) % n;
      let to = this.rng() % n;
      while (to === from) to = this.rng() % n;
      plan[j] = { from, to, amount: 1n + BigInt(this.rng() % 1000) };
    }
    this.senderCursor = (this.senderCursor + txs) % n;
    return plan;
  }

  /** Signs the plan as serialized legacy transactions, taking each sender's next nonce. */
  sign(kind: PeerKind, plan: readonly PlannedTransfer[]): Uint8Array[] {
    const out: Uint8Array[] = new Array(plan.length);
    for (const [j, t] of plan.entries()) {
      const nonce = this.nonces[t.from]!;
      this.nonces[t.from] = nonce + 1n;
      const to = this.addresses[t.to]!.bytes;
      const data =
        kind === "transfer"
          ? { to, value: t.amount, gasLimit: TRANSFER_GAS_LIMIT }
          : { to: TOKEN_ADDRESS, value: 0n, gasLimit: TOKEN_GAS_LIMIT, data: tokenTransferData(to, t.amount) };
      const tx = createLegacyTx({ nonce, gasPrice: GAS_PRICE_WEI, ...data }, { common: this.common });
      out[j] = tx.sign(this.keys[t.from]!, false).serialize();
    }
    return out;
  }

  /**
   * The next block over fresh transaction objects decoded from `serialized`.
   * Without `verifySignatures`, each sender is recovered here (outside any
   * clock) and cached on its tx; with it, runTx recovers it.
   */
  makeBlock(serialized: readonly Uint8Array[], verifySignatures: boolean): Block {
    const txs: TypedTransaction[] = serialized.map((b) => createTxFromRLP(b, { common: this.common }));
    this.height += 1n;
    const block = createBlock(
      {
        header: {
          number: this.height,
          parentHash: this.parentHash,
          coinbase: COINBASE,
          gasLimit: BLOCK_GAS_LIMIT,
          timestamp: 1_700_000_000n + this.height * 12n,
          baseFeePerGas: BASE_FEE_WEI,
        },
        transactions: txs,
      },
      { common: this.common },
    );
    // createBlock copies every transaction into a new object, so the sender is
    // recovered on the block's own objects, the ones runBlock will run.
    if (!verifySignatures) for (const tx of block.transactions) tx.getSenderAddress();
    this.parentHash = block.hash();
    return block;
  }

  /** Executes and commits one block; `ms` covers exactly that. */
  async execute(block: Block, path: PeerPath = "runBlock"): Promise<PeerBlockRun> {
    const vm = this.vm;
    if (path === "runBlock") {
      const c0 = process.cpuUsage();
      const t0 = now();
      const r = await runBlock(vm, { block, generate: true, skipBlockValidation: true });
      const ms = msSince(t0);
      return {
        ms,
        cpuMs: cpuMsSince(c0),
        gasUsed: r.gasUsed,
        stateRoot: r.stateRoot,
        statuses: r.receipts.map((x) => ("status" in x ? x.status : 0)),
        logCounts: r.receipts.map((x) => x.logs.length),
      };
    }
    const c0 = process.cpuUsage();
    const t0 = now();
    await vm.evm.journal.checkpoint();
    const results = [];
    for (const tx of block.transactions) results.push(await runTx(vm, { tx, block }));
    const stateRoot = await vm.stateManager.getStateRoot();
    await vm.evm.journal.commit();
    const ms = msSince(t0);
    const cpuMs = cpuMsSince(c0);
    let gasUsed = 0n;
    for (const r of results) gasUsed += r.totalGasSpent;
    return {
      ms,
      cpuMs,
      gasUsed,
      stateRoot,
      statuses: results.map((r) => (r.execResult.exceptionError === undefined ? 1 : 0)),
      logCounts: results.map((r) => r.execResult.logs?.length ?? 0),
    };
  }

  async balance(i: number): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(this.addresses[i]!))?.balance ?? 0n;
  }

  async nonce(i: number): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(this.addresses[i]!))?.nonce ?? 0n;
  }

  /** What the block proposer has earned: the tips (gas price − base fee); the base fee is burnt. */
  async coinbaseBalance(): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(new util.Address(COINBASE)))?.balance ?? 0n;
  }

  async tokenBalance(i: number): Promise<bigint> {
    const v = await this.vm.stateManager.getStorage(this.token, tokenSlot(this.addresses[i]!.bytes));
    return v.length === 0 ? 0n : util.bytesToBigInt(v);
  }
}

/** Builds the VM and its genesis: A funded accounts (and the token with their balances), flushed to a root. */
export async function createEthereumjsChain(opts: PeerChainOpts): Promise<EthereumjsChain> {
  const seed = opts.seed ?? 1;
  const common = createCustomCommon({ chainId: PEER_CHAIN_ID }, Mainnet, {
    hardfork: PEER_HARDFORK,
    ...((opts.wasmKeccak ?? true) ? { customCrypto: { keccak256: keccak256Wasm } } : {}),
  });
  const trie = await createMPT({
    useKeyHashing: true,
    common,
    db: new util.MapDB(),
    valueEncoding: (opts.trieBytes ?? true) ? util.ValueEncoding.Bytes : util.ValueEncoding.String,
  });
  const stateManager =
    (opts.caches ?? true)
      ? new MerkleStateManager({ common, trie, caches: new Caches() })
      : new MerkleStateManager({ common, trie });
  const vm = await createVM({ common, stateManager });
  const { keys, addresses } = accountsOf(seed, opts.accounts);
  const sm = vm.stateManager;
  for (const a of addresses) await sm.putAccount(a, util.createAccount({ nonce: 0n, balance: GENESIS_WEI }));
  const chain = new EthereumjsChain(vm, common, keys, addresses, seed);
  if (opts.token === true) {
    await sm.putCode(chain.token, TOKEN_CODE);
    const bal = util.bigIntToBytes(GENESIS_TOKENS);
    for (const a of addresses) await sm.putStorage(chain.token, tokenSlot(a.bytes), bal);
  }
  await sm.getStateRoot();
  return chain;
}

// ---------------------------------------------------------------------------
// The benchmark entry points.

export interface PeerBenchOpts {
  accounts: number;
  txs: number;
  /** Timed blocks (default 3). */
  blocks?: number;
  verifySignatures: boolean;
  /** Untimed blocks of the same size run first (default 1). */
  warmupBlocks?: number;
  seed?: number;
  path?: PeerPath;
  caches?: boolean;
  trieBytes?: boolean;
  wasmKeccak?: boolean;
}

export interface PeerBenchResult {
  impl: string;
  kind: PeerKind;
  path: PeerPath;
  caches: boolean;
  trieBytes: boolean;
  wasmKeccak: boolean;
  verifySignatures: boolean;
  accounts: number;
  txs: number;
  /** txs ÷ the median block time. */
  txPerSec: number;
  /** Wall time of each timed block (execute + state root + commit). */
  msPerBlock: number[];
  msPerBlockMedian: number;
  /** CPU time of each timed block (see PeerBlockRun.cpuMs). */
  cpuMsPerBlock: number[];
  /** Genesis: funding, the first state root, and key derivation on a process's first run (untimed). */
  setupMs: number;
  /** Signing every block, warm-up included, on a workload's first run (untimed). */
  signMs: number;
  gasUsedPerBlock: number;
  stateRoot: string;
}

const signedMemo = new Map<string, Uint8Array[][]>();

async function bench(kind: PeerKind, opts: PeerBenchOpts): Promise<PeerBenchResult> {
  const blocks = opts.blocks ?? 3;
  const warmup = opts.warmupBlocks ?? 1;
  const path = opts.path ?? "runBlock";
  const caches = opts.caches ?? true;
  const trieBytes = opts.trieBytes ?? true;
  const wasmKeccak = opts.wasmKeccak ?? true;
  let t0 = now();
  const chain = await createEthereumjsChain({
    accounts: opts.accounts,
    token: kind === "token",
    caches,
    trieBytes,
    wasmKeccak,
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
  });
  const setupMs = msSince(t0);
  // The signed blocks depend only on the workload, not on how they are run,
  // so the variants of one workload share them.
  t0 = now();
  const signKey = `${kind}/${opts.seed ?? 1}/${opts.accounts}/${opts.txs}/${warmup + blocks}`;
  let signed = signedMemo.get(signKey);
  if (signed === undefined) {
    signed = [];
    for (let b = 0; b < warmup + blocks; b++) signed.push(chain.sign(kind, chain.planTransfers(opts.txs)));
    signedMemo.set(signKey, signed);
  }
  const signMs = msSince(t0);
  const msPerBlock: number[] = [];
  const cpuMsPerBlock: number[] = [];
  let last: PeerBlockRun | undefined;
  for (const [b, txs] of signed.entries()) {
    const block = chain.makeBlock(txs, opts.verifySignatures);
    gc();
    const run = await chain.execute(block, path);
    const failed = run.statuses.filter((s) => s !== 1).length;
    if (failed > 0) throw new Error(`ethereumjs ${kind} block ${b}: ${failed} transactions failed`);
    if (b >= warmup) {
      msPerBlock.push(run.ms);
      cpuMsPerBlock.push(run.cpuMs);
    }
    last = run;
  }
  const msPerBlockMedian = median(msPerBlock);
  return {
    impl: "@ethereumjs/vm",
    kind,
    path,
    caches,
    trieBytes,
    wasmKeccak,
    verifySignatures: opts.verifySignatures,
    accounts: opts.accounts,
    txs: opts.txs,
    txPerSec: opts.txs / (msPerBlockMedian / 1000),
    msPerBlock,
    msPerBlockMedian,
    cpuMsPerBlock,
    setupMs,
    signMs,
    gasUsedPerBlock: Number(last?.gasUsed ?? 0n),
    stateRoot: last === undefined ? "" : util.bytesToHex(last.stateRoot),
  };
}

/** Blocks of value transfers on @ethereumjs/vm; see the module header for the path and what is timed. */
export function ethereumjsTransfers(opts: PeerBenchOpts): Promise<PeerBenchResult> {
  return bench("transfer", opts);
}

/** Blocks of ERC-20-style token transfers (TOKEN_ASM) on @ethereumjs/vm. */
export function ethereumjsTokenTransfers(opts: PeerBenchOpts): Promise<PeerBenchResult> {
  return bench("token", opts);
}
