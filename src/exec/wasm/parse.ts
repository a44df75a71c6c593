/**
 * exec/wasm/parse — the binary reader and the module-level validator of the
 * Helios WASM subset (docs/spec/vm.md §1–§2).
 *
 * Purpose: read an untrusted module once, check every section against the
 * subset (integer-only MVP, sign extension, mutable globals, memory.copy and
 * memory.fill, multi-value) and the host's import policy, and record where
 * each section and function body lies so that the instrumenter can copy the
 * bytes it does not change. Function bodies are checked by `validate.ts`.
 *
 * Invariants:
 * - Every read is bounds-checked: bad input of any shape ends in
 *   `HeliosError("VM_MODULE_INVALID", { reason, offset })`, never in a
 *   RangeError or a TypeError, and no allocation is sized by an unchecked
 *   count (a count is first compared with the bytes left).
 * - Accepting is a strict subset of what the WebAssembly core spec (and V8's
 *   implementation limits) accept, so an accepted module always compiles.
 * - Nothing here reads the clock, randomness or the environment: the outcome
 *   depends only on the bytes and the limits.
 * Costs: O(module bytes) time; memory O(types + functions + exports), never
 * more than a small multiple of the input size.
 */

import { HeliosError } from "../../core/index.js";
import { ABORT_TYPE, type HostTypes } from "./host.js";

/** Why a module was rejected: the `reason` field of VM_MODULE_INVALID (vm.md V2–V20). */
export type WasmRejectReason =
  | "too-large"
  | "bad-header"
  | "truncated"
  | "malformed"
  | "section-order"
  | "float"
  | "simd"
  | "threads"
  | "unsupported"
  | "import"
  | "start"
  | "memory"
  | "memory-pages"
  | "reserved-name"
  | "too-many-locals"
  | "type-mismatch"
  | "index"
  | "invalid"
  | "limit"
  | "segment"
  | "engine";

/** Throws the one error this package throws for bad input. */
export function reject(reason: WasmRejectReason, offset: number | undefined, detail: string): never {
  const context: Record<string, unknown> = { reason };
  if (offset !== undefined) context.offset = offset;
  throw new HeliosError("VM_MODULE_INVALID", context, detail);
}

// Value types. Only the two integer types exist inside the subset.
export const I32 = 0x7f;
export const I64 = 0x7e;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const FUNCREF = 0x70;

/** Arity limits of the subset (vm.md V2a): a function type has at most 32 parameters and 8 results. */
export const SUBSET_LIMITS = Object.freeze({ params: 32, results: 8 });

/** V8's implementation limits (wasm-limits.h) that a 512 KiB module could otherwise exceed. */
export const ENGINE_LIMITS = Object.freeze({
  params: 1000,
  results: 1000,
  imports: 100_000,
  exports: 100_000,
  dataSegments: 100_000,
  nameBytes: 100_000,
  brTableTargets: 65_520,
  locals: 50_000,
  memoryPages: 65_536,
  types: 1_000_000,
  functions: 1_000_000,
  /** Less the five globals the instrumenter appends. */
  globals: 1_000_000 - 5,
  functionBytes: 7_654_321,
});

/** Entries a table may declare: far below V8's 10M, far above any contract's needs. */
export const MAX_TABLE_ENTRIES = 65_536;
export const PAGE_BYTES = 65_536;
const MAGIC = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00] as const;
export const RESERVED_EXPORT_PREFIX = "__helios_";

/** Rejects a type byte outside {i32, i64}, naming the feature it belongs to. */
export function checkValType(t: number, offset: number): number {
  if (t === I32 || t === I64) return t;
  if (t === F32 || t === F64) reject("float", offset, `floating-point value type 0x${hex(t)}`);
  if (t === V128) reject("simd", offset, "SIMD value type v128");
  if (t >= 0x63 && t <= 0x73) reject("unsupported", offset, `reference or GC value type 0x${hex(t)}`);
  return reject("malformed", offset, `unknown value type 0x${hex(t)}`);
}

export function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/**
 * A cursor over `bytes[pos, end)`. LEB128 readers enforce the spec's length
 * bounds and the zero (or sign) padding of their last byte.
 */
export class WasmReader {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;

  constructor(bytes: Uint8Array, pos: number, end: number) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) reject("truncated", this.pos, "unexpected end of bytes");
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128, at most 5 bytes, < 2^32. */
  u32(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      if (i === 4 && b > 0x0f) reject("malformed", start, "u32 LEB128 overflows 32 bits");
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return reject("malformed", start, "u32 LEB128 longer than 5 bytes");
  }

  /** Signed LEB128 of an i32, at most 5 bytes; returns the value as a signed number. */
  s32(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      if (i === 4) {
        // Bits 32..34 of the last byte must repeat bit 31 (sign extension), and no continuation.
        if (b & 0x80 || (b & 0x70) !== (b & 0x08 ? 0x70 : 0)) reject("malformed", start, "s32 LEB128 overflows");
      }
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) {
        if (b & 0x40) result -= mul; // sign bit of the last group
        return result;
      }
    }
    return reject("malformed", start, "s32 LEB128 longer than 5 bytes");
  }

  /** Signed LEB128 of an i64, at most 10 bytes; only checked (the value is never needed). */
  s64(): void {
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      if (i === 9 && b !== 0x00 && b !== 0x7f) reject("malformed", start, "s64 LEB128 overflows");
      if ((b & 0x80) === 0) return;
    }
    reject("malformed", start, "s64 LEB128 longer than 10 bytes");
  }

  /** A vector count: each element takes at least `minBytes`, so a count beyond the bytes left is bad. */
  count(minBytes: number): number {
    const at = this.pos;
    const n = this.u32();
    if (n * minBytes > this.left) reject("truncated", at, `count ${n} exceeds the bytes left`);
    return n;
  }

  skip(n: number): void {
    if (n > this.left) reject("truncated", this.pos, "unexpected end of bytes");
    this.pos += n;
  }

  /** A name: u32 length, then valid UTF-8. */
  name(): string {
    const at = this.pos;
    const len = this.u32();
    if (len > ENGINE_LIMITS.nameBytes) reject("limit", at, `name longer than ${ENGINE_LIMITS.nameBytes} bytes`);
    this.skip(len);
    return decodeUtf8(this.bytes, this.pos - len, this.pos);
  }
}

/** Strict UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF) to a string, or VM_MODULE_INVALID. */
export function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  let s = "";
  let i = start;
  while (i < end) {
    const c = b[i]!;
    let cp: number;
    let n: number;
    if (c < 0x80) {
      cp = c;
      n = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      cp = c & 0x1f;
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      cp = c & 0x0f;
      n = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      cp = c & 0x07;
      n = 3;
    } else {
      return reject("malformed", i, "name is not valid UTF-8");
    }
    if (i + n >= end) reject("malformed", i, "name is not valid UTF-8 (truncated sequence)");
    for (let k = 1; k <= n; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) reject("malformed", i, "name is not valid UTF-8");
      cp = cp * 64 + (d & 0x3f);
    }
    if ((n === 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      reject("malformed", i, "name is not valid UTF-8");
    }
    s += String.fromCodePoint(cp);
    i += n + 1;
  }
  return s;
}

export interface FuncType {
  params: number[];
  results: number[];
}

/** A byte range [start, end) of the input. */
export interface Span {
  start: number;
  end: number;
}

/** What the instrumenter needs to know about a validated module. */
export interface ModuleInfo {
  bytes: Uint8Array;
  types: FuncType[];
  /** Type index of each function, imports first. */
  funcTypes: number[];
  importedFuncs: number;
  globalTypes: number[];
  globalMutable: boolean[];
  hasTable: boolean;
  memoryMinPages: number;
  /** The declared maximum, or -1 when none. */
  memoryMaxPages: number;
  /** Content ranges of the known sections by id (custom sections are dropped). */
  sections: Map<number, Span>;
  /** Where the global and export entries start, after their counts. */
  globalEntries: Span | undefined;
  globalCount: number;
  exportEntries: Span;
  exportCount: number;
  /** Each code entry's body, after its size prefix: locals then instructions. */
  bodies: Span[];
}

// Section ids and their required order (the data count section sits between element and code).
const SECTION_RANK: Record<number, number> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  6: 6,
  7: 7,
  8: 8,
  9: 9,
  12: 10,
  10: 11,
  11: 12,
};
const SECTION_NAME: Record<number, string> = {
  1: "type",
  2: "import",
  3: "function",
  4: "table",
  5: "memory",
  6: "global",
  7: "export",
  8: "start",
  9: "element",
  10: "code",
  11: "data",
  12: "data count",
};

interface Limits {
  min: number;
  max: number; // -1 when absent
}

function readLimits(r: WasmReader, what: "memory" | "table"): Limits {
  const at = r.pos;
  const flags = r.u8();
  if (flags === 0x02 || flags === 0x03) reject("threads", at, `shared ${what}`);
  if (flags >= 0x04 && flags <= 0x07) reject("unsupported", at, `64-bit ${what}`);
  if (flags > 0x01) reject("malformed", at, `bad ${what} limits flags 0x${hex(flags)}`);
  const min = r.u32();
  const max = flags === 1 ? r.u32() : -1;
  if (max !== -1 && max < min) reject("invalid", at, `${what} maximum ${max} is below its minimum ${min}`);
  return { min, max };
}

/** A constant expression of the subset: `i32.const n end` or `i64.const n end`; returns n for i32. */
function readConstExpr(r: WasmReader, type: number): number {
  const at = r.pos;
  const op = r.u8();
  let value = 0;
  if (op === 0x41) {
    value = r.s32();
    if (type !== I32) reject("type-mismatch", at, "constant expression has type i32, expected i64");
  } else if (op === 0x42) {
    r.s64();
    if (type !== I64) reject("type-mismatch", at, "constant expression has type i64, expected i32");
  } else if (op === 0x43 || op === 0x44) {
    reject("float", at, "floating-point constant expression");
  } else if (op === 0x23) {
    // global.get is only allowed on imported globals, and the subset imports none.
    reject(
      "index",
      at,
      "constant expression reads a global; only imported globals are allowed and none may be imported",
    );
  } else {
    reject("unsupported", at, `opcode 0x${hex(op)} in a constant expression`);
  }
  const endAt = r.pos;
  if (r.u8() !== 0x0b) reject("unsupported", endAt, "constant expression longer than one instruction");
  return value;
}

/**
 * Parses and checks everything but the function bodies' instructions (and
 * the locals inside them, which `validate.ts` reads).
 */
export function parseModule(bytes: Uint8Array, maxMemoryPages: number, hostTypes: HostTypes): ModuleInfo {
  if (bytes.length < 8) {
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== MAGIC[i]) reject("bad-header", i, "not a WebAssembly module (bad magic or version)");
    }
    reject("truncated", bytes.length, "module shorter than its 8-byte header");
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC[i]) reject("bad-header", i, "not a WebAssembly module (bad magic)");
  }
  for (let i = 4; i < 8; i++) {
    if (bytes[i] !== MAGIC[i]) reject("bad-header", i, "unsupported WebAssembly version (only 1)");
  }

  const info: ModuleInfo = {
    bytes,
    types: [],
    funcTypes: [],
    importedFuncs: 0,
    globalTypes: [],
    globalMutable: [],
    hasTable: false,
    memoryMinPages: -1,
    memoryMaxPages: -1,
    sections: new Map(),
    globalEntries: undefined,
    globalCount: 0,
    exportEntries: { start: 0, end: 0 },
    exportCount: 0,
    bodies: [],
  };
  let tableMin = 0;
  let memoryExported = false;
  let definedFuncs = 0;
  let dataCount = -1;
  let sawCode = false;
  let lastRank = 0;

  const r = new WasmReader(bytes, 8, bytes.length);
  while (r.left > 0) {
    const idAt = r.pos;
    const id = r.u8();
    const size = r.u32();
    if (size > r.left) reject("truncated", idAt, `section ${id} is longer than the module`);
    const start = r.pos;
    const end = start + size;
    const s = new WasmReader(bytes, start, end);

    if (id === 0) {
      s.name(); // a custom section: its name must be valid; its content is opaque and dropped
      r.pos = end;
      continue;
    }
    if (id === 13) reject("unsupported", idAt, "exception handling (tag section)");
    const rank = SECTION_RANK[id];
    if (rank === undefined) reject("malformed", idAt, `unknown section id ${id}`);
    if (rank <= lastRank) reject("section-order", idAt, `${SECTION_NAME[id]} section is duplicated or out of order`);
    lastRank = rank;
    info.sections.set(id, { start, end });

    switch (id) {
      case 1: {
        const n = s.count(3);
        if (n > ENGINE_LIMITS.types) reject("limit", start, `more than ${ENGINE_LIMITS.types} types`);
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const form = s.u8();
          if (form !== 0x60) {
            if (form >= 0x4e && form <= 0x5f) reject("unsupported", at, "GC type definitions");
            reject("malformed", at, `bad type form 0x${hex(form)}`);
          }
          // the subset's arities are far below V8's (1,000) so that type-checking br_table, call and typed
          // blocks stays linear in the body's bytes (each costs O(arity) per instruction)
          const params = readValTypes(s, SUBSET_LIMITS.params, "parameters");
          const results = readValTypes(s, SUBSET_LIMITS.results, "results");
          info.types.push({ params, results });
        }
        break;
      }
      case 2: {
        const n = s.count(4);
        if (n > ENGINE_LIMITS.imports) reject("limit", start, `more than ${ENGINE_LIMITS.imports} imports`);
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const module = s.name();
          const field = s.name();
          const kindAt = s.pos;
          const kind = s.u8();
          if (kind !== 0x00) {
            const what = ["", "a table", "a memory", "a global", "a tag"][kind];
            if (what === undefined) reject("malformed", kindAt, `bad import kind 0x${hex(kind)}`);
            reject("import", at, `import of ${what} (${module}.${field}); only functions may be imported`);
          }
          const typeAt = s.pos;
          const t = s.u32();
          if (t >= info.types.length) reject("index", typeAt, `import type index ${t} out of range`);
          if (module !== "helios" && !(module === "env" && field === "abort")) {
            reject("import", at, `import ${JSON.stringify(module)}.${JSON.stringify(field)} is not allowed`);
          }
          // the exact host signature: a mismatch would make V8 throw a TypeError at the boundary
          const want = module === "env" ? ABORT_TYPE : hostTypes[field];
          if (want === undefined || (module !== "env" && !Object.hasOwn(hostTypes, field))) {
            reject("import", at, `helios.${JSON.stringify(field)} is not a host function (docs/contracts.md)`);
          }
          const got = info.types[t] as FuncType;
          const code = (v: string) => (v === "i64" ? I64 : I32);
          if (
            got.params.length !== want.params.length ||
            got.results.length !== want.results.length ||
            want.params.some((v, j) => code(v) !== got.params[j]) ||
            want.results.some((v, j) => code(v) !== got.results[j])
          ) {
            reject("import", at, `${module}.${field} has the wrong type (docs/contracts.md lists the signatures)`);
          }
          info.funcTypes.push(t);
        }
        info.importedFuncs = info.funcTypes.length;
        break;
      }
      case 3: {
        const n = s.count(1);
        if (info.funcTypes.length + n > ENGINE_LIMITS.functions) {
          reject("limit", start, `more than ${ENGINE_LIMITS.functions} functions`);
        }
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const t = s.u32();
          if (t >= info.types.length) reject("index", at, `function type index ${t} out of range`);
          info.funcTypes.push(t);
        }
        definedFuncs = n;
        break;
      }
      case 4: {
        const n = s.count(3);
        if (n > 1) reject("unsupported", start, "more than one table");
        if (n === 1) {
          const at = s.pos;
          const t = s.u8();
          if (t !== FUNCREF) {
            if (t >= 0x63 && t <= 0x6f) reject("unsupported", at, `table of reference type 0x${hex(t)}`);
            reject("malformed", at, `bad table element type 0x${hex(t)}`);
          }
          const lim = readLimits(s, "table");
          if (lim.min > MAX_TABLE_ENTRIES) reject("limit", at, `table of more than ${MAX_TABLE_ENTRIES} entries`);
          tableMin = lim.min;
          info.hasTable = true;
        }
        break;
      }
      case 5: {
        const n = s.count(2);
        if (n > 1) reject("memory", start, "more than one memory");
        if (n === 1) {
          const at = s.pos;
          const lim = readLimits(s, "memory");
          if (lim.max > ENGINE_LIMITS.memoryPages) reject("invalid", at, "memory maximum above 65536 pages");
          if (lim.min > maxMemoryPages) {
            reject("memory-pages", at, `memory of ${lim.min} initial pages exceeds the limit of ${maxMemoryPages}`);
          }
          info.memoryMinPages = lim.min;
          info.memoryMaxPages = lim.max;
        }
        break;
      }
      case 6: {
        const n = s.count(4);
        if (n > ENGINE_LIMITS.globals) reject("limit", start, `more than ${ENGINE_LIMITS.globals} globals`);
        info.globalCount = n;
        info.globalEntries = { start: s.pos, end };
        for (let i = 0; i < n; i++) {
          const t = checkValType(s.u8(), s.pos - 1);
          const mAt = s.pos;
          const m = s.u8();
          if (m > 1) reject("malformed", mAt, `bad global mutability 0x${hex(m)}`);
          readConstExpr(s, t);
          info.globalTypes.push(t);
          info.globalMutable.push(m === 1);
        }
        break;
      }
      case 7: {
        const n = s.count(3);
        if (n > ENGINE_LIMITS.exports) reject("limit", start, `more than ${ENGINE_LIMITS.exports} exports`);
        info.exportCount = n;
        info.exportEntries = { start: s.pos, end };
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const name = s.name();
          const kindAt = s.pos;
          const kind = s.u8();
          const idx = s.u32();
          if (seen.has(name)) reject("invalid", at, `duplicate export name ${JSON.stringify(name)}`);
          seen.add(name);
          if (name.startsWith(RESERVED_EXPORT_PREFIX)) {
            reject("reserved-name", at, `export name ${JSON.stringify(name)} uses the reserved prefix __helios_`);
          }
          const bound = [info.funcTypes.length, info.hasTable ? 1 : 0, info.memoryMinPages >= 0 ? 1 : 0];
          if (kind === 3) {
            if (idx >= info.globalTypes.length) reject("index", kindAt, `export of global ${idx} out of range`);
          } else if (kind <= 2) {
            if (idx >= bound[kind]!) reject("index", kindAt, `export index ${idx} out of range`);
          } else if (kind === 4) {
            reject("unsupported", kindAt, "export of a tag (exception handling)");
          } else {
            reject("malformed", kindAt, `bad export kind 0x${hex(kind)}`);
          }
          if (name === "memory") {
            if (kind !== 2) reject("memory", at, 'the export "memory" must be the memory');
            memoryExported = true;
          }
        }
        break;
      }
      case 8:
        reject("start", idAt, "a start section is not allowed (contracts run only when called)");
        break;
      case 9: {
        const n = s.count(4);
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const flags = s.u32();
          if (flags !== 0) reject("unsupported", at, `element segment form ${flags} (only active MVP segments)`);
          if (!info.hasTable) reject("index", at, "element segment without a table");
          const offset = readConstExpr(s, I32) >>> 0;
          const m = s.count(1);
          for (let k = 0; k < m; k++) {
            const fAt = s.pos;
            const f = s.u32();
            if (f >= info.funcTypes.length) reject("index", fAt, `element function index ${f} out of range`);
          }
          if (offset + m > tableMin) reject("segment", at, "element segment does not fit in the table");
        }
        break;
      }
      case 12:
        dataCount = s.u32();
        break;
      case 10: {
        sawCode = true;
        const n = s.count(2);
        if (n !== definedFuncs) reject("malformed", start, "function and code sections have different lengths");
        for (let i = 0; i < n; i++) {
          const sizeAt = s.pos;
          const size = s.u32();
          if (size > ENGINE_LIMITS.functionBytes) reject("limit", sizeAt, "function body too large");
          const bodyStart = s.pos;
          s.skip(size);
          info.bodies.push({ start: bodyStart, end: bodyStart + size });
        }
        break;
      }
      case 11: {
        const n = s.count(4);
        if (n > ENGINE_LIMITS.dataSegments)
          reject("limit", start, `more than ${ENGINE_LIMITS.dataSegments} data segments`);
        if (dataCount !== -1 && n !== dataCount)
          reject("malformed", start, "data count section disagrees with data section");
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const flags = s.u32();
          if (flags !== 0) reject("unsupported", at, `data segment form ${flags} (only active segments in memory 0)`);
          if (info.memoryMinPages < 0) reject("index", at, "data segment without a memory");
          const offset = readConstExpr(s, I32) >>> 0;
          const len = s.u32();
          s.skip(len);
          if (offset + len > info.memoryMinPages * PAGE_BYTES) {
            reject("segment", at, "data segment does not fit in the initial memory");
          }
        }
        dataCount = n;
        break;
      }
    }
    if (s.pos !== end) reject("malformed", s.pos, `${SECTION_NAME[id]} section size mismatch`);
    r.pos = end;
  }

  if (!sawCode && definedFuncs > 0) reject("malformed", bytes.length, "function section without a code section");
  if (dataCount > 0 && !info.sections.has(11)) reject("malformed", bytes.length, "data count without a data section");
  if (info.memoryMinPages < 0) reject("memory", undefined, "the module must define its memory");
  if (!memoryExported) reject("memory", undefined, 'the module must export its memory as "memory"');
  return info;
}

function readValTypes(r: WasmReader, max: number, what: string): number[] {
  const at = r.pos;
  const n = r.count(1);
  if (n > max) reject("limit", at, `more than ${max} ${what}`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(checkValType(r.u8(), r.pos - 1));
  return out;
}
