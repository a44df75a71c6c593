/**
 * exec/wasm/costs — the gas cost table and the stack-frame cost model of the
 * Helios VM (docs/spec/vm.md §3 and §4).
 *
 * Purpose: one place that says what each instruction costs in gas, and how
 * many stack units a function's frame costs. Changing a number here changes
 * consensus: it needs a new protocol version.
 *
 * Invariants:
 * - Every instruction that can branch backwards (br, br_if, br_table) costs at
 *   least 1, so every loop iteration costs at least 1 and an infinite loop
 *   always runs out of gas.
 * - One stack unit stands for at most 8 bytes of V8's machine stack (measured
 *   in test/unit/exec/wasm.test.ts for Liftoff and TurboFan frames), so
 *   `maxStackUnits × 8` bytes bounds the stack that contract frames can use.
 * Costs: constants and O(1) lookups.
 */

/** Gas per instruction class (vm.md V24). Dynamic parts are per page or per 8-byte word. */
export const GAS_COSTS = Object.freeze({
  /** nop, block, loop, else, end: they compile to no machine code. */
  free: 0,
  /** Constants, local and global access, drop, select, integer ALU ops, comparisons, conversions, sign extension. */
  simple: 1,
  /** br, br_if, if, return, unreachable. */
  branch: 1,
  /** br_table (a bounds check and an indirect jump). */
  branchTable: 2,
  /** i32.mul, i64.mul. */
  mul: 2,
  /** Integer division and remainder, signed and unsigned, both widths. */
  divRem: 10,
  /** Integer loads of every width. */
  load: 2,
  /** Integer stores of every width. */
  store: 2,
  /** A direct call (of a contract function or a host import); the host charges its own work on top. */
  call: 5,
  /** call_indirect: a table lookup and a signature check on top of a call. */
  callIndirect: 10,
  memorySize: 1,
  /** memory.grow's fixed part ... */
  memoryGrow: 100,
  /** ... plus this much per page requested (charged before growing, also when growing fails). */
  memoryGrowPerPage: 8192,
  /** memory.copy and memory.fill's fixed part ... */
  bulkMemory: 5,
  /** ... plus this much per 8 bytes of length, rounded up (charged before the copy or fill, also when it traps). */
  bulkMemoryPerWord: 1,
});

/** Gas of each single-byte opcode of the subset; `validate.ts` rejects every opcode not given a cost. */
export const OPCODE_COSTS: Uint16Array = buildOpcodeCosts();

/** Gas of the 0xFC-prefixed instructions of the subset (memory.copy = 10, memory.fill = 11). */
export const FC_COSTS: Readonly<Record<number, number>> = Object.freeze({
  10: GAS_COSTS.bulkMemory,
  11: GAS_COSTS.bulkMemory,
});

function buildOpcodeCosts(): Uint16Array {
  const c = new Uint16Array(256);
  const set = (from: number, to: number, cost: number) => {
    for (let op = from; op <= to; op++) c[op] = cost;
  };
  set(0x00, 0x00, GAS_COSTS.branch); // unreachable
  set(0x01, 0x03, GAS_COSTS.free); // nop block loop
  set(0x04, 0x04, GAS_COSTS.branch); // if
  set(0x05, 0x05, GAS_COSTS.free); // else
  set(0x0b, 0x0b, GAS_COSTS.free); // end
  set(0x0c, 0x0d, GAS_COSTS.branch); // br br_if
  set(0x0e, 0x0e, GAS_COSTS.branchTable);
  set(0x0f, 0x0f, GAS_COSTS.branch); // return
  set(0x10, 0x10, GAS_COSTS.call);
  set(0x11, 0x11, GAS_COSTS.callIndirect);
  set(0x1a, 0x1b, GAS_COSTS.simple); // drop select
  set(0x20, 0x24, GAS_COSTS.simple); // local.get/set/tee global.get/set
  set(0x28, 0x29, GAS_COSTS.load);
  set(0x2c, 0x35, GAS_COSTS.load);
  set(0x36, 0x37, GAS_COSTS.store);
  set(0x3a, 0x3e, GAS_COSTS.store);
  set(0x3f, 0x3f, GAS_COSTS.memorySize);
  set(0x40, 0x40, GAS_COSTS.memoryGrow);
  set(0x41, 0x42, GAS_COSTS.simple); // i32.const i64.const
  set(0x45, 0x5a, GAS_COSTS.simple); // integer tests and comparisons
  set(0x67, 0x8a, GAS_COSTS.simple); // integer arithmetic, logic, shifts, rotates
  set(0x6c, 0x6c, GAS_COSTS.mul);
  set(0x7e, 0x7e, GAS_COSTS.mul);
  set(0x6d, 0x70, GAS_COSTS.divRem);
  set(0x7f, 0x82, GAS_COSTS.divRem);
  set(0xa7, 0xa7, GAS_COSTS.simple); // i32.wrap_i64
  set(0xac, 0xad, GAS_COSTS.simple); // i64.extend_i32_s/u
  set(0xc0, 0xc4, GAS_COSTS.simple); // sign extension
  return c;
}

/**
 * Stack units of one frame (vm.md V30): a fixed part for the frame header
 * (return address, frame pointer, instance), one unit per local and per
 * operand-stack slot, one more per parameter (arguments beyond the registers
 * are also pushed by the caller) and one per result (multi-value results come
 * back through the caller's frame). 8 bytes per unit covers V8's 8-byte spill
 * slots on 64-bit targets.
 */
export const FRAME_BASE_UNITS = 8;
/** Operand-stack slots the injected code may push on top of the function's own maximum. */
export const INSTRUMENTATION_STACK_SLOTS = 2;
/** The machine-stack bytes one stack unit stands for (the bound the tests check). */
export const STACK_UNIT_BYTES = 8;

export function frameUnits(params: number, results: number, locals: number, maxOperandHeight: number): number {
  return FRAME_BASE_UNITS + 2 * params + results + locals + maxOperandHeight + INSTRUMENTATION_STACK_SLOTS;
}
