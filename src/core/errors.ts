/**
 * core/errors — the one registry of coded errors.
 *
 * Purpose: every operating error a user can see carries a stable `code`, a
 * message saying what to do, and a typed context payload. Domain outcomes
 * (out of gas, a failed proof check reported as a value) are NOT errors; bugs
 * are assertions (`assert`), which crash loudly and stay on in production.
 *
 * Invariants: codes are stable strings and never reused for another meaning;
 * `docs/errors.md` lists every code (a test checks the two agree).
 * Costs: constructing an error captures a stack trace (~µs); never on a hot path
 * that expects failure as a normal outcome.
 */

export const ERROR_CODES = {
  // core
  CODEC_MALFORMED: "Bytes could not be decoded: truncated, non-canonical or trailing data.",
  HASH_KERNEL_UNAVAILABLE: "The native BLAKE3 kernel is not built. Run `npm run build:native` (needs g++ and python3).",
  INVALID_ARGUMENT: "An argument is out of its documented range or of the wrong type.",
  // merkle
  MERKLE_KEY_TOO_LONG: "A key is longer than MAX_KEY_BYTES. Hash or shorten long keys.",
  MERKLE_VALUE_TOO_LARGE: "A value is larger than MAX_VALUE_BYTES. Store large blobs by hash.",
  MERKLE_NODE_MALFORMED: "An encoded tree node is malformed; the store or the peer sent bad bytes.",
  MERKLE_NODE_MISSING: "A node reachable from the root is not in the store; the store is incomplete.",
  MERKLE_PROOF_MALFORMED: "A proof could not be parsed. Reject it and ask another peer.",
  MERKLE_PROOF_INVALID: "A proof parsed but does not prove the claim against the given root.",
  MEMORY_STORE_FULL:
    "An in-memory store or flat view reached its 16 GiB address space. Compact it (copyReachable) or use the durable store.",
  // store
  STORE_CORRUPT: "A stored node's bytes do not hash to its id. Restore from a snapshot or a peer.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HeliosError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, context: Record<string, unknown> = {}, detail?: string) {
    const base = ERROR_CODES[code];
    super(`${code}: ${detail === undefined ? base : `${detail} — ${base}`}`);
    this.name = "HeliosError";
    this.code = code;
    this.context = context;
  }
}

/** True when `e` is a HeliosError, optionally of a given code. */
export function isHeliosError(e: unknown, code?: ErrorCode): e is HeliosError {
  return e instanceof HeliosError && (code === undefined || e.code === code);
}

/** A failed assertion is a bug in Helios, not bad input: crash loudly. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = "AssertionError";
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
