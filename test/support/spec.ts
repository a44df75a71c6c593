/**
 * An independent, deliberately naive implementation of the root defined in
 * docs/spec/merkle.md, over a sorted list of entries, hashed with the
 * @noble/hashes BLAKE3 oracle. It shares no code with src/merkle, so the
 * batched commit is checked against the written spec, not against itself.
 */
import { blake3 } from "@noble/hashes/blake3.js";

const te = new TextEncoder();
export const SPEC_K_LEAF = blake3(te.encode("helios/merkle/v1/leaf"));
export const SPEC_K_NODE = blake3(te.encode("helios/merkle/v1/branch"));
export const SPEC_K_INNER = blake3(te.encode("helios/merkle/v1/inner"));

function nibbles(key: Uint8Array): number[] {
  const out: number[] = [];
  for (const b of key) out.push(b >> 4, b & 15);
  return out;
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function specLeafId(key: Uint8Array, value: Uint8Array): Uint8Array {
  return blake3(cat(key, blake3(value)), { key: SPEC_K_LEAF });
}

export function specInner(ids: Uint8Array[]): Uint8Array {
  if (ids.length === 1) return ids[0] as Uint8Array;
  let k = 1;
  while (k * 2 < ids.length) k *= 2;
  return blake3(cat(specInner(ids.slice(0, k)), specInner(ids.slice(k))), { key: SPEC_K_INNER });
}

export function specHeader(skip: number[], bitmap: number): Uint8Array {
  const packed: number[] = [];
  for (let i = 0; i < skip.length; i += 2) packed.push(((skip[i] as number) << 4) | (skip[i + 1] ?? 0));
  return cat(varint(skip.length), packed, [bitmap & 0xff, (bitmap >> 8) & 0xff, (bitmap >> 16) & 0xff]);
}

type E = { key: Uint8Array; nib: number[]; value: Uint8Array };

function build(es: E[], depth: number): Uint8Array {
  if (es.length === 1) {
    const e = es[0] as E;
    return specLeafId(e.key, e.value);
  }
  // Longest common prefix of all keys from depth.
  let lcp = 0;
  for (;;) {
    const d = depth + lcp;
    const first = (es[0] as E).nib;
    if (d >= first.length) break;
    const c = first[d];
    if (!es.every((e) => d < e.nib.length && e.nib[d] === c)) break;
    lcp++;
  }
  const skip = (es[0] as E).nib.slice(depth, depth + lcp);
  const d = depth + lcp;
  const groups: E[][] = Array.from({ length: 17 }, () => []);
  for (const e of es) (groups[e.nib.length === d ? 0 : (e.nib[d] as number) + 1] as E[]).push(e);
  let bitmap = 0;
  const ids: Uint8Array[] = [];
  groups.forEach((g, s) => {
    if (g.length === 0) return;
    bitmap |= 1 << s;
    ids.push(build(g, s === 0 ? d : d + 1));
  });
  return blake3(cat(specHeader(skip, bitmap), specInner(ids)), { key: SPEC_K_NODE });
}

/** The spec root of a key → value set (32 zero bytes when empty). */
export function specRoot(entries: Iterable<[Uint8Array, Uint8Array]>): Uint8Array {
  const es: E[] = [];
  for (const [key, value] of entries) es.push({ key, nib: nibbles(key), value });
  if (es.length === 0) return new Uint8Array(32);
  es.sort((a, b) => Buffer.compare(a.key, b.key));
  return build(es, 0);
}
