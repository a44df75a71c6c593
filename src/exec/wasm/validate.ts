/**
 * exec/wasm/validate — type-checks one function body of the Helios subset
 * and plans its instrumentation (docs/spec/vm.md §2–§4).
 *
 * Purpose: walk the instructions once with the core spec's validation
 * algorithm (an operand stack of types and a stack of control frames), reject
 * everything outside the subset, and record:
 * - the metered segments: a segment starts at function entry and right after
 *   every control instruction; its cost is the sum of the cost table over
 *   its instructions (the closing control instruction included);
 * - the call sites (the stack-unit counter is saved before and restored after);
 * - memory.grow, memory.copy and memory.fill (their dynamic charge goes right
 *   before them);
 * - the largest operand-stack height, for the frame's stack units.
 *
 * Invariants: no recursion (nesting depth only grows arrays); every count is
 * checked before it sizes anything; a body is accepted only if it is valid
 * WebAssembly, so the instrumented output is valid too (the injected code is
 * stack-neutral and uses only `if` blocks of empty type).
 * Costs: O(body bytes) time and memory.
 */

import { FC_COSTS, OPCODE_COSTS } from "./costs.js";
import {
  checkValType,
  ENGINE_LIMITS,
  type FuncType,
  hex,
  I32,
  I64,
  type ModuleInfo,
  reject,
  type Span,
  WasmReader,
} from "./parse.js";

/** Kinds of planned insertions, in the order they are emitted at one position. */
export const INS_SEGMENT = 0;
export const INS_SAVE = 1;
export const INS_RESTORE = 2;
export const INS_GROW = 3;
export const INS_BULK = 4;

export interface BodyPlan {
  /** First byte of the local declarations, after their count. */
  declStart: number;
  /** First instruction byte. */
  codeStart: number;
  /** One past the final `end`. */
  end: number;
  /** Local declarations (entries of the locals vector) and the locals they declare. */
  localDecls: number;
  declaredLocals: number;
  maxHeight: number;
  hasCalls: boolean;
  /** Insertions, ordered by position: where, what, and the segment cost for INS_SEGMENT. */
  insPos: number[];
  insKind: number[];
  insArg: number[];
}

const UNKNOWN = 0;
const K_FUNC = 0;
const K_BLOCK = 1;
const K_LOOP = 2;
const K_IF = 3;
const K_ELSE = 4;

interface Ctrl {
  kind: number;
  params: readonly number[];
  results: readonly number[];
  height: number;
  unreachable: boolean;
}

const EMPTY: readonly number[] = Object.freeze([]);
const ONE_I32: readonly number[] = Object.freeze([I32]);
const ONE_I64: readonly number[] = Object.freeze([I64]);

// Numeric signatures: [operand types..., result type]. Index by opcode.
const SIG_I32_I32 = [I32, I32];
const SIG_I32I32_I32 = [I32, I32, I32];
const SIG_I64_I32 = [I64, I32];
const SIG_I64I64_I32 = [I64, I64, I32];
const SIG_I64_I64 = [I64, I64];
const SIG_I64I64_I64 = [I64, I64, I64];
const SIG_I32_I64 = [I32, I64];
const NUMERIC: (number[] | undefined)[] = buildNumeric();

function buildNumeric(): (number[] | undefined)[] {
  const t: (number[] | undefined)[] = new Array(256).fill(undefined);
  const set = (from: number, to: number, sig: number[]) => {
    for (let op = from; op <= to; op++) t[op] = sig;
  };
  set(0x45, 0x45, SIG_I32_I32); // i32.eqz
  set(0x46, 0x4f, SIG_I32I32_I32); // i32 comparisons
  set(0x50, 0x50, SIG_I64_I32); // i64.eqz
  set(0x51, 0x5a, SIG_I64I64_I32); // i64 comparisons
  set(0x67, 0x69, SIG_I32_I32); // i32.clz ctz popcnt
  set(0x6a, 0x78, SIG_I32I32_I32); // i32 binary
  set(0x79, 0x7b, SIG_I64_I64); // i64.clz ctz popcnt
  set(0x7c, 0x8a, SIG_I64I64_I64); // i64 binary
  set(0xa7, 0xa7, SIG_I64_I32); // i32.wrap_i64
  set(0xac, 0xad, SIG_I32_I64); // i64.extend_i32_s/u
  set(0xc0, 0xc1, SIG_I32_I32); // i32.extend8_s extend16_s
  set(0xc2, 0xc4, SIG_I64_I64); // i64.extend8_s extend16_s extend32_s
  return t;
}

// Loads and stores: opcode, value type, natural alignment (log2).
const MEMORY_OPS: readonly (readonly [number, number, number])[] = [
  [0x28, I32, 2], // i32.load
  [0x29, I64, 3], // i64.load
  [0x2c, I32, 0], // i32.load8_s
  [0x2d, I32, 0], // i32.load8_u
  [0x2e, I32, 1], // i32.load16_s
  [0x2f, I32, 1], // i32.load16_u
  [0x30, I64, 0], // i64.load8_s
  [0x31, I64, 0], // i64.load8_u
  [0x32, I64, 1], // i64.load16_s
  [0x33, I64, 1], // i64.load16_u
  [0x34, I64, 2], // i64.load32_s
  [0x35, I64, 2], // i64.load32_u
  [0x36, I32, 2], // i32.store
  [0x37, I64, 3], // i64.store
  [0x3a, I32, 0], // i32.store8
  [0x3b, I32, 1], // i32.store16
  [0x3c, I64, 0], // i64.store8
  [0x3d, I64, 1], // i64.store16
  [0x3e, I64, 2], // i64.store32
];
/** Value type of each load or store opcode (0 for other opcodes), and its natural alignment. */
const MEM_TYPE = new Uint8Array(256);
const MEM_ALIGN = new Uint8Array(256);
for (const [op, type, align] of MEMORY_OPS) {
  MEM_TYPE[op] = type;
  MEM_ALIGN[op] = align;
}

function isFloatOpcode(op: number): boolean {
  return (
    op === 0x2a ||
    op === 0x2b ||
    op === 0x38 ||
    op === 0x39 ||
    op === 0x43 ||
    op === 0x44 ||
    (op >= 0x5b && op <= 0x66) ||
    (op >= 0x8b && op <= 0xa6) ||
    (op >= 0xa8 && op <= 0xab) ||
    (op >= 0xae && op <= 0xbf)
  );
}

function unsupportedName(op: number): string | undefined {
  if ((op >= 0x06 && op <= 0x0a) || op === 0x18 || op === 0x19 || op === 0x1f) return "exception handling";
  if (op === 0x12 || op === 0x13 || op === 0x15) return "tail calls";
  if (op === 0x14 || (op >= 0xd0 && op <= 0xd6) || op === 0x1c || op === 0x25 || op === 0x26) {
    return "reference types";
  }
  if (op === 0xfb) return "garbage collection";
  return undefined;
}

/** Validates the body of defined function `funcIndex` and returns its instrumentation plan. */
export function validateBody(info: ModuleInfo, funcIndex: number, body: Span, maxLocals: number): BodyPlan {
  const bytes = info.bytes;
  const types = info.types;
  const type = types[info.funcTypes[funcIndex]!]!;
  const r = new WasmReader(bytes, body.start, body.end);

  // Locals: params first, then the declared runs.
  if (type.params.length > maxLocals) {
    reject("too-many-locals", body.start, `function ${funcIndex} has more than ${maxLocals} parameters`);
  }
  const localDecls = r.count(2);
  const declStart = r.pos;
  let total = type.params.length;
  for (let i = 0; i < localDecls; i++) {
    const at = r.pos;
    const n = r.u32();
    checkValType(r.u8(), r.pos - 1);
    if (n > maxLocals - total) {
      reject("too-many-locals", at, `function ${funcIndex} has more than ${maxLocals} locals (params included)`);
    }
    total += n;
  }
  const localTypes = new Uint8Array(total);
  localTypes.set(type.params);
  {
    const d = new WasmReader(bytes, declStart, r.pos);
    let k = type.params.length;
    for (let i = 0; i < localDecls; i++) {
      const n = d.u32();
      const t = d.u8();
      localTypes.fill(t, k, k + n);
      k += n;
    }
  }

  const plan: BodyPlan = {
    declStart,
    codeStart: r.pos,
    end: body.end,
    localDecls,
    declaredLocals: total - type.params.length,
    maxHeight: 0,
    hasCalls: false,
    insPos: [],
    insKind: [],
    insArg: [],
  };
  const insPos = plan.insPos;
  const insKind = plan.insKind;
  const insArg = plan.insArg;
  const addIns = (pos: number, kind: number): number => {
    insPos.push(pos);
    insKind.push(kind);
    insArg.push(0);
    return insPos.length - 1;
  };

  const vals: number[] = [];
  const ctrls: Ctrl[] = [];
  let maxHeight = 0;
  let instrAt = r.pos;

  const push = (t: number) => {
    vals.push(t);
    if (vals.length > maxHeight) maxHeight = vals.length;
  };
  const pop = (): number => {
    const f = ctrls[ctrls.length - 1]!;
    if (vals.length === f.height) {
      if (f.unreachable) return UNKNOWN;
      return reject("type-mismatch", instrAt, `operand stack underflow in function ${funcIndex}`);
    }
    return vals.pop()!;
  };
  const popExpect = (t: number): number => {
    const a = pop();
    if (a !== t && a !== UNKNOWN && t !== UNKNOWN) {
      reject("type-mismatch", instrAt, `expected ${typeName(t)}, found ${typeName(a)} in function ${funcIndex}`);
    }
    return a === UNKNOWN ? t : a;
  };
  const popVals = (ts: readonly number[]): number[] => {
    const out = new Array<number>(ts.length);
    for (let i = ts.length - 1; i >= 0; i--) out[i] = popExpect(ts[i]!);
    return out;
  };
  const pushVals = (ts: readonly number[]) => {
    for (const t of ts) push(t);
  };
  const pushCtrl = (kind: number, params: readonly number[], results: readonly number[]) => {
    ctrls.push({ kind, params, results, height: vals.length, unreachable: false });
    pushVals(params);
  };
  const setUnreachable = () => {
    const f = ctrls[ctrls.length - 1]!;
    vals.length = f.height;
    f.unreachable = true;
  };
  const label = (depth: number): readonly number[] => {
    if (depth >= ctrls.length) reject("index", instrAt, `branch depth ${depth} out of range`);
    const f = ctrls[ctrls.length - 1 - depth]!;
    return f.kind === K_LOOP ? f.params : f.results;
  };
  const blockType = (): FuncType | { params: readonly number[]; results: readonly number[] } => {
    const at = r.pos;
    const b = r.u8();
    if (b === 0x40) return { params: EMPTY, results: EMPTY };
    if (b === I32) return { params: EMPTY, results: ONE_I32 };
    if (b === I64) return { params: EMPTY, results: ONE_I64 };
    if ((b & 0xc0) === 0x40) checkValType(b, at); // another one-byte negative: a value type outside the subset
    // A type index as a non-negative s33.
    r.pos = at;
    let idx = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      const c = r.u8();
      if (i === 4 && c > 0x0f) reject("malformed", at, "block type index overflows");
      idx += (c & 0x7f) * mul;
      mul *= 128;
      if ((c & 0x80) === 0) {
        if (c & 0x40) reject("malformed", at, "negative block type");
        break;
      }
      if (i === 4) reject("malformed", at, "block type longer than 5 bytes");
    }
    const t = types[idx];
    if (t === undefined) return reject("index", at, `block type index ${idx} out of range`);
    return t;
  };
  const memarg = (op: number) => {
    const at = r.pos;
    const align = r.u32();
    r.u32(); // offset
    if (align > MEM_ALIGN[op]!) reject("invalid", at, `alignment 2^${align} exceeds the natural alignment`);
  };
  const zeroByte = (what: string) => {
    const at = r.pos;
    if (r.u8() !== 0x00)
      reject("unsupported", at, `${what}: only memory 0 or table 0 (multi-memory / reference types)`);
  };

  ctrls.push({ kind: K_FUNC, params: EMPTY, results: type.results, height: 0, unreachable: false });
  let segIdx = addIns(plan.codeStart, INS_SEGMENT);
  let segCost = 0;
  let segDead = false;
  let done = false;

  while (!done) {
    if (r.pos >= r.end) reject("truncated", r.pos, `function ${funcIndex} body ends before its final end`);
    instrAt = r.pos;
    const op = r.u8();
    let control = false;
    segCost += OPCODE_COSTS[op]!;

    const sig = NUMERIC[op];
    if (sig !== undefined) {
      if (sig.length === 2) {
        popExpect(sig[0]!);
        push(sig[1]!);
      } else {
        popExpect(sig[1]!);
        popExpect(sig[0]!);
        push(sig[2]!);
      }
      continue;
    }
    const memType = MEM_TYPE[op]!;
    if (memType !== 0) {
      memarg(op);
      if (op <= 0x35) {
        popExpect(I32);
        push(memType);
      } else {
        popExpect(memType);
        popExpect(I32);
      }
      continue;
    }

    switch (op) {
      case 0x00: // unreachable
        setUnreachable();
        control = true;
        break;
      case 0x01: // nop
        break;
      case 0x02: // block
      case 0x03: {
        // loop
        const bt = blockType();
        popVals(bt.params);
        pushCtrl(op === 0x02 ? K_BLOCK : K_LOOP, bt.params, bt.results);
        control = true;
        break;
      }
      case 0x04: {
        // if
        const bt = blockType();
        popExpect(I32);
        popVals(bt.params);
        pushCtrl(K_IF, bt.params, bt.results);
        control = true;
        break;
      }
      case 0x05: {
        // else
        const f = ctrls[ctrls.length - 1]!;
        if (f.kind !== K_IF) reject("invalid", instrAt, "else without a matching if");
        popVals(f.results);
        if (vals.length !== f.height) reject("type-mismatch", instrAt, "values left on the stack at else");
        f.kind = K_ELSE;
        f.unreachable = false;
        pushVals(f.params);
        control = true;
        break;
      }
      case 0x0b: {
        // end
        const f = ctrls[ctrls.length - 1]!;
        popVals(f.results);
        if (vals.length !== f.height) reject("type-mismatch", instrAt, "values left on the stack at end");
        if (f.kind === K_IF && !sameTypes(f.params, f.results)) {
          reject("type-mismatch", instrAt, "if without else must leave its parameters as its results");
        }
        ctrls.pop();
        if (ctrls.length === 0) {
          if (r.pos !== r.end) reject("malformed", r.pos, `function ${funcIndex} has bytes after its final end`);
          done = true;
        } else {
          pushVals(f.results);
        }
        control = true;
        break;
      }
      case 0x0c: {
        // br
        const l = label(r.u32());
        popVals(l);
        setUnreachable();
        control = true;
        break;
      }
      case 0x0d: {
        // br_if
        const l = label(r.u32());
        popExpect(I32);
        pushVals(popVals(l));
        control = true;
        break;
      }
      case 0x0e: {
        // br_table
        const n = r.count(1);
        if (n > ENGINE_LIMITS.brTableTargets) reject("limit", instrAt, "br_table with too many targets");
        const depths: number[] = [];
        for (let i = 0; i <= n; i++) depths.push(r.u32());
        popExpect(I32);
        const def = label(depths[n]!);
        for (let i = 0; i < n; i++) {
          const l = label(depths[i]!);
          if (l.length !== def.length) reject("type-mismatch", instrAt, "br_table targets of different arity");
          pushVals(popVals(l));
        }
        popVals(def);
        setUnreachable();
        control = true;
        break;
      }
      case 0x0f: // return
        popVals(type.results);
        setUnreachable();
        control = true;
        break;
      case 0x10: {
        // call
        const at = r.pos;
        const f = r.u32();
        const ft = info.funcTypes[f];
        if (ft === undefined) reject("index", at, `call of function ${f} out of range`);
        const t = types[ft]!;
        addIns(instrAt, INS_SAVE);
        popVals(t.params);
        pushVals(t.results);
        plan.hasCalls = true;
        addIns(r.pos, INS_RESTORE);
        control = true;
        break;
      }
      case 0x11: {
        // call_indirect
        const at = r.pos;
        const ti = r.u32();
        const t = types[ti];
        if (t === undefined) return reject("index", at, `call_indirect type ${ti} out of range`);
        zeroByte("call_indirect");
        if (!info.hasTable) reject("index", at, "call_indirect without a table");
        addIns(instrAt, INS_SAVE);
        popExpect(I32);
        popVals(t.params);
        pushVals(t.results);
        plan.hasCalls = true;
        addIns(r.pos, INS_RESTORE);
        control = true;
        break;
      }
      case 0x1a: // drop
        pop();
        break;
      case 0x1b: {
        // select
        popExpect(I32);
        const t1 = pop();
        const t2 = pop();
        if (t1 !== t2 && t1 !== UNKNOWN && t2 !== UNKNOWN)
          reject("type-mismatch", instrAt, "select of different types");
        push(t1 === UNKNOWN ? t2 : t1);
        break;
      }
      case 0x20:
      case 0x21:
      case 0x22: {
        // local.get / local.set / local.tee
        const at = r.pos;
        const x = r.u32();
        const t = localTypes[x];
        if (t === undefined) return reject("index", at, `local ${x} out of range`);
        if (op === 0x20) push(t);
        else if (op === 0x21) popExpect(t);
        else push(popExpect(t));
        break;
      }
      case 0x23:
      case 0x24: {
        // global.get / global.set
        const at = r.pos;
        const x = r.u32();
        const t = info.globalTypes[x];
        if (t === undefined) return reject("index", at, `global ${x} out of range`);
        if (op === 0x23) push(t);
        else {
          if (!info.globalMutable[x]) reject("invalid", at, `global.set of immutable global ${x}`);
          popExpect(t);
        }
        break;
      }
      case 0x3f: // memory.size
        zeroByte("memory.size");
        push(I32);
        break;
      case 0x40: // memory.grow
        zeroByte("memory.grow");
        addIns(instrAt, INS_GROW);
        popExpect(I32);
        push(I32);
        break;
      case 0x41:
        r.s32();
        push(I32);
        break;
      case 0x42:
        r.s64();
        push(I64);
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) reject("float", instrAt, "saturating float-to-int truncation (0xfc 0-7)");
        const cost = FC_COSTS[sub];
        if (cost === undefined) {
          const what = sub === 8 || sub === 9 ? "memory.init / data.drop" : "table operations (0xfc 12-17)";
          reject("unsupported", instrAt, `${sub <= 17 ? what : `opcode 0xfc ${sub}`} not in the subset`);
        }
        segCost += cost;
        zeroByte(sub === 10 ? "memory.copy" : "memory.fill");
        if (sub === 10) zeroByte("memory.copy");
        addIns(instrAt, INS_BULK);
        popExpect(I32);
        popExpect(I32);
        popExpect(I32);
        break;
      }
      case 0xfd:
        reject("simd", instrAt, "SIMD instruction (0xfd prefix)");
        break;
      case 0xfe:
        reject("threads", instrAt, "atomic instruction (0xfe prefix)");
        break;
      default: {
        if (isFloatOpcode(op)) reject("float", instrAt, `floating-point instruction 0x${hex(op)}`);
        const what = unsupportedName(op);
        reject("unsupported", instrAt, `${what === undefined ? "unknown" : what} opcode 0x${hex(op)}`);
      }
    }

    if (control) {
      // A segment that starts in unreachable code never runs: it needs no charge.
      insArg[segIdx] = segDead ? 0 : segCost;
      segCost = 0;
      if (!done) {
        segIdx = addIns(r.pos, INS_SEGMENT);
        segDead = ctrls[ctrls.length - 1]!.unreachable;
      }
    }
  }

  plan.maxHeight = maxHeight;
  return plan;
}

function sameTypes(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function typeName(t: number): string {
  return t === I32 ? "i32" : t === I64 ? "i64" : "nothing";
}
