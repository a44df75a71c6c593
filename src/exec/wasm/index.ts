/**
 * exec/wasm — the deterministic validator and instrumenter of contract
 * modules (docs/spec/vm.md).
 *
 * Purpose: `prepareModule(bytes, limits)` checks an untrusted module against
 * the Helios subset of WebAssembly and returns it instrumented with gas
 * metering, stack-unit metering and dynamic charges, ready for
 * `new WebAssembly.Module(...)`.
 *
 * Invariants:
 * - Bad input of any shape throws `HeliosError("VM_MODULE_INVALID",
 *   { reason, offset? })` and nothing else.
 * - Same bytes and limits → byte-identical output, on every machine.
 * - No function, type or import index shifts; the host-facing protocol is
 *   the three exported globals GAS_GLOBAL, STACK_GLOBAL and STATUS_GLOBAL.
 * Costs: O(module bytes) time and memory, about 0.2 ms per KiB of input once
 * warm (~20 ms for 116 KiB), plus one engine-side validation of the output
 * (~1.5 ms). The output is typically 2–3× the input.
 */

import { assert } from "../../core/index.js";
import { DEFAULT_VM_LIMITS, type VmLimits } from "../types.js";
import { ENGINE_LIMITS, parseModule, reject } from "./parse.js";
import { memoryLimits, writeModule } from "./instrument.js";
import { validateBody } from "./validate.js";

export {
  FRAME_BASE_UNITS,
  frameUnits,
  GAS_COSTS,
  INSTRUMENTATION_STACK_SLOTS,
  OPCODE_COSTS,
  STACK_UNIT_BYTES,
} from "./costs.js";
export {
  GAS_GLOBAL,
  STACK_GLOBAL,
  STATUS_GLOBAL,
  STATUS_NONE,
  STATUS_OUT_OF_GAS,
  STATUS_STACK_OVERFLOW,
} from "./instrument.js";
import { HOST_FUNCTION_TYPES, type HostTypes } from "./host.js";
export { ABORT_TYPE, HOST_FUNCTION_TYPES, type HostTypes } from "./host.js";
export { MEMORY_IMPORT } from "./instrument.js";
export { MAX_TABLE_ENTRIES, type WasmRejectReason } from "./parse.js";

/**
 * Validates `bytes` and returns the instrumented module (vm.md V1–V36).
 * Throws HeliosError("VM_MODULE_INVALID", { reason, offset? }) on bad input.
 * `hostTypes` is the table of importable "helios" functions and their exact
 * types: the Helios ABI by default (tests of the instrumenter pass their own).
 */
export function prepareModule(
  bytes: Uint8Array,
  limits: VmLimits = DEFAULT_VM_LIMITS,
  hostTypes: HostTypes = HOST_FUNCTION_TYPES,
): Uint8Array {
  return prepare(bytes, limits, hostTypes, false).out;
}

/** A contract ready to instantiate: its compiled module and the memory it imports. */
export interface PreparedContract {
  module: WebAssembly.Module;
  /** Pass a WebAssembly.Memory with exactly these limits as helios.memory (MEMORY_IMPORT). */
  memory: { initial: number; maximum: number };
  /** The size of the code as deployed (the VM charges per byte on every load). */
  codeBytes: number;
}

/**
 * prepareModule, then compile, with the module's memory turned into an
 * import (MEMORY_IMPORT) so the VM can instantiate it on a pooled, zeroed
 * memory (vm.md V37). The module is the same code as prepareModule's output
 * except for where its memory comes from.
 */
export function prepareContract(bytes: Uint8Array, limits: VmLimits = DEFAULT_VM_LIMITS): PreparedContract {
  const { out, memory } = prepare(bytes, limits, HOST_FUNCTION_TYPES, true);
  return { module: new WebAssembly.Module(out), memory, codeBytes: bytes.length };
}

function prepare(
  bytes: Uint8Array,
  limits: VmLimits,
  hostTypes: HostTypes,
  importMemory: boolean,
): { out: Uint8Array; memory: { initial: number; maximum: number } } {
  assert(
    Number.isInteger(limits.maxMemoryPages) &&
      limits.maxMemoryPages >= 0 &&
      limits.maxMemoryPages <= ENGINE_LIMITS.memoryPages,
    "maxMemoryPages must be an integer in [0, 65536]",
  );
  assert(
    Number.isInteger(limits.maxLocals) && limits.maxLocals >= 0 && limits.maxLocals < ENGINE_LIMITS.locals,
    "maxLocals must be an integer in [0, 49999] (one local is reserved for the instrumentation)",
  );
  assert(Number.isInteger(limits.maxModuleBytes) && limits.maxModuleBytes >= 0, "maxModuleBytes must be an integer");
  if (!(bytes instanceof Uint8Array)) reject("malformed", undefined, "module bytes must be a Uint8Array");
  if (bytes.length > limits.maxModuleBytes) {
    reject("too-large", undefined, `module of ${bytes.length} bytes exceeds the limit of ${limits.maxModuleBytes}`);
  }
  const info = parseModule(bytes, limits.maxMemoryPages, hostTypes);
  const plans = info.bodies.map((body, i) => validateBody(info, info.importedFuncs + i, body, limits.maxLocals));
  const out = writeModule(info, plans, limits.maxMemoryPages, importMemory);
  // Defence in depth: the subset is meant to be strictly inside what the engine accepts, so this never
  // fires; if a validator bug ever let something through, the module is refused here rather than at
  // call time.
  if (!WebAssembly.validate(out)) reject("engine", undefined, "the engine rejected the instrumented module");
  return { out, memory: memoryLimits(info, limits.maxMemoryPages) };
}
