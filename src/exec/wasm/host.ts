/**
 * exec/wasm/host — the signatures of the host ABI (docs/contracts.md): the
 * only functions a contract may import. The validator refuses any other
 * import, and any of these with another type, so a contract can never make
 * V8 throw a TypeError at a host boundary (which would be a node crash, not
 * a transaction failure).
 *
 * Invariants: this table and the host functions in exec/vm.ts agree (a test
 * instantiates every entry against the VM's imports).
 * Costs: none.
 */

/**
 * The exact signature of every host function. A prepared module may import
 * only these (from module "helios"), with exactly these types, plus
 * "env"."abort"(i32, i32, i32, i32). The validator in exec/wasm checks that.
 */
/** The importable host functions and their exact types. */
export type HostTypes = Readonly<
  Record<string, { readonly params: readonly ("i32" | "i64")[]; readonly results: readonly ("i32" | "i64")[] }>
>;

export const HOST_FUNCTION_TYPES: HostTypes = Object.freeze({
  input_len: { params: [], results: ["i32"] },
  input_read: { params: ["i32"], results: [] },
  result_len: { params: [], results: ["i32"] },
  result_read: { params: ["i32"], results: [] },
  storage_get: { params: ["i32", "i32"], results: ["i32"] },
  storage_set: { params: ["i32", "i32", "i32", "i32"], results: [] },
  storage_delete: { params: ["i32", "i32"], results: [] },
  caller: { params: ["i32"], results: [] },
  self: { params: ["i32"], results: [] },
  value: { params: ["i32"], results: [] },
  balance: { params: ["i32", "i32"], results: [] },
  transfer: { params: ["i32", "i32"], results: ["i32"] },
  block_height: { params: [], results: ["i64"] },
  block_time: { params: [], results: ["i64"] },
  gas_left: { params: [], results: ["i64"] },
  emit: { params: ["i32", "i32", "i32", "i32"], results: [] },
  call: { params: ["i32", "i32", "i32", "i32", "i32", "i32", "i64"], results: ["i32"] },
  ret: { params: ["i32", "i32"], results: [] },
  revert: { params: ["i32", "i32"], results: [] },
});

/** AssemblyScript's abort(message, file, line, column). */
export const ABORT_TYPE = Object.freeze({ params: ["i32", "i32", "i32", "i32"] as const, results: [] as const });
