/**
 * exec/tx — transactions: the canonical binary encoding, ed25519 signing and
 * verification, intrinsic gas, and the stateless admission checks
 * (docs/spec/tx.md is the format; requirement numbers T<n> refer to it).
 *
 * Layout (v1, all integers big-endian):
 *
 *   off  size  field
 *   0    1     version = 0x01
 *   1    1     kind: 0 transfer, 1 deploy, 2 call
 *   2    4     chainId   u32
 *   6    8     nonce     u64 (≤ 2^53 − 1)
 *   14   8     gasLimit  u64 (≤ 2^53 − 1)
 *   22   16    fee       u128 (price per gas unit)
 *   38   16    value     u128
 *   54   32    from      (the sender's ed25519 public key)
 *   86   …     transfer: to[32]
 *              call:     to[32] ‖ varint(|method|) ‖ method ‖ varint(|args|) ‖ args
 *              deploy:   varint(|code|) ‖ code ‖ varint(|args|) ‖ args
 *   n−64 64    signature over  "helios/tx/v1" ‖ bytes[0, n−64)
 *
 * Invariants:
 *   - Canonical: decodeTx accepts a byte string only if encodeTx of the result
 *     gives the same bytes (every field is fixed-width or a canonical varint,
 *     method names are checked, trailing bytes are refused), so one
 *     transaction has one encoding and one txHash.
 *   - Decoders throw DecodeError("TX_MALFORMED") and nothing else on any input.
 *   - A decoded Tx owns its bytes (nothing aliases the input).
 *   - The signature rule is RFC 8032 Ed25519 as OpenSSL verifies it
 *     (cofactorless), after two checks of ours that pin the edge cases
 *     whatever the OpenSSL version: S < L, and `from` must be the canonical
 *     encoding of a point that is not of small order (T14).
 * Costs (one core of the bench machine, docs/spec/tx.md §6): verify
 * ≈ 110 µs (node:crypto; a KeyObject per sender is cached, saving ≈ 80 µs on
 * repeat senders), sign ≈ 36 µs, encode/decode ≈ 1 µs for a transfer,
 * txHash one BLAKE3 call.
 */
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from "node:crypto";
import { bytesToHex, equalBytes, HeliosError, hash } from "../core/index.js";
import { ByteReader, ByteWriter, DecodeError } from "./codec.js";
import type { SigCache } from "./sigcache.js";
import { ADDRESS_BYTES, U128_MAX } from "./types.js";

export type TxKind = "transfer" | "deploy" | "call";

/**
 * A transaction. `to` is set exactly for transfer and call; `method` for
 * call; `code` for deploy; `args` for call and deploy (decoded transactions
 * always carry it, empty when there are none). Byte fields are not copied by
 * the encoder: do not mutate them while a Tx is in use.
 */
export interface Tx {
  kind: TxKind;
  /** u32. */
  chainId: number;
  /** Safe integer (u64 on the wire). */
  nonce: number;
  /** Safe integer (u64 on the wire). */
  gasLimit: number;
  /** u128: price per gas unit. The sender must hold value + gasLimit × fee and is charged gasUsed × fee. */
  fee: bigint;
  /** 32-byte ed25519 public key: the sender's address. */
  from: Uint8Array;
  /** 32 bytes; transfer and call. */
  to?: Uint8Array;
  /** u128. */
  value: bigint;
  /** call: an ASCII identifier of 1–64 bytes, [A-Za-z_][A-Za-z0-9_]*. */
  method?: string;
  /** call: the call's arguments; deploy: the init arguments. */
  args?: Uint8Array;
  /** deploy: the WASM module. */
  code?: Uint8Array;
  /** 64-byte ed25519 signature. */
  signature: Uint8Array;
}

/** A transaction before signing. */
export type UnsignedTx = Omit<Tx, "signature">;

export const TX_VERSION = 1;
export const TX_KINDS: readonly TxKind[] = Object.freeze(["transfer", "deploy", "call"] as const);
/** The kind byte of each kind (its index in TX_KINDS). */
export const TX_KIND_CODE: Readonly<Record<TxKind, number>> = Object.freeze({ transfer: 0, deploy: 1, call: 2 });
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const TX_HASH_BYTES = 32;
/** Bytes before the kind-specific fields: version, kind, chainId, nonce, gasLimit, fee, value, from. */
export const TX_HEADER_BYTES = 86;
/** Where `from` starts in an encoding. */
export const TX_FROM_OFFSET = 54;
/** An encoded transfer is always this long. */
export const TRANSFER_TX_BYTES = TX_HEADER_BYTES + ADDRESS_BYTES + SIGNATURE_BYTES;
export const METHOD_MAX_BYTES = 64;
/** The domain tag signed in front of the unsigned encoding (ASCII, no terminator). */
export const TX_SIGNING_DOMAIN = "helios/tx/v1";

/**
 * Intrinsic gas (T16): what a transaction costs before it runs, charged for
 * carrying it (bytes that every node stores, hashes and gossips) and, for a
 * deploy, preparing its module (validation, instrumentation, compilation).
 *   intrinsicGas = TX_BASE_GAS + TX_BYTE_GAS × |encoding|
 *                  + (deploy ? DEPLOY_BASE_GAS + DEPLOY_CODE_BYTE_GAS × |code| : 0)
 * A transfer (182 bytes) costs 2,820.
 */
export const TX_BASE_GAS = 1_000;
export const TX_BYTE_GAS = 10;
export const DEPLOY_BASE_GAS = 10_000;
export const DEPLOY_CODE_BYTE_GAS = 50;

const DOMAIN = Uint8Array.from(TX_SIGNING_DOMAIN, (c) => c.charCodeAt(0));

// ---------------------------------------------------------------------------
// Encoding

function invalid(field: string, detail: string, extra: Record<string, unknown> = {}): never {
  throw new HeliosError("INVALID_ARGUMENT", { field, ...extra }, `tx.${field}: ${detail}`);
}

function isBytes(b: unknown, n?: number): b is Uint8Array {
  return b instanceof Uint8Array && (n === undefined || b.length === n);
}

function isU128(v: unknown): v is bigint {
  return typeof v === "bigint" && v >= 0n && v <= U128_MAX;
}

/** True when s is a valid method name: 1–64 ASCII bytes, [A-Za-z_][A-Za-z0-9_]*. */
export function isValidMethodName(s: string): boolean {
  const n = s.length;
  if (n < 1 || n > METHOD_MAX_BYTES) return false;
  for (let i = 0; i < n; i++) if (!isMethodChar(s.charCodeAt(i), i === 0)) return false;
  return true;
}

function isMethodChar(c: number, first: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (!first && c >= 48 && c <= 57);
}

/** Checks a Tx object field by field; throws INVALID_ARGUMENT naming the first bad field. */
function checkTx(tx: UnsignedTx, signed: boolean): void {
  if (typeof tx !== "object" || tx === null) invalid("kind", "not a transaction object");
  const kind = tx.kind;
  if (kind !== "transfer" && kind !== "deploy" && kind !== "call") invalid("kind", "unknown kind", { kind });
  if (!Number.isInteger(tx.chainId) || tx.chainId < 0 || tx.chainId > 0xffffffff) invalid("chainId", "not a u32");
  if (!Number.isSafeInteger(tx.nonce) || tx.nonce < 0) invalid("nonce", "not a safe non-negative integer");
  if (!Number.isSafeInteger(tx.gasLimit) || tx.gasLimit < 0) invalid("gasLimit", "not a safe non-negative integer");
  if (!isU128(tx.fee)) invalid("fee", "not a u128 bigint");
  if (!isU128(tx.value)) invalid("value", "not a u128 bigint");
  if (!isBytes(tx.from, PUBLIC_KEY_BYTES)) invalid("from", "not 32 bytes");
  const hasTo = kind !== "deploy";
  if (hasTo ? !isBytes(tx.to, ADDRESS_BYTES) : tx.to !== undefined) {
    invalid("to", hasTo ? "not 32 bytes" : "not allowed");
  }
  if (kind === "call") {
    if (typeof tx.method !== "string" || !isValidMethodName(tx.method)) {
      invalid("method", "not 1-64 bytes of [A-Za-z_][A-Za-z0-9_]*");
    }
  } else if (tx.method !== undefined) invalid("method", `not allowed in a ${kind}`);
  if (kind === "deploy" ? !isBytes(tx.code) : tx.code !== undefined) {
    invalid("code", kind === "deploy" ? "not bytes" : "not allowed");
  }
  if (tx.args !== undefined && (kind === "transfer" || !isBytes(tx.args))) {
    invalid("args", kind === "transfer" ? "not allowed in a transfer" : "not bytes");
  }
  if ((tx.code?.length ?? 0) > 0xffffffff || (tx.args?.length ?? 0) > 0xffffffff) {
    invalid("args", "longer than 2^32 - 1");
  }
  if (signed && !isBytes((tx as Tx).signature, SIGNATURE_BYTES)) invalid("signature", "not 64 bytes");
}

function varintBytes(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Length of the encoding without the signature; the Tx is already checked. */
function bodySize(tx: UnsignedTx): number {
  switch (tx.kind) {
    case "transfer":
      return TX_HEADER_BYTES + ADDRESS_BYTES;
    case "call": {
      const m = (tx.method as string).length;
      const a = tx.args?.length ?? 0;
      return TX_HEADER_BYTES + ADDRESS_BYTES + 1 + m + varintBytes(a) + a;
    }
    case "deploy": {
      const c = (tx.code as Uint8Array).length;
      const a = tx.args?.length ?? 0;
      return TX_HEADER_BYTES + varintBytes(c) + c + varintBytes(a) + a;
    }
  }
}

const EMPTY = new Uint8Array(0);

function writeBody(w: ByteWriter, tx: UnsignedTx): void {
  w.u8(TX_VERSION);
  w.u8(TX_KIND_CODE[tx.kind]);
  w.u32(tx.chainId);
  w.u64(tx.nonce);
  w.u64(tx.gasLimit);
  w.u128(tx.fee);
  w.u128(tx.value);
  w.bytes(tx.from);
  if (tx.kind === "transfer") {
    w.bytes(tx.to as Uint8Array);
  } else if (tx.kind === "call") {
    w.bytes(tx.to as Uint8Array);
    const m = tx.method as string;
    w.varint(m.length);
    w.ensure(m.length);
    for (let i = 0; i < m.length; i++) w.buf[w.pos++] = m.charCodeAt(i);
    w.lengthPrefixed(tx.args ?? EMPTY);
  } else {
    w.lengthPrefixed(tx.code as Uint8Array);
    w.lengthPrefixed(tx.args ?? EMPTY);
  }
}

/** Length in bytes of encodeTx(tx), without encoding it. Throws INVALID_ARGUMENT for a bad Tx. */
export function encodedTxSize(tx: UnsignedTx): number {
  checkTx(tx, false);
  return bodySize(tx) + SIGNATURE_BYTES;
}

/** The canonical encoding (T3–T8). Throws INVALID_ARGUMENT for a Tx that breaks the model. */
export function encodeTx(tx: Tx): Uint8Array {
  checkTx(tx, true);
  const w = new ByteWriter(bodySize(tx) + SIGNATURE_BYTES);
  writeBody(w, tx);
  w.bytes(tx.signature);
  return w.finish();
}

/** What is signed (T10): TX_SIGNING_DOMAIN ‖ the encoding without its signature. */
export function signingBytes(tx: UnsignedTx): Uint8Array {
  checkTx(tx, false);
  const w = new ByteWriter(DOMAIN.length + bodySize(tx));
  w.bytes(DOMAIN);
  writeBody(w, tx);
  return w.finish();
}

// ---------------------------------------------------------------------------
// Decoding

const reader = new ByteReader("TX_MALFORMED");

/** Reads and checks a method name; builds the string only when asked. */
function readMethod(r: ByteReader, build: boolean): string {
  const n = r.varint();
  if (n < 1 || n > METHOD_MAX_BYTES) r.fail("method name length out of 1..64", { length: n });
  r.need(n);
  const b = r.buf;
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = b[r.pos] as number;
    if (!isMethodChar(c, i === 0)) r.fail("method name has a byte outside [A-Za-z0-9_] (or starts with a digit)");
    if (build) s += String.fromCharCode(c);
    r.pos++;
  }
  return s;
}

/**
 * Decodes a canonical encoding. Throws DecodeError("TX_MALFORMED") — and
 * nothing else, whatever the input — when the bytes are truncated, carry an
 * unknown version or kind, a nonce or gas limit above 2^53 − 1, a bad method
 * name, a non-canonical varint, or trailing bytes.
 */
export function decodeTx(bytes: Uint8Array): Tx {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("TX_MALFORMED", { reason: "not a Uint8Array" });
  const r: ByteReader = reader.reset(bytes);
  const version = r.u8();
  if (version !== TX_VERSION) {
    r.pos = 0;
    r.fail("unknown version", { version });
  }
  const kind = TX_KINDS[r.u8()];
  if (kind === undefined) {
    r.pos = 1;
    r.fail("unknown kind", { kind: bytes[1] });
  }
  const chainId = r.u32();
  const nonce = r.u64();
  const gasLimit = r.u64();
  const fee = r.u128();
  const value = r.u128();
  const from = r.copy(PUBLIC_KEY_BYTES);
  let tx: Tx;
  if (kind === "transfer") {
    const to = r.copy(ADDRESS_BYTES);
    const signature = r.copy(SIGNATURE_BYTES);
    tx = { kind, chainId, nonce, gasLimit, fee, from, to, value, signature };
  } else if (kind === "call") {
    const to = r.copy(ADDRESS_BYTES);
    const method = readMethod(r, true);
    const args = r.lengthPrefixed();
    const signature = r.copy(SIGNATURE_BYTES);
    tx = { kind, chainId, nonce, gasLimit, fee, from, to, value, method, args, signature };
  } else {
    const code = r.lengthPrefixed();
    const args = r.lengthPrefixed();
    const signature = r.copy(SIGNATURE_BYTES);
    tx = { kind, chainId, nonce, gasLimit, fee, from, value, args, code, signature };
  }
  r.done();
  return tx;
}

/**
 * True when decodeTx(bytes) would succeed, checked without building the Tx
 * (no allocation when the bytes are well formed). The checks are decodeTx's,
 * in the same order; a property test holds the two together.
 */
export function isWellFormedTx(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array)) return false;
  const r: ByteReader = reader.reset(bytes);
  try {
    if (r.u8() !== TX_VERSION) return false;
    const kind = r.u8();
    if (kind >= TX_KINDS.length) return false;
    r.u32();
    r.u64();
    r.u64();
    r.skip(16 + 16 + PUBLIC_KEY_BYTES);
    if (kind !== TX_KIND_CODE.deploy) r.skip(ADDRESS_BYTES);
    if (kind === TX_KIND_CODE.call) {
      readMethod(r, false);
      r.skip(r.varint());
    } else if (kind === TX_KIND_CODE.deploy) {
      r.skip(r.varint());
      r.skip(r.varint());
    }
    r.skip(SIGNATURE_BYTES);
    return r.pos === r.end;
  } catch (e) {
    if (e instanceof DecodeError) return false;
    throw e;
  }
}

/** The transaction id (T11): BLAKE3-256 of the full encoding, signature included. */
export function txHash(tx: Uint8Array | Tx): Uint8Array {
  return hash(tx instanceof Uint8Array ? tx : encodeTx(tx));
}

/** Intrinsic gas (T16; the formula is at TX_BASE_GAS). */
export function intrinsicGas(tx: Tx): number {
  return intrinsicGasOf(tx, encodedTxSize(tx));
}

/** The formula, for a checked Tx whose encoding is `size` bytes. */
function intrinsicGasOf(tx: Tx, size: number): number {
  const gas = TX_BASE_GAS + TX_BYTE_GAS * size;
  return tx.kind === "deploy" ? gas + DEPLOY_BASE_GAS + DEPLOY_CODE_BYTE_GAS * (tx.code as Uint8Array).length : gas;
}

// ---------------------------------------------------------------------------
// Keys and signatures

/** An ed25519 key pair: the raw public key (the address) and node:crypto's private key. */
export interface TxKeyPair {
  publicKey: Uint8Array;
  privateKey: KeyObject;
}

/** DER prefixes that wrap a raw 32-byte seed (PKCS#8) or public key (SPKI) for Ed25519 (RFC 8410). */
const PKCS8_ED25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_ED25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/**
 * The ed25519 key pair of a 32-byte seed (RFC 8032 private key). Deterministic:
 * for tests, the demo and benches; real keys come from the node's key store.
 */
export function keyPairFromSeed(seed: Uint8Array): TxKeyPair {
  if (!isBytes(seed, 32)) {
    throw new HeliosError("INVALID_ARGUMENT", { length: (seed as { length?: unknown })?.length }, "a seed is 32 bytes");
  }
  const der = Buffer.alloc(PKCS8_ED25519.length + 32);
  der.set(PKCS8_ED25519, 0);
  der.set(seed, PKCS8_ED25519.length);
  const privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  der.fill(0);
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519.length));
  return { publicKey, privateKey };
}

/** The canonical object shape of a transaction (decodeTx's), with `signature` attached. */
function withSignature(u: UnsignedTx, signature: Uint8Array): Tx {
  const { kind, chainId, nonce, gasLimit, fee, from, value } = u;
  if (kind === "transfer") {
    return { kind, chainId, nonce, gasLimit, fee, from, to: u.to as Uint8Array, value, signature };
  }
  const args = u.args ?? new Uint8Array(0);
  if (kind === "call") {
    const method = u.method as string;
    return { kind, chainId, nonce, gasLimit, fee, from, to: u.to as Uint8Array, value, method, args, signature };
  }
  return { kind, chainId, nonce, gasLimit, fee, from, value, args, code: u.code as Uint8Array, signature };
}

/**
 * Signs a transaction. `key` is a key pair (then `from` must be its public
 * key) or a node:crypto private key (then the caller vouches for `from`).
 */
export function signTx(unsigned: UnsignedTx, key: TxKeyPair | KeyObject): Tx {
  const msg = signingBytes(unsigned);
  let privateKey: KeyObject;
  if ("privateKey" in key) {
    if (!isBytes(key.publicKey, 32) || !equalBytes(key.publicKey, unsigned.from)) {
      throw new HeliosError("INVALID_ARGUMENT", {}, "tx.from is not the signing key's public key");
    }
    privateKey = key.privateKey;
  } else privateKey = key;
  const sig = cryptoSign(null, msg, privateKey);
  return withSignature(unsigned, new Uint8Array(sig));
}

/** The seven 255-bit encodings (sign bit masked) of the eight points of small order (libsodium's blocklist). */
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((h) => Uint8Array.from(Buffer.from(h, "hex")));

/**
 * Public keys accepted as senders (T14): the canonical encoding (y < p) of a
 * point that is not of small order. Small-order keys would let anyone sign
 * for the address (S = 0 and R = the identity verify for every message under
 * OpenSSL's cofactorless check), and non-canonical encodings would give one
 * key two addresses. The seven 255-bit encodings of the eight torsion points
 * (libsodium's list; either sign bit) are refused; p and p + 1 are also
 * non-canonical, so the y ≥ p test covers them.
 */
export function isUsablePublicKey(pub: Uint8Array, off = 0): boolean {
  if (!(pub instanceof Uint8Array) || off < 0 || pub.length < off + PUBLIC_KEY_BYTES) return false;
  // y ≥ p = 2^255 − 19: the top byte (sign bit masked) is 0x7f, bytes 1..30 are 0xff, byte 0 ≥ 0xed.
  if (((pub[off + 31] as number) & 0x7f) === 0x7f && (pub[off] as number) >= 0xed) {
    let i = 1;
    while (i < 31 && pub[off + i] === 0xff) i++;
    if (i === 31) return false;
  }
  for (const s of SMALL_ORDER) {
    let i = 0;
    while (i < 31 && pub[off + i] === s[i]) i++;
    if (i === 31 && ((pub[off + 31] as number) & 0x7f) === s[31]) return false;
  }
  return true;
}

/** The group order L, little-endian (the byte order of S in a signature). */
const ORDER_L = Uint8Array.from(Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex"));

/** True when the 32-byte little-endian scalar at b[off] is below L (RFC 8032 §5.1.7 step 1). */
function scalarBelowOrder(b: Uint8Array, off: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = b[off + i] as number;
    const l = ORDER_L[i] as number;
    if (x !== l) return x < l;
  }
  return false;
}

/**
 * KeyObjects by public key (latin1 string of its 32 bytes), two generations
 * of KEY_CACHE_GENERATION each: building one from DER costs ≈ 80 µs, as much
 * as most of a verification, and senders repeat.
 */
const KEY_CACHE_GENERATION = 4096;
let keysCur = new Map<string, KeyObject>();
let keysPrev = new Map<string, KeyObject>();
const spkiScratch = Buffer.alloc(SPKI_ED25519.length + PUBLIC_KEY_BYTES);
spkiScratch.set(SPKI_ED25519, 0);

/** The KeyObject for the public key at b[off, off+32), or null when the key is not usable. */
function publicKeyObject(b: Uint8Array, off: number): KeyObject | null {
  const id = Buffer.from(b.buffer, b.byteOffset + off, PUBLIC_KEY_BYTES).toString("latin1");
  let k = keysCur.get(id);
  if (k !== undefined) return k;
  k = keysPrev.get(id);
  if (k === undefined) {
    if (!isUsablePublicKey(b, off)) return null;
    spkiScratch.set(b.subarray(off, off + PUBLIC_KEY_BYTES), SPKI_ED25519.length);
    try {
      k = createPublicKey({ key: spkiScratch, format: "der", type: "spki" });
    } catch {
      return null;
    }
  }
  if (keysCur.size >= KEY_CACHE_GENERATION) {
    keysPrev = keysCur;
    keysCur = new Map();
  }
  keysCur.set(id, k);
  return k;
}

/** Reused for "domain ‖ body" up to this size; larger messages get their own buffer. */
const MSG_SCRATCH_MAX = 64 * 1024;
let msgScratch = Buffer.alloc(1024);
msgScratch.set(DOMAIN, 0);

/** Verifies the signature of bytes already known to decode. */
function verifyEncoded(bytes: Uint8Array): boolean {
  const bodyLen = bytes.length - SIGNATURE_BYTES;
  if (!scalarBelowOrder(bytes, bodyLen + 32)) return false;
  const key = publicKeyObject(bytes, TX_FROM_OFFSET);
  if (key === null) return false;
  const need = DOMAIN.length + bodyLen;
  let msg: Buffer;
  if (need <= msgScratch.length) msg = msgScratch;
  else if (need <= MSG_SCRATCH_MAX) {
    msgScratch = Buffer.alloc(MSG_SCRATCH_MAX);
    msgScratch.set(DOMAIN, 0);
    msg = msgScratch;
  } else {
    msg = Buffer.alloc(need);
    msg.set(DOMAIN, 0);
  }
  msg.set(bytes.subarray(0, bodyLen), DOMAIN.length);
  try {
    return cryptoVerify(null, msg.subarray(0, need), key, bytes.subarray(bodyLen));
  } catch {
    return false;
  }
}

/**
 * True when the transaction's signature verifies for its `from` key (T12–T14).
 * Bytes that do not decode give false; a Tx object that breaks the model
 * throws INVALID_ARGUMENT (it is a bad argument, not a bad signature).
 */
export function verifyTxSignature(tx: Tx | Uint8Array): boolean {
  if (tx instanceof Uint8Array) return isWellFormedTx(tx) && verifyEncoded(tx);
  return verifyEncoded(encodeTx(tx));
}

// ---------------------------------------------------------------------------
// Stateless admission

export interface StatelessCheckOptions {
  /** This chain's id. */
  chainId: number;
  /** Largest accepted encoding, bytes. */
  maxTxBytes: number;
  /** A transaction's gas limit may not exceed it. */
  blockGasLimit: number;
  /** Skip verification for hashes found here; add the hash after a verification succeeds. */
  sigCache?: SigCache;
  /** txHash(bytes), when the caller already has it (saves hashing twice). */
  hash?: Uint8Array;
}

/**
 * The checks that need no state (T17), in this order: size (before decoding),
 * decoding, chain id, gas limit against the block limit, gas limit against
 * the intrinsic gas, signature. Returns the decoded Tx or throws a
 * HeliosError: TX_OVERSIZE, TX_MALFORMED (a DecodeError), TX_WRONG_CHAIN,
 * TX_GAS_ABOVE_BLOCK_LIMIT, TX_GAS_BELOW_INTRINSIC or TX_BAD_SIGNATURE.
 * Nonce and balance are the executor's (stateful) checks.
 */
export function checkTxStateless(bytes: Uint8Array, opts: StatelessCheckOptions): Tx {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError("TX_MALFORMED", { reason: "not a Uint8Array" });
  if (bytes.length > opts.maxTxBytes) {
    throw new HeliosError("TX_OVERSIZE", { size: bytes.length, max: opts.maxTxBytes });
  }
  const tx = decodeTx(bytes);
  if (tx.chainId !== opts.chainId) {
    throw new HeliosError("TX_WRONG_CHAIN", { chainId: tx.chainId, expected: opts.chainId });
  }
  if (tx.gasLimit > opts.blockGasLimit) {
    throw new HeliosError("TX_GAS_ABOVE_BLOCK_LIMIT", { gasLimit: tx.gasLimit, blockGasLimit: opts.blockGasLimit });
  }
  const intrinsic = intrinsicGasOf(tx, bytes.length);
  if (tx.gasLimit < intrinsic) throw new HeliosError("TX_GAS_BELOW_INTRINSIC", { gasLimit: tx.gasLimit, intrinsic });
  const cache = opts.sigCache;
  if (cache !== undefined) {
    const h = opts.hash ?? hash(bytes);
    if (cache.has(h)) return tx;
    if (!verifyEncoded(bytes)) throw badSignature(tx);
    cache.add(h);
    return tx;
  }
  if (!verifyEncoded(bytes)) throw badSignature(tx);
  return tx;
}

function badSignature(tx: Tx): HeliosError {
  return new HeliosError("TX_BAD_SIGNATURE", { from: bytesToHex(tx.from), nonce: tx.nonce });
}
