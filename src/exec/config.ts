/**
 * exec/config — StateConfig, the one configuration object of the state
 * machine (docs/api.md §Configuration), with defaults and validation.
 *
 * Invariants: `resolveConfig` accepts only known fields of the right type
 * and range, and returns a complete, frozen config; anything else throws
 * CONFIG_INVALID naming the field. Two nodes of one chain must agree on the
 * consensus fields (chainId, blockGasLimit, maxTxBytes, vm); the others are
 * local tuning.
 * Costs: none worth noting.
 */
import { HeliosError } from "../core/index.js";
import { DEFAULT_VM_LIMITS, type VmLimits } from "./types.js";

export interface StateConfig {
  /** Chain id signed into every transaction (u32). Consensus. */
  chainId: number;
  /** Most gas a block may use; also the ceiling of one transaction's gas limit. Consensus. */
  blockGasLimit: number;
  /** Largest encoded transaction, bytes. Consensus. */
  maxTxBytes: number;
  /** Admission only: how far ahead of the account nonce a transaction may be. */
  maxNonceGap: number;
  /** VM limits (memory pages, stack units, call depth, module size, locals). Consensus. */
  vm: VmLimits;
  /** Bytes of the store's node cache (L1). Local. */
  cacheBytes: number;
  /** Take a snapshot every N committed heights (0 = never). Local. */
  snapshotInterval: number;
  /** Snapshots kept by automatic pruning (0 = keep all). Local. */
  snapshotRetention: number;
  /** Heights kept for rollback (≥ 1). Local. */
  retainHeights: number;
  /** Optimistic parallel execution. Not built yet: must be false. */
  parallelExecution: boolean;
  /** Signature cache entries (both generations). Local. */
  sigCacheEntries: number;
  /** Compiled contract modules kept in memory. Local. */
  moduleCacheEntries: number;
}

export const DEFAULT_CONFIG: Readonly<StateConfig> = Object.freeze({
  chainId: 1,
  blockGasLimit: 1_000_000_000,
  maxTxBytes: 256 * 1024,
  maxNonceGap: 64,
  vm: DEFAULT_VM_LIMITS,
  cacheBytes: 256 * 1024 * 1024,
  snapshotInterval: 0,
  snapshotRetention: 0,
  retainHeights: 100,
  parallelExecution: false,
  sigCacheEntries: 1 << 17,
  moduleCacheEntries: 256,
});

type Range = [min: number, max: number];
const INT_FIELDS: Record<string, Range> = {
  chainId: [0, 0xffff_ffff],
  blockGasLimit: [1, Number.MAX_SAFE_INTEGER],
  maxTxBytes: [128, 16 * 1024 * 1024],
  maxNonceGap: [0, 1_000_000],
  cacheBytes: [0, 64 * 1024 ** 3],
  snapshotInterval: [0, Number.MAX_SAFE_INTEGER],
  snapshotRetention: [0, 1_000_000],
  retainHeights: [1, 1_000_000],
  sigCacheEntries: [4, 1 << 26],
  moduleCacheEntries: [1, 1 << 16],
};
const VM_FIELDS: Record<keyof VmLimits, Range> = {
  maxMemoryPages: [1, 1024],
  // above ~120K units V8's own stack could overflow first (vm.md V33): the cap keeps 2× headroom
  maxStackUnits: [64, 65_536],
  maxCallDepth: [1, 256],
  maxModuleBytes: [64, 16 * 1024 * 1024],
  maxLocals: [1, 50_000],
};

function bad(field: string, detail: string): never {
  throw new HeliosError("CONFIG_INVALID", { field }, `${field}: ${detail}`);
}

function int(field: string, v: unknown, [min, max]: Range): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    bad(field, `an integer from ${min} to ${max}`);
  }
  return v;
}

/** Fills defaults and validates; throws CONFIG_INVALID on any unknown field or bad value. */
export function resolveConfig(partial: unknown = {}): Readonly<StateConfig> {
  if (partial === null || typeof partial !== "object" || Array.isArray(partial)) bad("(config)", "an object");
  const p = partial as Record<string, unknown>;
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [k, v] of Object.entries(p)) {
    if (Object.hasOwn(INT_FIELDS, k)) out[k] = int(k, v, INT_FIELDS[k] as Range);
    else if (k === "parallelExecution") {
      if (typeof v !== "boolean") bad(k, "a boolean");
      if (v) bad(k, "parallel execution is not built in this release (docs/api.md); use false");
      out[k] = v;
    } else if (k === "vm") {
      if (v === null || typeof v !== "object" || Array.isArray(v)) bad("vm", "an object");
      const vm: Record<string, number> = { ...DEFAULT_VM_LIMITS };
      for (const [vk, vv] of Object.entries(v as Record<string, unknown>)) {
        const r = Object.hasOwn(VM_FIELDS, vk) ? VM_FIELDS[vk as keyof VmLimits] : undefined;
        if (r === undefined) bad(`vm.${vk}`, "unknown field");
        vm[vk] = int(`vm.${vk}`, vv, r);
      }
      out.vm = Object.freeze(vm);
    } else bad(k, "unknown field");
  }
  return Object.freeze(out) as unknown as Readonly<StateConfig>;
}

/** Parses a JSON config text (from a file) and resolves it. */
export function parseConfig(text: string): Readonly<StateConfig> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    bad("(file)", `not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return resolveConfig(v);
}
