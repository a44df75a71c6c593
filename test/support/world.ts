/**
 * test/support/world — a plain Map-based HostWorld with an undo journal, and
 * helpers to load the compiled test contracts, for the VM and contract tests.
 *
 * Purpose: an obviously correct world to run the VM against, independent of
 * exec/world.ts (which sits on the Merkle forest).
 * Invariants: every mutation pushes one undo record; revertTo(mark) pops and
 * applies undo records until the journal is `mark` long, so it restores the
 * exact previous contents (events included). `dump()` is canonical: two
 * worlds with the same contents give equal dumps regardless of history.
 * Costs: O(1) per read and write; dump() is O(n log n).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bytesToHex } from "../../src/core/index.js";
import type { ExecEvent, HostWorld } from "../../src/exec/types.js";
import { DEFAULT_VM_LIMITS, u128FromLE, u128ToLE, type VmLimits } from "../../src/exec/types.js";
import { type PreparedContract, prepareContract, prepareModule } from "../../src/exec/wasm/index.js";

type Undo = () => void;

export class MemoryWorld implements HostWorld {
  readonly storage = new Map<string, Uint8Array>();
  readonly balances = new Map<string, bigint>();
  readonly modules = new Map<string, WebAssembly.Module | PreparedContract>();
  readonly events: ExecEvent[] = [];
  private readonly journal: Undo[] = [];

  storageGet(contract: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    return this.storage.get(storageKey(contract, key));
  }

  storageSet(contract: Uint8Array, key: Uint8Array, value: Uint8Array | null): void {
    const k = storageKey(contract, key);
    const before = this.storage.get(k);
    this.journal.push(() => {
      if (before === undefined) this.storage.delete(k);
      else this.storage.set(k, before);
    });
    if (value === null) this.storage.delete(k);
    else this.storage.set(k, value.slice());
  }

  balance(address: Uint8Array): bigint {
    return this.balances.get(bytesToHex(address)) ?? 0n;
  }

  /** Sets a balance directly (test setup; journaled like any write). */
  setBalance(address: Uint8Array, amount: bigint): void {
    const k = bytesToHex(address);
    const before = this.balances.get(k);
    this.journal.push(() => {
      if (before === undefined) this.balances.delete(k);
      else this.balances.set(k, before);
    });
    if (amount === 0n) this.balances.delete(k);
    else this.balances.set(k, amount);
  }

  transfer(from: Uint8Array, to: Uint8Array, amount: bigint): boolean {
    const have = this.balance(from);
    if (have < amount) return false;
    this.setBalance(from, have - amount);
    this.setBalance(to, this.balance(to) + amount);
    return true;
  }

  module(address: Uint8Array): WebAssembly.Module | PreparedContract | undefined {
    return this.modules.get(bytesToHex(address));
  }

  /** Installs a prepared module at an address (not journaled: code is the executor's business). */
  install(address: Uint8Array, module: WebAssembly.Module | PreparedContract): void {
    this.modules.set(bytesToHex(address), module);
  }

  emit(event: ExecEvent): void {
    this.events.push({ address: event.address.slice(), topic: event.topic.slice(), data: event.data.slice() });
    this.journal.push(() => {
      this.events.pop();
    });
  }

  mark(): number {
    return this.journal.length;
  }

  revertTo(mark: number): void {
    if (mark > this.journal.length) throw new Error(`revertTo(${mark}) beyond the journal (${this.journal.length})`);
    while (this.journal.length > mark) (this.journal.pop() as Undo)();
  }

  /** Forgets the journal (the end of a transaction). */
  commit(): void {
    this.journal.length = 0;
  }

  /** A canonical, comparable picture of the contents: storage, balances and events. */
  dump(): { storage: [string, string][]; balances: [string, string][]; events: string[] } {
    const storage = [...this.storage].map(([k, v]): [string, string] => [k, bytesToHex(v)]).sort(byKey);
    const balances = [...this.balances].map(([k, v]): [string, string] => [k, v.toString()]).sort(byKey);
    const events = this.events.map((e) => `${bytesToHex(e.address)}:${bytesToHex(e.topic)}:${bytesToHex(e.data)}`);
    return { storage, balances, events };
  }

  /** The storage of one contract as hex key → hex value (for assertions). */
  storageOf(contract: Uint8Array): Map<string, string> {
    const prefix = `${bytesToHex(contract)}/`;
    const out = new Map<string, string>();
    for (const [k, v] of this.storage) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), bytesToHex(v));
    return out;
  }
}

function storageKey(contract: Uint8Array, key: Uint8Array): string {
  return `${bytesToHex(contract)}/${bytesToHex(key)}`;
}

function byKey(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** A 32-byte address whose every byte is `b` (test accounts). */
export function addr(b: number): Uint8Array {
  return new Uint8Array(32).fill(b);
}

/** 16 bytes little-endian (the ABI's u128). */
export function u128(v: bigint): Uint8Array {
  return u128ToLE(v);
}

export function decodeU128(b: Uint8Array, off = 0): bigint {
  return u128FromLE(b.subarray(off, off + 16));
}

export function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v, true);
  return out;
}

export function u64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return out;
}

export function decodeU64(b: Uint8Array, off = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}

export function bytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function fromText(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

function repoRoot(): string {
  // dist/test/support/world.js → the repository root.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
}

/** The compiled bytes of contracts/<name>.ts (built by scripts/build-contracts.mjs). */
export function contractBytes(name: string): Uint8Array {
  const file = path.join(repoRoot(), "build", "contracts", `${name}.wasm`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`node scripts/build-contracts.mjs\``);
  return new Uint8Array(readFileSync(file));
}

const prepared = new Map<string, PreparedContract>();

/** The prepared (validated and instrumented) module of a test contract, compiled once per limits. */
/** A contract as the chain runs it: prepareContract, so it imports a pooled memory (vm.md V37). */
export function contractModule(name: string, limits: VmLimits = DEFAULT_VM_LIMITS): PreparedContract {
  const k = `${name}/${JSON.stringify(limits)}`;
  let m = prepared.get(k);
  if (m === undefined) {
    m = prepareContract(contractBytes(name), limits);
    prepared.set(k, m);
  }
  return m;
}

/** The same contract prepared with prepareModule: it defines its own memory (a fresh one per instance). */
export function contractModuleOwnMemory(name: string, limits: VmLimits = DEFAULT_VM_LIMITS): WebAssembly.Module {
  return new WebAssembly.Module(prepareModule(contractBytes(name), limits));
}
