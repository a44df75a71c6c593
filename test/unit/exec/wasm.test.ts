/**
 * The WASM validator and instrumenter (src/exec/wasm, docs/spec/vm.md).
 * Tests cite the spec's requirement numbers (V<n>). Modules are hand-assembled
 * with the small encoder below (exact byte control, flat code that no text
 * parser has to nest) or written in WAT and assembled by binaryen.
 *
 * Run with HELIOS_WASM_STACK_PROBE=1 (and V8 flags), this file prints the stack
 * units each frame shape consumes before V8's own stack overflows, instead of
 * registering tests; the stack tests run it in child processes.
 * Fuzz runs: HELIOS_PROPERTY_RUNS (default 1000); replay with HELIOS_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import fc from "fast-check";
import { isHeliosError } from "../../../src/core/errors.js";
import {
  frameUnits,
  GAS_COSTS,
  GAS_GLOBAL,
  HOST_FUNCTION_TYPES,
  type HostTypes,
  prepareModule,
  STACK_GLOBAL,
  STACK_UNIT_BYTES,
  STATUS_GLOBAL,
  STATUS_NONE,
  STATUS_OUT_OF_GAS,
  STATUS_STACK_OVERFLOW,
  type WasmRejectReason,
} from "../../../src/exec/wasm/index.js";
import { DEFAULT_VM_LIMITS, type VmLimits } from "../../../src/exec/types.js";
import { fcParams } from "../../support/model.js";

/**
 * The instrumenter's tests import their own probe functions, so they run it
 * with this host table; the Helios ABI's own table is tested in vm.test.ts.
 */
const TEST_HOST: HostTypes = {
  ...HOST_FUNCTION_TYPES,
  charge: { params: ["i32"], results: [] },
  peek: { params: [], results: [] },
  probe: { params: [], results: [] },
  anything: { params: [], results: [] },
  h: { params: ["i32"], results: ["i32"] },
  read: { params: ["i32"], results: ["i32"] },
};
const prepare = (bytes: Uint8Array, limits: VmLimits = DEFAULT_VM_LIMITS): Uint8Array =>
  prepareModule(bytes, limits, TEST_HOST);

// ---------------------------------------------------------------- encoder

const I32 = 0x7f;
const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const EMPTY_BT = 0x40;

const OP = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  call_indirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  i32_load: 0x28,
  i64_load: 0x29,
  i32_store: 0x36,
  memory_size: 0x3f,
  memory_grow: 0x40,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_u: 0x6e,
  i64_add: 0x7c,
  i64_rem_s: 0x81,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_u: 0xad,
} as const;

function u32(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const i32c = (n: number) => [OP.i32_const, ...sleb(n)];
const i64c = (n: number | bigint) => [OP.i64_const, ...sleb(n)];
const str = (s: string) => {
  const b = [...Buffer.from(s, "utf8")];
  return [...u32(b.length), ...b];
};
const concat = (...parts: readonly (readonly number[])[]): number[] => {
  const out: number[] = [];
  for (const p of parts) for (const b of p) out.push(b);
  return out;
};
const vec = (items: number[][]) => concat(u32(items.length), ...items);
const section = (id: number, content: number[]) => concat([id], u32(content.length), content);
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const functype = (params: number[], results: number[]) => [
  0x60,
  ...vec(params.map((p) => [p])),
  ...vec(results.map((r) => [r])),
];

interface Fn {
  params?: number[];
  results?: number[];
  locals?: [number, number][];
  /** Instructions without the final `end` (added here). */
  body: number[];
  export?: string;
}

interface Spec {
  funcs?: Fn[];
  /** Function imports, before the defined functions. */
  imports?: { module: string; name: string; params?: number[]; results?: number[] }[];
  /** Raw extra import entries (tables, memories, globals). */
  rawImports?: number[][];
  /** Extra types after the functions' own (for block types); their indices follow the functions'. */
  extraTypes?: [number[], number[]][];
  /** Raw memory limits; null for no memory section. Default: one page, no maximum. */
  memory?: number[] | null;
  /** The memory's export name; null for none. */
  memoryExport?: string | null;
  globals?: number[][];
  table?: number[];
  elements?: number[][];
  data?: number[][];
  rawExports?: number[][];
  start?: number;
  /** Raw sections appended at the end, after the data section. */
  trailing?: number[];
}

function build(spec: Spec): Uint8Array {
  const imports = spec.imports ?? [];
  const funcs = spec.funcs ?? [];
  const types = [
    ...imports.map((i) => functype(i.params ?? [], i.results ?? [])),
    ...funcs.map((f) => functype(f.params ?? [], f.results ?? [])),
    ...(spec.extraTypes ?? []).map(([p, r]) => functype(p, r)),
  ];
  const out: number[] = [];
  // Appends without spreading, so that huge test bodies do not overflow the JS stack.
  const add = (bytes: readonly number[]) => {
    for (const b of bytes) out.push(b);
  };
  add(HEADER);
  add(section(1, vec(types)));
  const importEntries = [
    ...imports.map((imp, i) => [...str(imp.module), ...str(imp.name), 0x00, ...u32(i)]),
    ...(spec.rawImports ?? []),
  ];
  if (importEntries.length > 0) add(section(2, vec(importEntries)));
  add(section(3, vec(funcs.map((_, i) => u32(imports.length + i)))));
  if (spec.table !== undefined) add(section(4, vec([spec.table])));
  const memory = spec.memory === undefined ? [0x00, 0x01] : spec.memory;
  if (memory !== null) add(section(5, vec([memory])));
  if (spec.globals !== undefined) add(section(6, vec(spec.globals)));
  const exports: number[][] = [];
  const memoryExport = spec.memoryExport === undefined ? "memory" : spec.memoryExport;
  if (memory !== null && memoryExport !== null) exports.push([...str(memoryExport), 0x02, 0x00]);
  funcs.forEach((f, i) => {
    if (f.export !== undefined) exports.push([...str(f.export), 0x00, ...u32(imports.length + i)]);
  });
  exports.push(...(spec.rawExports ?? []));
  add(section(7, vec(exports)));
  if (spec.start !== undefined) add(section(8, u32(spec.start)));
  if (spec.elements !== undefined) add(section(9, vec(spec.elements)));
  const bodies = funcs.map((f) => {
    const content = [...vec((f.locals ?? []).map(([n, t]) => [...u32(n), t])), ...f.body, OP.end];
    return [...u32(content.length), ...content];
  });
  add(section(10, vec(bodies)));
  if (spec.data !== undefined) add(section(11, vec(spec.data)));
  if (spec.trailing !== undefined) add(spec.trailing);
  return Uint8Array.from(out);
}

/** One exported function `f` of the given shape, in a module with a memory. */
const one = (body: number[], fn: Omit<Fn, "body"> = {}, rest: Spec = {}) =>
  build({ ...rest, funcs: [{ export: "f", ...fn, body }, ...(rest.funcs ?? [])] });

const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.Multivalue;

function wat(text: string): Uint8Array {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(FEATURES);
    assert.ok(m.validate(), "test module must be valid");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

// ---------------------------------------------------------------- running

type Exports = Record<string, unknown>;

function load(bytes: Uint8Array, imports: WebAssembly.Imports = {}, limits?: VmLimits): Exports {
  const out = prepare(bytes, limits);
  return new WebAssembly.Instance(new WebAssembly.Module(out), imports).exports as Exports;
}

const g = (ex: Exports, name: string) => ex[name] as WebAssembly.Global;

interface Run {
  value: unknown;
  error: unknown;
  gasLeft: bigint;
  stackLeft: number;
  status: number;
}

/** Calls export `name` the way the host does: set gas, stack units and status, call, read them back. */
function run(ex: Exports, name: string, args: unknown[], gas: bigint, stack = DEFAULT_VM_LIMITS.maxStackUnits): Run {
  g(ex, GAS_GLOBAL).value = gas;
  g(ex, STACK_GLOBAL).value = stack;
  g(ex, STATUS_GLOBAL).value = STATUS_NONE;
  let value: unknown;
  let error: unknown;
  try {
    value = (ex[name] as (...a: unknown[]) => unknown)(...args);
  } catch (e) {
    error = e;
  }
  return {
    value,
    error,
    gasLeft: g(ex, GAS_GLOBAL).value as bigint,
    stackLeft: g(ex, STACK_GLOBAL).value as number,
    status: g(ex, STATUS_GLOBAL).value as number,
  };
}

const LOTS = 1n << 60n;

function rejects(bytes: Uint8Array, reason: WasmRejectReason, limits?: VmLimits): void {
  assert.throws(
    () => prepare(bytes, limits),
    (e: unknown) => {
      assert.ok(isHeliosError(e, "VM_MODULE_INVALID"), `expected VM_MODULE_INVALID, got ${String(e)}`);
      assert.equal(e.context.reason, reason, e.message);
      return true;
    },
  );
}

// ---------------------------------------------------------------- stack shapes

interface Shape {
  name: string;
  locals: number;
  localType?: number;
  stack: number;
  params: number;
  results: number;
}

const SHAPES: Shape[] = [
  { name: "empty frame", locals: 0, stack: 0, params: 0, results: 0 },
  { name: "1000 i64 locals", locals: 1000, localType: I64, stack: 0, params: 0, results: 0 },
  { name: "1000 i32 locals", locals: 1000, localType: I32, stack: 0, params: 0, results: 0 },
  { name: "2000 operand-stack values", locals: 0, stack: 2000, params: 0, results: 0 },
  { name: "8 i64 params", locals: 0, stack: 0, params: 8, results: 0 },
  // the subset allows at most 32 parameters (the i32 counter is one) and 8 results (SUBSET_LIMITS)
  { name: "31 i64 params", locals: 0, stack: 0, params: 31, results: 0 },
  { name: "4 i64 results", locals: 0, stack: 0, params: 0, results: 4 },
  { name: "8 i64 results", locals: 0, stack: 0, params: 0, results: 8 },
  { name: "mixed 300/300/31/8", locals: 300, stack: 300, params: 31, results: 8 },
];

/**
 * f(n i32, p1..pP i64) -> (i64 × R), locals L: pushes S constants and every
 * local (so all of them are live across the call), recurses while n ≠ 0.
 */
function shapeModule(s: Shape): Uint8Array {
  const P = s.params;
  const R = s.results;
  const body: number[] = [];
  for (let i = 0; i < s.stack; i++) body.push(...i64c(i));
  for (let i = 0; i < s.locals; i++) body.push(OP.local_get, ...u32(1 + P + i));
  const bt = R === 0 ? [EMPTY_BT] : R === 1 ? [I64] : sleb(1);
  body.push(OP.local_get, 0, OP.if, ...bt);
  body.push(OP.local_get, 0, ...i32c(1), OP.i32_sub);
  for (let i = 0; i < P; i++) body.push(OP.local_get, ...u32(1 + i));
  body.push(OP.call, 0, OP.else);
  for (let i = 0; i < R; i++) body.push(...i64c(0));
  body.push(OP.end);
  for (let i = 0; i < R + s.stack + s.locals; i++) body.push(OP.drop);
  for (let i = 0; i < R; i++) body.push(...i64c(0));
  const locals: [number, number][] = s.locals > 0 ? [[s.locals, s.localType ?? I64]] : [];
  return build({
    funcs: [{ export: "f", params: [I32, ...new Array(P).fill(I64)], results: new Array(R).fill(I64), locals, body }],
    extraTypes: [[[], new Array(R).fill(I64)]],
  });
}

const PROBE_LIMITS: VmLimits = { ...DEFAULT_VM_LIMITS, maxLocals: 4096 };
const UNITS_UNLIMITED = 0x7fff_ffff;

/** Stack units a shape consumes before V8's own stack overflows (the recursion never ends by itself). */
function unitsAtEngineOverflow(s: Shape): { units: number; error: string } {
  const ex = load(shapeModule(s), {}, PROBE_LIMITS);
  const args = [1e9, ...new Array(s.params).fill(0n)];
  let r = run(ex, "f", args, LOTS, UNITS_UNLIMITED);
  r = run(ex, "f", args, LOTS, UNITS_UNLIMITED); // a second, warmer run
  return { units: UNITS_UNLIMITED - r.stackLeft, error: (r.error as Error).constructor.name };
}

if (process.env.HELIOS_WASM_STACK_PROBE === "1") {
  process.stdout.write(`${JSON.stringify(SHAPES.map((s) => unitsAtEngineOverflow(s).units))}\n`);
} else {
  registerTests();
}

function registerTests(): void {
  // ------------------------------------------------------------ gas (V21–V29)

  test("V24: straight-line code costs exactly its cost table sum, charged once up front", () => {
    const body = [
      ...i32c(0),
      ...i32c(6),
      ...i32c(7),
      OP.i32_mul,
      OP.i32_store,
      2,
      0,
      ...i32c(0),
      OP.i64_load,
      3,
      0,
      ...i64c(5),
      OP.i64_rem_s,
      OP.i32_wrap_i64,
      ...i32c(3),
      OP.i32_div_u,
      OP.global_get,
      0,
      OP.i32_add,
    ];
    const expected = 9 * GAS_COSTS.simple + GAS_COSTS.mul + GAS_COSTS.store + GAS_COSTS.load + 2 * GAS_COSTS.divRem;
    const ex = load(one(body, { results: [I32] }, { globals: [[I32, 0x00, ...i32c(100), OP.end]] }));
    const ok = run(ex, "f", [], BigInt(expected));
    assert.equal(ok.error, undefined);
    assert.equal(ok.value, 100);
    assert.equal(ok.gasLeft, 0n);
    assert.equal(ok.status, STATUS_NONE);
    const short = run(ex, "f", [], BigInt(expected - 1));
    assert.ok(short.error instanceof WebAssembly.RuntimeError);
    assert.equal(short.status, STATUS_OUT_OF_GAS);
    assert.equal(short.gasLeft, BigInt(expected - 1), "nothing is charged when the check fails");
  });

  test("V22/V24: a loop of N iterations costs N × its body segment; if/else charges the path taken", () => {
    const loopBody = [OP.loop, EMPTY_BT, OP.local_get, 0, ...i32c(1), OP.i32_sub, OP.local_tee, 0, OP.br_if, 0, OP.end];
    const ex = load(one(loopBody, { params: [I32] }));
    const perIteration = 4 * GAS_COSTS.simple + GAS_COSTS.branch;
    for (const n of [1, 2, 10, 1000]) {
      const r = run(ex, "f", [n], LOTS);
      assert.equal(r.error, undefined);
      assert.equal(LOTS - r.gasLeft, BigInt(n * perIteration), `n = ${n}`);
    }
    const ifElse = [OP.local_get, 0, OP.if, I32, ...i32c(1), OP.else, ...i32c(2), ...i32c(3), OP.i32_add, OP.end];
    const ex2 = load(one(ifElse, { params: [I32], results: [I32] }));
    const head = GAS_COSTS.simple + GAS_COSTS.branch;
    assert.equal(LOTS - run(ex2, "f", [1], LOTS).gasLeft, BigInt(head + GAS_COSTS.simple));
    assert.equal(LOTS - run(ex2, "f", [0], LOTS).gasLeft, BigInt(head + 3 * GAS_COSTS.simple));
  });

  test("V22: an infinite loop runs out of gas (status 1)", () => {
    const ex = load(one([OP.loop, EMPTY_BT, OP.br, 0, OP.end]));
    for (const gas of [0n, 1n, 12_345n, 1_000_000n]) {
      const r = run(ex, "f", [], gas);
      assert.ok(r.error instanceof WebAssembly.RuntimeError);
      assert.equal(r.status, STATUS_OUT_OF_GAS);
      assert.ok(r.gasLeft < BigInt(GAS_COSTS.branch));
    }
  });

  test("V24: calls cost `call` plus the callee's own segments", () => {
    const ex = load(
      build({
        funcs: [
          { export: "f", results: [I32], body: [...i32c(5), OP.call, 1] },
          { params: [I32], results: [I32], body: [OP.local_get, 0, OP.local_get, 0, OP.i32_mul] },
        ],
      }),
    );
    const r = run(ex, "f", [], LOTS);
    assert.equal(r.value, 25);
    assert.equal(LOTS - r.gasLeft, BigInt(GAS_COSTS.simple + GAS_COSTS.call + 2 * GAS_COSTS.simple + GAS_COSTS.mul));
  });

  test("V27/V28: memory.grow charges per page requested, memory.copy/fill per 8-byte word", () => {
    const grow = load(one([OP.local_get, 0, OP.memory_grow, 0], { params: [I32], results: [I32] }));
    for (const pages of [0, 1, 3]) {
      const r = run(grow, "f", [pages], LOTS);
      assert.equal(
        LOTS - r.gasLeft,
        BigInt(GAS_COSTS.simple + GAS_COSTS.memoryGrow + pages * GAS_COSTS.memoryGrowPerPage),
      );
    }
    // Not enough gas for the pages: out of gas, and the memory did not grow.
    const before = (grow.memory as WebAssembly.Memory).buffer.byteLength;
    const oog = run(grow, "f", [2], BigInt(GAS_COSTS.simple + GAS_COSTS.memoryGrow + GAS_COSTS.memoryGrowPerPage));
    assert.equal(oog.status, STATUS_OUT_OF_GAS);
    assert.equal((grow.memory as WebAssembly.Memory).buffer.byteLength, before);

    const fill = load(one([...i32c(0), ...i32c(9), OP.local_get, 0, 0xfc, 11, 0], { params: [I32] }));
    const copy = load(one([...i32c(100), ...i32c(0), OP.local_get, 0, 0xfc, 10, 0, 0], { params: [I32] }));
    for (const n of [0, 1, 8, 9, 4096]) {
      const words = Math.ceil(n / 8);
      const expected = 3 * GAS_COSTS.simple + GAS_COSTS.bulkMemory + words * GAS_COSTS.bulkMemoryPerWord;
      assert.equal(LOTS - run(fill, "f", [n], LOTS).gasLeft, BigInt(expected), `fill ${n}`);
      assert.equal(LOTS - run(copy, "f", [n], LOTS).gasLeft, BigInt(expected), `copy ${n}`);
    }
    assert.equal(new Uint8Array((fill.memory as WebAssembly.Memory).buffer)[4095], 9);
    // A copy that traps out of bounds is still charged first, deterministically.
    const oob = run(copy, "f", [65_536], LOTS);
    assert.ok(oob.error instanceof WebAssembly.RuntimeError);
    assert.equal(oob.status, STATUS_NONE);
    assert.equal(LOTS - oob.gasLeft, BigInt(3 * GAS_COSTS.simple + GAS_COSTS.bulkMemory + 8192));
  });

  test("V23: every gas limit from 0 to the need either completes with exactly the need or stops at a segment", () => {
    const ex = load(
      wat(`(module
        (memory (export "memory") 1)
        (type $t (func (param i32) (result i32)))
        (table 2 funcref)
        (elem (i32.const 0) $sq $inc)
        (func $sq (type $t) (i32.mul (local.get 0) (local.get 0)))
        (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
        (func (export "work") (param $n i32) (result i32) (local $acc i32)
          (block $done
            (loop $next
              (br_if $done (i32.eqz (local.get $n)))
              (local.set $acc (i32.add (local.get $acc)
                (call_indirect (type $t) (local.get $n) (i32.and (local.get $n) (i32.const 1)))))
              (block $b2 (block $b1 (block $b0
                    (br_table $b0 $b1 $b2 (i32.rem_u (local.get $n) (i32.const 3))))
                  (local.set $acc (i32.xor (local.get $acc) (i32.const 5)))
                  (br $b2))
                (local.set $acc (call $sq (local.get $acc))))
              (if (i32.and (local.get $n) (i32.const 2))
                (then (local.set $acc (i32.div_u (local.get $acc) (i32.const 3))))
                (else (drop (memory.grow (i32.const 0)))))
              (memory.fill (i32.const 0) (local.get $acc) (i32.and (local.get $n) (i32.const 63)))
              (local.set $n (i32.sub (local.get $n) (i32.const 1)))
              (br $next)))
          (local.get $acc)))`),
    );
    const full = run(ex, "work", [12], LOTS);
    assert.equal(full.error, undefined);
    const need = LOTS - full.gasLeft;
    assert.ok(need > 200n && need < 5000n, `need ${need}`);
    // consumed(g) = g − gasLeft is the charge-point prefix sum reached; it must be a step function whose
    // next step is above g, i.e. gasLeft < the cost of the segment that failed.
    const consumed: bigint[] = [];
    for (let gas = 0n; gas < need; gas++) {
      const r = run(ex, "work", [12], gas);
      assert.ok(r.error instanceof WebAssembly.RuntimeError, `gas ${gas}`);
      assert.equal(r.status, STATUS_OUT_OF_GAS, `gas ${gas}`);
      consumed.push(gas - r.gasLeft);
    }
    for (let gas = 0; gas < consumed.length; gas++) {
      const c = consumed[gas]!;
      assert.ok(gas === 0 || c >= consumed[gas - 1]!, "consumption grows with the limit");
      let next = need;
      for (let k = gas + 1; k < consumed.length; k++) {
        if (consumed[k]! > c) {
          next = consumed[k]!;
          break;
        }
      }
      const left = BigInt(gas) - c;
      assert.ok(left < next - c, `gas ${gas}: left ${left} must be below the failing charge ${next - c}`);
    }
    for (const extra of [0n, 1n, 1000n]) {
      const r = run(ex, "work", [12], need + extra);
      assert.equal(r.error, undefined);
      assert.equal(r.value, full.value);
      assert.equal(r.gasLeft, extra);
    }
  });

  test("V34/V35: host imports see the injected globals; host charges decrement gas", () => {
    let ex: Exports = {};
    const seen: number[] = [];
    const imports = {
      helios: {
        charge: (n: number) => {
          g(ex, GAS_GLOBAL).value = (g(ex, GAS_GLOBAL).value as bigint) - BigInt(n);
        },
        peek: () => {
          seen.push(g(ex, STACK_GLOBAL).value as number);
        },
      },
      env: { abort: () => assert.fail("abort") },
    };
    const bytes = build({
      imports: [
        { module: "helios", name: "charge", params: [I32] },
        { module: "helios", name: "peek" },
        { module: "env", name: "abort", params: [I32, I32, I32, I32] },
      ],
      funcs: [{ export: "f", body: [...i32c(1000), OP.call, 0, OP.call, 4] }, { body: [OP.call, 1] }],
    });
    ex = load(bytes, imports);
    const r = run(ex, "f", [], LOTS, 10_000);
    assert.equal(r.error, undefined);
    const callerGas = GAS_COSTS.simple + 2 * GAS_COSTS.call;
    assert.equal(LOTS - r.gasLeft, BigInt(1000 + callerGas + GAS_COSTS.call));
    // f's frame: no params or results, one injected local, operand height 1; g's: height 0.
    const fFrame = frameUnits(0, 0, 1, 1);
    const gFrame = frameUnits(0, 0, 1, 0);
    assert.deepEqual(seen, [10_000 - fFrame - gFrame]);
    assert.equal(r.stackLeft, 10_000 - fFrame, "callees give their units back; the entry frame's stay charged");
    // A negative counter (a host bug) stops the first call, like zero.
    const neg = run(ex, "f", [], LOTS, -1);
    assert.equal(neg.status, STATUS_STACK_OVERFLOW);
  });

  // ------------------------------------------------------------ stack (V30–V33)

  test("V31/V33: deep recursion ends in status 2, never in V8's RangeError, for every frame shape", () => {
    for (const s of SHAPES) {
      const ex = load(shapeModule(s), {}, PROBE_LIMITS);
      const r = run(ex, "f", [1e9, ...new Array(s.params).fill(0n)], LOTS);
      assert.ok(r.error instanceof WebAssembly.RuntimeError, `${s.name}: ${String(r.error)}`);
      assert.equal(r.status, STATUS_STACK_OVERFLOW, s.name);
      assert.ok(r.stackLeft >= 0 && r.stackLeft < DEFAULT_VM_LIMITS.maxStackUnits, s.name);
    }
  });

  test("V33: V8's stack holds at least twice maxStackUnits of any frame shape", () => {
    for (const s of SHAPES) {
      const { units, error } = unitsAtEngineOverflow(s);
      assert.equal(error, "RangeError", s.name);
      assert.ok(units >= 2 * DEFAULT_VM_LIMITS.maxStackUnits, `${s.name}: V8 overflowed after ${units} units`);
    }
  });

  test("V32: one stack unit costs at most STACK_UNIT_BYTES of V8 stack, in Liftoff and TurboFan frames", () => {
    // Running the probe with two stack sizes cancels what the process already uses: the extra
    // 984 KiB divided by the extra units consumed is the exact marginal cost of a unit.
    const self = fileURLToPath(import.meta.url);
    const probe = (flags: string[]): number[] =>
      JSON.parse(
        execFileSync(process.execPath, [...flags, self], {
          encoding: "utf8",
          env: { ...process.env, HELIOS_WASM_STACK_PROBE: "1" },
        }),
      );
    for (const tier of [["--liftoff-only"], ["--no-liftoff"], []]) {
      const small = probe([...tier, "--stack-size=984"]);
      const large = probe([...tier, "--stack-size=1968"]);
      SHAPES.forEach((s, i) => {
        const bytesPerUnit = (984 * 1024) / (large[i]! - small[i]!);
        assert.ok(bytesPerUnit <= STACK_UNIT_BYTES, `${tier.join(" ")} ${s.name}: ${bytesPerUnit} bytes per unit`);
      });
    }
  });

  test("V33: at the deepest point the units allow, the host still has most of V8's stack", () => {
    const jsDepth = (): number => {
      let d = 0;
      const down = (): void => {
        d++;
        down();
      };
      try {
        down();
      } catch {}
      return d;
    };
    let atBottom = 0;
    const bytes = build({
      imports: [{ module: "helios", name: "probe" }],
      funcs: [
        {
          export: "f",
          params: [I32],
          locals: [[1000, I64]],
          body: [
            OP.local_get,
            0,
            OP.if,
            EMPTY_BT,
            OP.local_get,
            0,
            ...i32c(1),
            OP.i32_sub,
            OP.call,
            1,
            OP.else,
            OP.call,
            0,
            OP.end,
          ],
        },
      ],
    });
    const probe = (): void => {
      atBottom = jsDepth();
    };
    const ex = load(bytes, { helios: { probe } });
    // The deepest recursion that fits in the default units.
    let lo = 0;
    let hi = DEFAULT_VM_LIMITS.maxStackUnits;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (run(ex, "f", [mid], LOTS).status === STATUS_NONE) lo = mid;
      else hi = mid - 1;
    }
    jsDepth();
    const atTop = jsDepth();
    assert.equal(run(ex, "f", [lo], LOTS).status, STATUS_NONE);
    assert.ok(lo > 10);
    assert.ok(atBottom / atTop > 0.6, `host headroom at the bottom: ${atBottom} of ${atTop} JS frames`);
  });

  // ------------------------------------------------------------ validation (V1–V20)

  test("V2: not a module, bad magic or version, truncation, trailing garbage", () => {
    rejects(new Uint8Array(0), "truncated");
    rejects(Uint8Array.from([0x00, 0x61, 0x73]), "truncated");
    rejects(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 1, 0, 0, 0]), "bad-header");
    rejects(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x02, 0, 0, 0]), "bad-header");
    rejects(Buffer.from("hello, this is not wasm"), "bad-header");
    const ok = one([]);
    rejects(ok.subarray(0, ok.length - 1), "truncated");
    rejects(Uint8Array.from([...ok, 0x01]), "truncated");
    rejects(Uint8Array.from([...ok, 0x0e, 0x00]), "malformed"); // unknown section id 14
  });

  test("V3: over-long or overflowing LEB128s and section size mismatches are malformed", () => {
    // A type section whose count is a 6-byte LEB.
    rejects(Uint8Array.from([...HEADER, 0x01, 0x06, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), "malformed");
    // A u32 whose 5th byte overflows 32 bits.
    rejects(Uint8Array.from([...HEADER, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x7f]), "malformed");
    // An i32.const whose 5th byte is not a sign extension.
    rejects(one([OP.i32_const, 0xff, 0xff, 0xff, 0xff, 0x4f, OP.drop]), "malformed");
    // An i64.const longer than 10 bytes.
    rejects(one([OP.i64_const, ...new Array(10).fill(0x80), 0x00, OP.drop]), "malformed");
    // A type section one byte longer than its content.
    rejects(Uint8Array.from([...HEADER, ...section(1, [...vec([functype([], [])]), 0x00])]), "malformed");
    // A name that is not UTF-8.
    rejects(one([], {}, { rawExports: [[2, 0xc3, 0x28, 0x00, 0x00]] }), "malformed");
    // Bytes after a function's final end: the code section of build({ funcs: [{ body: [] }] }) is its last
    // 6 bytes; replace the body [locals 0, end] with [locals 0, end, nop].
    const m = build({ funcs: [{ body: [] }] });
    assert.deepEqual([...m.subarray(m.length - 6)], [0x0a, 0x04, 0x01, 0x02, 0x00, OP.end]);
    rejects(
      Uint8Array.from([...m.subarray(0, m.length - 6), 0x0a, 0x05, 0x01, 0x03, 0x00, OP.end, OP.nop]),
      "malformed",
    );
  });

  test("V4: sections out of order or duplicated", () => {
    const t = section(1, vec([functype([], [])]));
    rejects(Uint8Array.from([...HEADER, ...t, ...t]), "section-order");
    rejects(Uint8Array.from([...HEADER, ...section(5, vec([[0x00, 0x01]])), ...t]), "section-order");
    // Custom sections may appear anywhere, and are dropped.
    const custom = section(0, [...str("name"), 1, 2, 3]);
    const ok = one([]);
    const out = prepare(Uint8Array.from([...ok.subarray(0, 8), ...custom, ...ok.subarray(8), ...custom]));
    assert.deepEqual(out, prepare(ok));
  });

  test("V6: floating point anywhere is rejected", () => {
    rejects(one([], { params: [F32] }), "float");
    rejects(one([], { results: [F64] }), "float");
    rejects(one([], { locals: [[1, F64]] }), "float");
    rejects(one([], {}, { globals: [[F32, 0x00, 0x43, 0, 0, 0, 0, OP.end]] }), "float");
    rejects(one([OP.block, F32, 0x43, 0, 0, 0, 0, OP.end, OP.drop]), "float"); // block type
    rejects(one([0x43, 0, 0, 0, 0, OP.drop]), "float"); // f32.const
    rejects(one([0x44, 0, 0, 0, 0, 0, 0, 0, 0, OP.drop]), "float"); // f64.const
    rejects(one([...i32c(0), 0x2a, 2, 0, OP.drop]), "float"); // f32.load
    rejects(one([...i32c(0), ...i32c(0), 0x39, 3, 0]), "float"); // f64.store (type checked after)
    rejects(one([...i32c(0), 0xbe, OP.drop]), "float"); // f32.reinterpret_i32
    rejects(one([...i64c(0), 0xb9, OP.drop]), "float"); // f64.convert_i64_s
    rejects(one([...i32c(0), 0xa8, OP.drop]), "float"); // i32.trunc_f32_s (type checked after)
    rejects(one([...i32c(0), 0xfc, 0x00, OP.drop]), "float"); // i32.trunc_sat_f32_s
    rejects(one([...i32c(0), 0xfc, 0x07, OP.drop]), "float"); // i64.trunc_sat_f64_u
    for (const op of [0x5b, 0x66, 0x8b, 0x92, 0xa6, 0xbb]) rejects(one([op]), "float");
  });

  test("V2a: a function type has at most 32 parameters and 8 results", () => {
    prepare(one([], { params: new Array(32).fill(I64) }));
    prepare(one([...new Array(8).fill([...i32c(0)]).flat()], { results: new Array(8).fill(I32) }));
    rejects(one([], { params: new Array(33).fill(I64) }), "limit");
    rejects(one([...new Array(9).fill([...i32c(0)]).flat()], { results: new Array(9).fill(I32) }), "limit");
  });

  test("V7: SIMD, threads and other proposals are rejected", () => {
    rejects(one([], { params: [V128] }), "simd");
    rejects(one([0xfd, 0x0c, ...new Array(16).fill(0), OP.drop]), "simd");
    rejects(one([...i32c(0), 0xfe, 0x10, 2, 0, OP.drop]), "threads"); // i32.atomic.load
    rejects(build({ funcs: [], memory: [0x03, 0x01, 0x01] }), "threads"); // shared memory
    rejects(one([0xd0, 0x70, OP.drop]), "unsupported"); // ref.null
    rejects(one([], { params: [0x6f] }), "unsupported"); // externref
    rejects(one([...i32c(0), ...i32c(0), ...i32c(0), OP.select + 1, 1, I32, OP.drop]), "unsupported"); // select t
    rejects(one([OP.call + 2, 0]), "unsupported"); // return_call
    rejects(one([0x06, EMPTY_BT, OP.end]), "unsupported"); // try
    rejects(one([...i32c(0), ...i32c(0), ...i32c(0), 0xfc, 8, 0, 0]), "unsupported"); // memory.init
    rejects(one([0xfc, 9, 0]), "unsupported"); // data.drop
    rejects(one([...i32c(0), ...i32c(0), ...i32c(0), 0xfc, 14, 0, 0], {}, { table: [0x70, 0, 1] }), "unsupported");
    rejects(one([...i32c(0), 0xfc, 0x0c + 4, 0, OP.drop], {}, { table: [0x70, 0, 1] }), "unsupported"); // table.grow
    rejects(one([0xff]), "unsupported");
    rejects(one([], {}, { table: [0x70, 0, 1], data: [[0x01, ...vec([[1], [2], [3]])]] }), "unsupported"); // passive data
    rejects(Uint8Array.from([...HEADER, ...section(13, [0])]), "unsupported"); // tag section
    // memory64
    rejects(build({ funcs: [], memory: [0x04, 0x01] }), "unsupported");
  });

  test("V8: imports only of functions from helios.* and env.abort", () => {
    const ok = build({
      imports: [
        { module: "helios", name: "anything" },
        { module: "env", name: "abort", params: [I32, I32, I32, I32] },
      ],
      funcs: [{ export: "f", body: [] }],
    });
    prepare(ok);
    rejects(build({ imports: [{ module: "env", name: "seed" }], funcs: [] }), "import");
    rejects(build({ imports: [{ module: "wasi_snapshot_preview1", name: "fd_write" }], funcs: [] }), "import");
    rejects(build({ rawImports: [[...str("helios"), ...str("m"), 0x02, 0x00, 0x01]], memory: null }), "import");
    rejects(build({ rawImports: [[...str("helios"), ...str("g"), 0x03, I32, 0x00]] }), "import");
    rejects(build({ rawImports: [[...str("helios"), ...str("t"), 0x01, 0x70, 0x00, 0x01]] }), "import");
  });

  test("V9: a start section is rejected", () => {
    rejects(build({ funcs: [{ body: [] }], start: 0 }), "start");
  });

  test("V10/V11: the module defines one memory, exports it as memory, within the page limit", () => {
    rejects(build({ funcs: [], memory: null }), "memory");
    rejects(build({ funcs: [], memoryExport: null }), "memory");
    rejects(build({ funcs: [], memoryExport: "mem" }), "memory");
    rejects(build({ funcs: [{ body: [], export: "memory" }], memoryExport: null }), "memory");
    rejects(build({ funcs: [], memory: [0x00, 17] }), "memory-pages");
    rejects(build({ funcs: [], memory: [0x01, 3, 2] }), "invalid"); // max below min
    prepare(build({ funcs: [], memory: [0x00, 16] }));
    prepare(build({ funcs: [], memory: [0x00, 4] }), { ...DEFAULT_VM_LIMITS, maxMemoryPages: 4 });
    rejects(build({ funcs: [], memory: [0x00, 5] }), "memory-pages", { ...DEFAULT_VM_LIMITS, maxMemoryPages: 4 });
  });

  test("V12: memory.grow beyond the limit returns -1; a smaller declared maximum is kept", () => {
    const growBody = [OP.local_get, 0, OP.memory_grow, 0];
    const unbounded = load(one(growBody, { params: [I32], results: [I32] }, { memory: [0x00, 1] }));
    assert.equal(run(unbounded, "f", [15], LOTS).value, 1);
    assert.equal(run(unbounded, "f", [1], LOTS).value, -1, "page 17 is past maxMemoryPages = 16");
    assert.equal((unbounded.memory as WebAssembly.Memory).buffer.byteLength, 16 * 65_536);
    const declared = load(one(growBody, { params: [I32], results: [I32] }, { memory: [0x01, 1, 3] }));
    assert.equal(run(declared, "f", [3], LOTS).value, -1);
    assert.equal(run(declared, "f", [2], LOTS).value, 1);
    const huge = load(one(growBody, { params: [I32], results: [I32] }, { memory: [0x01, 1, ...u32(65_536)] }));
    assert.equal(run(huge, "f", [16], LOTS).value, -1);
  });

  test("V13: exports with the reserved __helios_ prefix are rejected; a prepared module cannot be re-prepared", () => {
    rejects(build({ funcs: [{ body: [], export: "__helios_gas" }] }), "reserved-name");
    rejects(build({ funcs: [{ body: [], export: "__helios_x" }] }), "reserved-name");
    rejects(prepare(one([])), "reserved-name");
    rejects(
      build({
        funcs: [
          { body: [], export: "a" },
          { body: [], export: "a" },
        ],
      }),
      "invalid",
    );
  });

  test("V14/V15/V5: too many locals, too large a module or function", () => {
    prepare(one([], { params: [I32, I32], locals: [[1022, I64]] }));
    rejects(one([], { params: [I32, I32], locals: [[1023, I64]] }), "too-many-locals");
    rejects(one([], { locals: [[0xffff_ffff, I32]] }), "too-many-locals");
    rejects(
      one([], {
        locals: [
          [1000, I32],
          [25, I32],
        ],
      }),
      "too-many-locals",
    );
    const small = { ...DEFAULT_VM_LIMITS, maxLocals: 4 };
    rejects(one([], { params: [I32, I32, I32, I32, I32] }), "too-many-locals", small);
    // 300k calls of 2 bytes each grow past V8's 7.65 MB function size once instrumented.
    const calls = build({ funcs: [{ body: new Array(300_000).fill([OP.call, 1]).flat() }, { body: [] }] });
    rejects(calls, "limit", { ...DEFAULT_VM_LIMITS, maxModuleBytes: 1 << 21 });
    const m = one([]);
    prepare(m, { ...DEFAULT_VM_LIMITS, maxModuleBytes: m.length });
    rejects(m, "too-large", { ...DEFAULT_VM_LIMITS, maxModuleBytes: m.length - 1 });
  });

  test("V5: type errors, bad indices, bad segments and engine limits", () => {
    rejects(one([...i32c(1), ...i64c(1), OP.i32_add, OP.drop]), "type-mismatch");
    rejects(one([OP.i32_add]), "type-mismatch");
    rejects(one([...i32c(1)]), "type-mismatch"); // a value left at the end of a [] -> [] function
    rejects(one([], { results: [I32] }), "type-mismatch");
    rejects(one([...i32c(1), OP.if, I32, ...i32c(2), OP.end, OP.drop]), "type-mismatch"); // if without else
    rejects(one([OP.call, 9]), "index");
    rejects(one([OP.local_get, 0, OP.drop]), "index");
    rejects(one([OP.global_get, 0, OP.drop]), "index");
    rejects(one([OP.br, 1]), "index");
    rejects(one([...i32c(0), OP.call_indirect, 0, 0]), "index"); // no table
    rejects(one([...i32c(1), OP.global_set, 0], {}, { globals: [[I32, 0x00, ...i32c(0), OP.end]] }), "invalid");
    rejects(one([...i32c(0), OP.i32_load, 3, 0, OP.drop]), "invalid"); // alignment above natural
    rejects(one([OP.else]), "invalid");
    rejects(
      one([], {}, { data: [[0x00, ...i32c(65_530), OP.end, ...vec([[1], [2], [3], [4], [5], [6], [7]])]] }),
      "segment",
    );
    rejects(one([], {}, { table: [0x70, 0x00, 1], elements: [[0x00, ...i32c(1), OP.end, ...vec([[0]])]] }), "segment");
    rejects(one([], {}, { table: [0x70, 0x00, ...u32(70_000)] }), "limit");
    rejects(build({ funcs: [{ body: [], params: new Array(1001).fill(I32) }] }), "limit");
    rejects(one([], {}, { globals: [[I32, 0x00, OP.global_get, 0, OP.end]] }), "index");
  });

  test("V16: multi-value blocks, functions and the rest of the subset are accepted and run", () => {
    const ex = load(
      wat(`(module
        (memory (export "memory") 1 2)
        (global $g (mut i64) (i64.const 7))
        (global (export "counter") (mut i32) (i32.const 0))
        (func $pair (param i32) (result i32 i64) (local.get 0) (i64.extend_i32_s (local.get 0)))
        (func (export "f") (param i32) (result i64)
          (local $a i32) (local $b i64)
          (call $pair (local.get 0))
          (local.set $b) (local.set $a)
          (i64.add (local.get $b) (i64.extend_i32_u (i32.extend8_s (local.get $a))))
          (global.get $g)
          (i64.add)
          (i64.store16 (i32.const 8) (i64.const 0x12345))
          (i64.add (i64.load16_u (i32.const 8)))
          (i64.add (i64.extend_i32_u (memory.size)))))`),
    );
    const r = run(ex, "f", [3], LOTS);
    assert.equal(r.error, undefined);
    assert.equal(r.value, 3n + 3n + 7n + 0x2345n + 1n);
    assert.equal(g(ex, "counter").value, 0);
  });

  test("V19: output is deterministic and keeps every index", () => {
    const src = wat(`(module
      (import "helios" "h" (func $h (param i32) (result i32)))
      (memory (export "memory") 1)
      (global $x (mut i32) (i32.const 1))
      (table 1 funcref) (elem (i32.const 0) $inc)
      (func $inc (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $f (export "f") (param i32) (result i32)
        (global.set $x (i32.add (global.get $x) (call $h (local.get 0))))
        (call_indirect (param i32) (result i32) (global.get $x) (i32.const 0))
        (drop) (global.get $x)))`);
    const a = prepare(src);
    const b = prepare(Uint8Array.from(src));
    assert.deepEqual(a, b);
    const m = new WebAssembly.Module(a);
    assert.deepEqual(
      WebAssembly.Module.exports(m).map((e) => `${e.kind}:${e.name}`),
      ["memory:memory", "function:f", `global:${GAS_GLOBAL}`, `global:${STACK_GLOBAL}`, `global:${STATUS_GLOBAL}`],
    );
    assert.deepEqual(WebAssembly.Module.imports(m), [{ module: "helios", name: "h", kind: "function" }]);
    const ex = new WebAssembly.Instance(m, { helios: { h: (x: number) => x * 2 } }).exports as Exports;
    const r = run(ex, "f", [5], LOTS);
    assert.equal(r.value, 11);
  });

  // ------------------------------------------------------------ fuzz (V1)

  /** prepareModule either rejects with VM_MODULE_INVALID or returns what the engine accepts; never more than V8. */
  function checkAnyInput(bytes: Uint8Array): void {
    let out: Uint8Array | undefined;
    try {
      out = prepare(bytes);
    } catch (e) {
      assert.ok(isHeliosError(e, "VM_MODULE_INVALID"), `unexpected ${String(e)}`);
      assert.notEqual(e.context.reason, "engine", "the validator accepted what the engine rejects");
      return;
    }
    assert.ok(WebAssembly.validate(bytes), "accepted a module the engine rejects");
    assert.ok(WebAssembly.validate(out));
    new WebAssembly.Module(out);
  }

  function corpus(): Uint8Array[] {
    return [
      one([...i32c(1), OP.drop]),
      shapeModule(SHAPES[8]!),
      build({
        imports: [{ module: "helios", name: "h", params: [I32], results: [I32] }],
        funcs: [
          {
            export: "f",
            params: [I32],
            results: [I32],
            locals: [[2, I64]],
            body: [OP.local_get, 0, OP.call, 0, OP.local_get, 0, OP.memory_grow, 0, OP.i32_add],
          },
        ],
        globals: [[I64, 0x01, ...i64c(-5), OP.end]],
        table: [0x70, 0x00, 2],
        elements: [[0x00, ...i32c(0), OP.end, ...vec([[0], [1]])]],
        data: [[0x00, ...i32c(16), OP.end, ...vec([[1], [2], [3]])]],
      }),
      wat(`(module (memory (export "memory") 1)
        (func (export "f") (param i32) (result i32) (local i32)
          (block (loop (br_if 1 (i32.eqz (local.get 0)))
            (local.set 1 (i32.add (local.get 1) (local.get 0)))
            (memory.copy (i32.const 0) (i32.const 8) (local.get 0))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0)))
          (local.get 1)))`),
    ];
  }

  test("V1: random bytes are rejected with VM_MODULE_INVALID only", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (tail, withHeader) => {
        checkAnyInput(withHeader ? Uint8Array.from([...HEADER, ...tail]) : tail);
      }),
      fcParams(),
    );
  });

  test("V1: every truncation and single-byte mutation of valid modules is rejected or valid", () => {
    const modules = corpus();
    for (const m of modules) {
      checkAnyInput(m);
      for (let len = 0; len < m.length; len++) checkAnyInput(m.subarray(0, len));
    }
    fc.assert(
      fc.property(
        fc.nat({ max: modules.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat({ max: 3 }),
        (which, at, value, extra) => {
          const m = Uint8Array.from(modules[which]!);
          const i = at % m.length;
          m[i] = value;
          const j = (i * 7 + extra) % m.length;
          if (extra > 0) m[j] = m[j]! ^ (1 << extra);
          checkAnyInput(m);
        },
      ),
      fcParams(),
    );
  });

  // ------------------------------------------------------------ AssemblyScript (V18)

  test("V18: an AssemblyScript contract built with --exportStart passes and runs", (t) => {
    let root = path.dirname(fileURLToPath(import.meta.url));
    while (!existsSync(path.join(root, "package.json")) || !existsSync(path.join(root, "node_modules"))) {
      const up = path.dirname(root);
      if (up === root) break;
      root = up;
    }
    const ascBin = path.join(root, "node_modules", "assemblyscript", "bin", "asc.js");
    if (!existsSync(ascBin)) {
      t.skip("assemblyscript is not installed");
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), "helios-asc-"));
    try {
      writeFileSync(
        path.join(dir, "c.ts"),
        [
          '@external("helios", "read") declare function read(key: i32): i32;',
          "export function sum(n: i32): i64 { let s: i64 = 0; for (let i = 0; i < n; i++) s += <i64>i * <i64>i; return s; }",
          "export function fib(n: i32): i32 { return n < 2 ? n : fib(n - 1) + fib(n - 2); }",
          "export function bytes(n: i32): i32 { const a = new Uint8Array(n); a.fill(7); const b = new Uint8Array(n);",
          '  b.set(a); return <i32>b[n - 1] + read(n) + ("x" + n.toString()).length; }',
        ].join("\n"),
      );
      const flags = ["--runtime", "stub", "--optimizeLevel", "3", "--noAssert", "--exportStart", "_initialize"];
      execFileSync(process.execPath, [ascBin, "c.ts", "--outFile", "c.wasm", ...flags], { cwd: dir, stdio: "pipe" });
      const ex = load(readFileSync(path.join(dir, "c.wasm")), {
        env: { abort: () => assert.fail("abort") },
        helios: { read: (k: number) => k + 1 },
      });
      assert.equal(run(ex, "_initialize", [], LOTS).status, STATUS_NONE);
      assert.equal(run(ex, "sum", [100], LOTS).value, 328_350n);
      assert.equal(run(ex, "fib", [15], LOTS).value, 610);
      assert.equal(run(ex, "bytes", [1000], LOTS).value, 7 + 1001 + 5);
      const deep = run(ex, "fib", [1e6], LOTS);
      assert.equal(deep.status, STATUS_STACK_OVERFLOW);
      const slow = run(ex, "sum", [1e9], 100_000n);
      assert.equal(slow.status, STATUS_OUT_OF_GAS);
      // Without --exportStart the compiler emits a start section, which the VM refuses.
      execFileSync(process.execPath, [ascBin, "c.ts", "--outFile", "s.wasm", ...flags.slice(0, 5)], {
        cwd: dir,
        stdio: "pipe",
      });
      rejects(readFileSync(path.join(dir, "s.wasm")), "start");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
