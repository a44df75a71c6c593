/**
 * exec/wasm/instrument — writes the instrumented module: the injected
 * globals and exports, the clamped memory, and every function body with its
 * gas, stack and dynamic charges (docs/spec/vm.md §3–§5).
 *
 * Purpose: turn a validated module and its body plans into new bytes. Bytes
 * that need no change (types, imports, functions, table, elements, data
 * count, data, and the original global and export entries) are copied as
 * they are; custom sections are dropped.
 *
 * Invariants:
 * - No index of the input shifts: the five injected globals are appended
 *   after the module's own globals, the extra local (the saved stack
 *   counter) after a function's own locals, and no function, type or import
 *   is added.
 * - The output depends only on the input bytes and the limits: the same
 *   input gives byte-identical output.
 * - Injected code is stack-neutral around the original instructions, and
 *   pushes at most INSTRUMENTATION_STACK_SLOTS values above them.
 * Costs: O(output bytes); the output is the input plus about 25 bytes per
 * metered segment and 20 per call site.
 */

import { frameUnits, GAS_COSTS } from "./costs.js";
import { ENGINE_LIMITS, I32, I64, type ModuleInfo, reject } from "./parse.js";
import { type BodyPlan, INS_BULK, INS_GROW, INS_RESTORE, INS_SAVE, INS_SEGMENT } from "./validate.js";

export const GAS_GLOBAL = "__helios_gas";
export const STACK_GLOBAL = "__helios_stack";
export const STATUS_GLOBAL = "__helios_status";

/** Values of the status global (vm.md V36). */
export const STATUS_NONE = 0;
export const STATUS_OUT_OF_GAS = 1;
export const STATUS_STACK_OVERFLOW = 2;

/** A growable byte buffer. */
class ByteWriter {
  buf: Uint8Array;
  len: number;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(16, capacity));
    this.len = 0;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  /** Several single bytes. */
  op(...bs: number[]): void {
    this.room(bs.length);
    for (const b of bs) this.buf[this.len++] = b;
  }

  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.room(n);
    if (n < 32) {
      // Most copies are a few instruction bytes between two insertions: a loop beats subarray + set.
      const buf = this.buf;
      let at = this.len;
      for (let i = start; i < end; i++) buf[at++] = src[i]!;
    } else {
      this.buf.set(src.subarray(start, end), this.len);
    }
    this.len += n;
  }

  append(w: ByteWriter): void {
    this.copy(w.buf, 0, w.len);
  }

  /** Unsigned LEB128 of a u32. */
  u32(n: number): void {
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      this.u8(b);
    } while (n !== 0);
  }

  /** Signed LEB128 of a non-negative safe integer (an i32.const or i64.const immediate). */
  sleb(n: number): void {
    for (;;) {
      const b = n % 128;
      n = Math.floor(n / 128);
      if (n === 0 && (b & 0x40) === 0) {
        this.u8(b);
        return;
      }
      this.u8(b | 0x80);
    }
  }

  /** A name of ASCII characters (the injected export names). */
  asciiName(s: string): void {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.u8(s.charCodeAt(i));
  }

  section(id: number, content: ByteWriter): void {
    this.u8(id);
    this.u32(content.len);
    this.append(content);
  }

  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Indices of the injected globals, appended after the module's own. */
interface Injected {
  gas: number;
  stack: number;
  status: number;
  scratch32: number;
  scratch64: number;
}

const OP_UNREACHABLE = 0x00;
const OP_IF = 0x04;
const OP_END = 0x0b;
const BT_EMPTY = 0x40;
const OP_LOCAL_GET = 0x20;
const OP_LOCAL_SET = 0x21;
const OP_GLOBAL_GET = 0x23;
const OP_GLOBAL_SET = 0x24;
const OP_I32_CONST = 0x41;
const OP_I64_CONST = 0x42;
const OP_I32_LT_S = 0x48;
const OP_I64_LT_S = 0x53;
const OP_I32_SUB = 0x6b;
const OP_I64_ADD = 0x7c;
const OP_I64_SUB = 0x7d;
const OP_I64_MUL = 0x7e;
const OP_I64_SHR_U = 0x88;
const OP_I64_EXTEND_I32_U = 0xad;

/** `if (gas < cost) { status = 1; unreachable } gas -= cost` with a constant cost. */
function emitStaticCharge(w: ByteWriter, g: Injected, cost: number): void {
  if (cost === 0) return;
  w.u8(OP_GLOBAL_GET);
  w.u32(g.gas);
  w.u8(OP_I64_CONST);
  w.sleb(cost);
  w.op(OP_I64_LT_S, OP_IF, BT_EMPTY, OP_I32_CONST, 1, OP_GLOBAL_SET);
  w.u32(g.status);
  w.op(OP_UNREACHABLE, OP_END, OP_GLOBAL_GET);
  w.u32(g.gas);
  w.u8(OP_I64_CONST);
  w.sleb(cost);
  w.u8(OP_I64_SUB);
  w.u8(OP_GLOBAL_SET);
  w.u32(g.gas);
}

/** The same check-and-subtract with the cost in the scratch i64 global. */
function emitScratchCharge(w: ByteWriter, g: Injected): void {
  w.u8(OP_GLOBAL_GET);
  w.u32(g.gas);
  w.u8(OP_GLOBAL_GET);
  w.u32(g.scratch64);
  w.op(OP_I64_LT_S, OP_IF, BT_EMPTY, OP_I32_CONST, 1, OP_GLOBAL_SET);
  w.u32(g.status);
  w.op(OP_UNREACHABLE, OP_END, OP_GLOBAL_GET);
  w.u32(g.gas);
  w.u8(OP_GLOBAL_GET);
  w.u32(g.scratch64);
  w.u8(OP_I64_SUB);
  w.u8(OP_GLOBAL_SET);
  w.u32(g.gas);
}

/**
 * Before memory.grow (operand: pages) or memory.copy / memory.fill (top
 * operand: length): park the operand in scratch32, charge
 * `pages × memoryGrowPerPage` or `ceil(length / 8) × bulkMemoryPerWord`,
 * and put the operand back.
 */
function emitDynamicCharge(w: ByteWriter, g: Injected, kind: number): void {
  w.u8(OP_GLOBAL_SET);
  w.u32(g.scratch32);
  w.u8(OP_GLOBAL_GET);
  w.u32(g.scratch32);
  w.u8(OP_I64_EXTEND_I32_U);
  if (kind === INS_GROW) {
    w.u8(OP_I64_CONST);
    w.sleb(GAS_COSTS.memoryGrowPerPage);
  } else {
    w.op(OP_I64_CONST, 7, OP_I64_ADD, OP_I64_CONST, 3, OP_I64_SHR_U, OP_I64_CONST);
    w.sleb(GAS_COSTS.bulkMemoryPerWord);
  }
  w.u8(OP_I64_MUL);
  w.u8(OP_GLOBAL_SET);
  w.u32(g.scratch64);
  emitScratchCharge(w, g);
  w.u8(OP_GLOBAL_GET);
  w.u32(g.scratch32);
}

/** `if (stack < units) { status = 2; unreachable } stack -= units` (signed), at function entry. */
function emitStackCharge(w: ByteWriter, g: Injected, units: number): void {
  w.u8(OP_GLOBAL_GET);
  w.u32(g.stack);
  w.u8(OP_I32_CONST);
  w.sleb(units);
  w.op(OP_I32_LT_S, OP_IF, BT_EMPTY, OP_I32_CONST, 2, OP_GLOBAL_SET);
  w.u32(g.status);
  w.op(OP_UNREACHABLE, OP_END, OP_GLOBAL_GET);
  w.u32(g.stack);
  w.u8(OP_I32_CONST);
  w.sleb(units);
  w.u8(OP_I32_SUB);
  w.u8(OP_GLOBAL_SET);
  w.u32(g.stack);
}

/** The frame cost, in stack units, of each defined function (vm.md V30). */
export function frameCosts(info: ModuleInfo, plans: readonly BodyPlan[]): number[] {
  return plans.map((p, i) => {
    const t = info.types[info.funcTypes[info.importedFuncs + i]!]!;
    const locals = p.declaredLocals + (p.hasCalls ? 1 : 0);
    return frameUnits(t.params.length, t.results.length, locals, p.maxHeight);
  });
}

function emitBody(w: ByteWriter, info: ModuleInfo, plan: BodyPlan, funcIndex: number, frame: number, g: Injected) {
  const bytes = info.bytes;
  const type = info.types[info.funcTypes[funcIndex]!]!;
  const saveLocal = type.params.length + plan.declaredLocals;
  w.u32(plan.localDecls + (plan.hasCalls ? 1 : 0));
  w.copy(bytes, plan.declStart, plan.codeStart);
  if (plan.hasCalls) w.op(1, I32);
  emitStackCharge(w, g, frame);
  let cursor = plan.codeStart;
  for (let k = 0; k < plan.insPos.length; k++) {
    const pos = plan.insPos[k]!;
    w.copy(bytes, cursor, pos);
    cursor = pos;
    const kind = plan.insKind[k]!;
    if (kind === INS_SEGMENT) emitStaticCharge(w, g, plan.insArg[k]!);
    else if (kind === INS_SAVE) {
      w.u8(OP_GLOBAL_GET);
      w.u32(g.stack);
      w.u8(OP_LOCAL_SET);
      w.u32(saveLocal);
    } else if (kind === INS_RESTORE) {
      w.u8(OP_LOCAL_GET);
      w.u32(saveLocal);
      w.u8(OP_GLOBAL_SET);
      w.u32(g.stack);
    } else if (kind === INS_GROW || kind === INS_BULK) emitDynamicCharge(w, g, kind);
  }
  w.copy(bytes, cursor, plan.end);
}

/** Assembles the output module. */
/** Where a prepared module imports its memory from when `importMemory` is set (the VM's memory pool). */
export const MEMORY_IMPORT = Object.freeze({ module: "helios", name: "memory" });

/** The memory limits a prepared module declares: its initial pages, and its maximum clamped to the limit. */
export function memoryLimits(info: ModuleInfo, maxMemoryPages: number): { initial: number; maximum: number } {
  const max = info.memoryMaxPages === -1 ? maxMemoryPages : Math.min(info.memoryMaxPages, maxMemoryPages);
  return { initial: info.memoryMinPages, maximum: max };
}

/**
 * Assembles the output module. With `importMemory`, the module's own memory
 * becomes an import (MEMORY_IMPORT) with the same limits, so the host can
 * hand it a pooled, zeroed memory: instantiation then skips V8's memory
 * reservation, the largest part of its cost. Indices do not move: the one
 * memory is index 0 either way, and function indices count function imports only.
 */
export function writeModule(
  info: ModuleInfo,
  plans: readonly BodyPlan[],
  maxMemoryPages: number,
  importMemory = false,
): Uint8Array {
  const bytes = info.bytes;
  const base = info.globalTypes.length;
  const g: Injected = { gas: base, stack: base + 1, status: base + 2, scratch32: base + 3, scratch64: base + 4 };
  const frames = frameCosts(info, plans);
  const out = new ByteWriter(bytes.length * 2 + 256);
  out.op(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);

  const lim = memoryLimits(info, maxMemoryPages);
  for (const id of [1, 2, 3, 4, 5, 6, 7, 9, 12, 10, 11]) {
    const span = info.sections.get(id);
    const c = new ByteWriter(span === undefined ? 64 : span.end - span.start + 64);
    if (id === 2 && importMemory) {
      // the function imports as they were, then the memory
      c.u32(info.importedFuncs + 1);
      if (span !== undefined) {
        let at = span.start;
        while ((bytes[at] as number) & 0x80) at++;
        c.copy(bytes, at + 1, span.end);
      }
      c.asciiName(MEMORY_IMPORT.module);
      c.asciiName(MEMORY_IMPORT.name);
      c.op(0x02, 0x01);
      c.u32(lim.initial);
      c.u32(lim.maximum);
    } else if (id === 5) {
      if (importMemory) continue;
      // The one memory, with its maximum clamped to the limit so that growing past it returns -1.
      c.op(1, 0x01);
      c.u32(lim.initial);
      c.u32(lim.maximum);
    } else if (id === 6) {
      c.u32(info.globalCount + 5);
      if (info.globalEntries !== undefined) c.copy(bytes, info.globalEntries.start, info.globalEntries.end);
      for (const t of [I64, I32, I32, I32, I64]) c.op(t, 0x01, t === I64 ? 0x42 : 0x41, 0x00, OP_END);
    } else if (id === 7) {
      c.u32(info.exportCount + 3);
      c.copy(bytes, info.exportEntries.start, info.exportEntries.end);
      for (const [name, index] of [
        [GAS_GLOBAL, g.gas],
        [STACK_GLOBAL, g.stack],
        [STATUS_GLOBAL, g.status],
      ] as const) {
        c.asciiName(name);
        c.u8(0x03);
        c.u32(index);
      }
    } else if (id === 10) {
      if (span === undefined) continue;
      c.u32(plans.length);
      for (let i = 0; i < plans.length; i++) {
        const body = new ByteWriter(plans[i]!.end - plans[i]!.declStart + 256);
        emitBody(body, info, plans[i]!, info.importedFuncs + i, frames[i]!, g);
        if (body.len > ENGINE_LIMITS.functionBytes) {
          reject("limit", plans[i]!.declStart, `function ${info.importedFuncs + i} is too large once instrumented`);
        }
        c.u32(body.len);
        c.append(body);
      }
    } else {
      if (span === undefined) continue;
      c.copy(bytes, span.start, span.end);
    }
    out.section(id, c);
  }
  return out.toBytes();
}
