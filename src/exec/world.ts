/**
 * exec/world — the world state of the chain on the Merkle forest, and the
 * journaled overlay a block executes in.
 *
 * Layout (docs/spec/exec.md §State):
 *
 *   forest root
 *     ├─ "acct"      address (32 B) → account record (encodeAccount)
 *     ├─ "code"      BLAKE3(code) (32 B) → the contract's WASM bytes as deployed
 *     └─ "s/<b64u>"  one storage tree per contract: key → value
 *                    (<b64u> is the contract address in base64url, 43 chars)
 *
 * An account record is version byte 0 (no code) or 1 (a contract), the nonce
 * (u64 BE), the balance (u128 BE), and for a contract its code hash and its
 * storage root (the root of its "s/…" tree, EMPTY_ROOT when it has none), so
 * the account leaf alone commits to the contract's storage. An account with
 * nonce 0, balance 0 and no code is absent (never written).
 *
 * Invariants: the overlay never writes through to the store; `writes()`
 * lists the overlay's contents in first-touch order, so the same block on
 * the same base gives the same ops, and the root never depends on op order; every
 * mutation is journaled, and `revertTo(mark)` restores the exact previous
 * contents, events included.
 * Costs: reads hit the overlay (a Map lookup) or the base version (the
 * store's tiers, once per key per block); writes are Map updates plus one
 * journal entry; `writes()` is O(dirty keys · log).
 */
import { concatBytes, HASH_BYTES, hash, HeliosError } from "../core/index.js";
import { EMPTY_ROOT, type Op } from "../merkle/index.js";
import { ADDRESS_BYTES, type ExecEvent, type HostWorld, U128_MAX } from "./types.js";
import type { PreparedContract } from "./wasm/index.js";

export const TREE_ACCOUNTS = "acct";
export const TREE_CODE = "code";
const STORAGE_PREFIX = "s/";

/** The forest tree that holds a contract's storage. */
export function storageTreeName(address: Uint8Array): string {
  return STORAGE_PREFIX + Buffer.from(address.buffer, address.byteOffset, address.byteLength).toString("base64url");
}

export interface Account {
  nonce: number;
  balance: bigint;
  /** BLAKE3 of the contract's code, or null for an account without code. */
  codeHash: Uint8Array | null;
  /** The root of the contract's storage tree (EMPTY_ROOT when empty), or null without code. */
  storageRoot: Uint8Array | null;
}

const EOA_BYTES = 1 + 8 + 16;
const CONTRACT_BYTES = EOA_BYTES + 2 * HASH_BYTES;

export function encodeAccount(a: Account): Uint8Array {
  const out = new Uint8Array(a.codeHash === null ? EOA_BYTES : CONTRACT_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = a.codeHash === null ? 0 : 1;
  dv.setBigUint64(1, BigInt(a.nonce));
  dv.setBigUint64(9, a.balance >> 64n);
  dv.setBigUint64(17, a.balance & 0xffff_ffff_ffff_ffffn);
  if (a.codeHash !== null) {
    out.set(a.codeHash, EOA_BYTES);
    out.set(a.storageRoot ?? EMPTY_ROOT, EOA_BYTES + HASH_BYTES);
  }
  return out;
}

/** Decodes an account record; a record that is not canonical is store corruption. */
export function decodeAccount(b: Uint8Array): Account {
  const kind = b[0];
  if (!((kind === 0 && b.length === EOA_BYTES) || (kind === 1 && b.length === CONTRACT_BYTES))) {
    throw new HeliosError("STORE_CORRUPT", { record: "account", length: b.length });
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const nonce = dv.getBigUint64(1);
  if (nonce > BigInt(Number.MAX_SAFE_INTEGER)) throw new HeliosError("STORE_CORRUPT", { record: "account" });
  const balance = (dv.getBigUint64(9) << 64n) | dv.getBigUint64(17);
  return {
    nonce: Number(nonce),
    balance,
    codeHash: kind === 1 ? b.slice(EOA_BYTES, EOA_BYTES + HASH_BYTES) : null,
    storageRoot: kind === 1 ? b.slice(EOA_BYTES + HASH_BYTES) : null,
  };
}

/** The address of the contract `deployer` creates with its transaction of nonce `nonce`. */
export function contractAddress(deployer: Uint8Array, nonce: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(nonce));
  return hash(concatBytes(deployer, n));
}

/** Reads the base version: (tree, key) → value. */
export type BaseReader = (tree: string, key: Uint8Array) => Uint8Array | undefined;

/** Prepares and compiles a contract's code (cached by the caller, keyed by code hash). */
export type ModuleLoader = (codeHash: Uint8Array, code: Uint8Array) => PreparedContract;

const keyOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");

interface AccountSlot {
  address: Uint8Array;
  acct: Account;
  dirty: boolean;
}

interface StorageSlot {
  address: Uint8Array;
  /** key (latin1) → the value written in this block (null = deleted), with its key bytes. */
  writes: Map<string, { key: Uint8Array; value: Uint8Array | null }>;
}

type JournalEntry =
  | { kind: "account"; slot: AccountSlot; prev: Account; prevDirty: boolean }
  | { kind: "storage"; slot: StorageSlot; k: string; prev: { key: Uint8Array; value: Uint8Array | null } | undefined }
  | { kind: "code"; k: string }
  | { kind: "event" };

/**
 * The journaled overlay of one block over a base version. Implements the
 * VM's HostWorld and the executor's account operations.
 */
export class WorldState implements HostWorld {
  private readonly read: BaseReader;
  private readonly load: ModuleLoader;
  private readonly accounts = new Map<string, AccountSlot>();
  private readonly storage = new Map<string, StorageSlot>();
  private readonly code = new Map<string, { hash: Uint8Array; code: Uint8Array }>();
  private readonly journal: JournalEntry[] = [];
  /** Events of the current transaction (the executor takes them after each one). */
  events: ExecEvent[] = [];

  constructor(read: BaseReader, load: ModuleLoader) {
    this.read = read;
    this.load = load;
  }

  // ------------------------------------------------------------ accounts

  private slot(address: Uint8Array): AccountSlot {
    const k = keyOf(address);
    let s = this.accounts.get(k);
    if (s === undefined) {
      const raw = this.read(TREE_ACCOUNTS, address);
      const acct =
        raw === undefined ? { nonce: 0, balance: 0n, codeHash: null, storageRoot: null } : decodeAccount(raw);
      s = { address: address.slice(), acct, dirty: false };
      this.accounts.set(k, s);
    }
    return s;
  }

  /** The account at `address` (a zero account when absent). Do not mutate the result. */
  account(address: Uint8Array): Readonly<Account> {
    return this.slot(address).acct;
  }

  private change(s: AccountSlot, next: Account): void {
    this.journal.push({ kind: "account", slot: s, prev: s.acct, prevDirty: s.dirty });
    s.acct = next;
    s.dirty = true;
  }

  setNonce(address: Uint8Array, nonce: number): void {
    const s = this.slot(address);
    this.change(s, { ...s.acct, nonce });
  }

  /** Adds to a balance; a result above u128 is a bug (total supply is bounded by genesis). */
  credit(address: Uint8Array, amount: bigint): void {
    if (amount === 0n) return;
    const s = this.slot(address);
    const balance = s.acct.balance + amount;
    if (balance > U128_MAX) throw new HeliosError("INVALID_ARGUMENT", {}, "balance above u128");
    this.change(s, { ...s.acct, balance });
  }

  /** Subtracts from a balance; false (and no change) when it does not cover `amount`. */
  debit(address: Uint8Array, amount: bigint): boolean {
    const s = this.slot(address);
    if (s.acct.balance < amount) return false;
    if (amount !== 0n) this.change(s, { ...s.acct, balance: s.acct.balance - amount });
    return true;
  }

  /** Installs code at a new contract address (its storage starts empty). */
  deploy(address: Uint8Array, codeHash: Uint8Array, code: Uint8Array): void {
    const s = this.slot(address);
    this.change(s, { ...s.acct, codeHash: codeHash.slice(), storageRoot: EMPTY_ROOT });
    const k = keyOf(codeHash);
    if (!this.code.has(k) && this.read(TREE_CODE, codeHash) === undefined) {
      this.code.set(k, { hash: codeHash.slice(), code });
      this.journal.push({ kind: "code", k });
    }
  }

  /** Prepares and compiles code (cached by the loader); throws VM_MODULE_INVALID. */
  loadModule(codeHash: Uint8Array, code: Uint8Array): PreparedContract {
    return this.load(codeHash, code);
  }

  /** The bytes of a code hash, from this block's deployments or the base. */
  codeOf(codeHash: Uint8Array): Uint8Array | undefined {
    return this.code.get(keyOf(codeHash))?.code ?? this.read(TREE_CODE, codeHash);
  }

  // ------------------------------------------------------------ HostWorld

  balance(address: Uint8Array): bigint {
    return this.slot(address).acct.balance;
  }

  transfer(from: Uint8Array, to: Uint8Array, amount: bigint): boolean {
    if (!this.debit(from, amount)) return false;
    this.credit(to, amount);
    return true;
  }

  module(address: Uint8Array): PreparedContract | undefined {
    const a = this.slot(address).acct;
    if (a.codeHash === null) return undefined;
    const code = this.codeOf(a.codeHash);
    if (code === undefined)
      throw new HeliosError("MERKLE_NODE_MISSING", { codeHash: a.codeHash }, "contract code missing");
    return this.load(a.codeHash, code);
  }

  storageGet(contract: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    const s = this.storage.get(keyOf(contract));
    const w = s?.writes.get(keyOf(key));
    if (w !== undefined) return w.value ?? undefined;
    return this.read(storageTreeName(contract), key);
  }

  storageSet(contract: Uint8Array, key: Uint8Array, value: Uint8Array | null): void {
    const ck = keyOf(contract);
    let s = this.storage.get(ck);
    if (s === undefined) {
      s = { address: contract.slice(), writes: new Map() };
      this.storage.set(ck, s);
    }
    const k = keyOf(key);
    this.journal.push({ kind: "storage", slot: s, k, prev: s.writes.get(k) });
    s.writes.set(k, { key: key.slice(), value: value === null ? null : value.slice() });
  }

  emit(event: ExecEvent): void {
    this.events.push(event);
    this.journal.push({ kind: "event" });
  }

  mark(): number {
    return this.journal.length;
  }

  revertTo(mark: number): void {
    while (this.journal.length > mark) {
      const e = this.journal.pop() as JournalEntry;
      switch (e.kind) {
        case "account":
          e.slot.acct = e.prev;
          e.slot.dirty = e.prevDirty;
          break;
        case "storage":
          if (e.prev === undefined) e.slot.writes.delete(e.k);
          else e.slot.writes.set(e.k, e.prev);
          break;
        case "code":
          this.code.delete(e.k);
          break;
        case "event":
          this.events.pop();
          break;
      }
    }
  }

  /** Forgets the journal (after a transaction is final): marks taken before are invalid. */
  seal(): void {
    this.journal.length = 0;
  }

  // ------------------------------------------------------------ output

  /**
   * The block's writes, in two stages for StateDB.stage: storage trees and
   * code first, then (`derive`, given the new storage roots) the accounts.
   */
  writes(): {
    first: Map<string, Op[]>;
    derive: (roots: ReadonlyMap<string, Uint8Array>) => Map<string, Op[]>;
  } {
    const first = new Map<string, Op[]>();
    for (const s of this.storage.values()) {
      const ops: Op[] = [];
      for (const w of s.writes.values()) ops.push({ key: w.key, value: w.value });
      if (ops.length > 0) first.set(storageTreeName(s.address), ops);
    }
    if (this.code.size > 0) {
      const ops: Op[] = [];
      for (const c of this.code.values()) ops.push({ key: c.hash, value: c.code });
      first.set(TREE_CODE, ops);
    }
    const derive = (roots: ReadonlyMap<string, Uint8Array>): Map<string, Op[]> => {
      const ops: Op[] = [];
      for (const s of this.accounts.values()) {
        if (!s.dirty && !this.storage.has(keyOf(s.address))) continue;
        let a = s.acct;
        if (a.codeHash !== null) {
          const r = roots.get(storageTreeName(s.address));
          if (r !== undefined) a = { ...a, storageRoot: r };
        }
        const empty = a.nonce === 0 && a.balance === 0n && a.codeHash === null;
        ops.push({ key: s.address, value: empty ? null : encodeAccount(a) });
      }
      // storage written for an address whose account was never loaded: load it so its root is recorded
      for (const [ck, st] of this.storage) {
        if (this.accounts.has(ck)) continue;
        const a = this.slot(st.address).acct;
        const r = roots.get(storageTreeName(st.address));
        if (a.codeHash !== null && r !== undefined)
          ops.push({ key: st.address, value: encodeAccount({ ...a, storageRoot: r }) });
      }
      // no sort here: map.update sorts (a native sort of key prefixes), and the root does not depend on op order
      return ops.length === 0 ? new Map() : new Map([[TREE_ACCOUNTS, ops]]);
    };
    return { first, derive };
  }

  /** Addresses of accounts changed in this overlay (for tests and stats). */
  dirtyAccounts(): number {
    let n = 0;
    for (const s of this.accounts.values()) if (s.dirty) n++;
    return n;
  }
}

export function checkAddress(a: unknown): Uint8Array {
  if (!(a instanceof Uint8Array) || a.length !== ADDRESS_BYTES) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "an address is 32 bytes");
  }
  return a;
}
