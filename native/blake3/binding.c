/*
 * N-API binding for the Helios BLAKE3 kernel (plain C, node_api.h only).
 *
 * Every entry point validates its arguments completely before the kernel
 * touches memory: types, array lengths, offsets, slot and triple indices. On
 * bad input nothing is written and the function returns [status, index]
 * (status codes below, mirrored in src/core/hash.ts), which the TypeScript
 * wrapper turns into a HeliosError("INVALID_ARGUMENT"). On success it returns
 * undefined. No entry point throws or aborts on bad input.
 *
 * Exports: hash(data, out, outOff, key), hashMany(data, offsets, count, out,
 * slots, key), hashPairs(slab, triples, count, key), impl (string), and the
 * single-call fast paths: scratch (an ArrayBuffer owned by this environment)
 * plus hashScratch(len, keyed) and nodeIdScratch(len, kind, a, b, c).
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blake3_kernel.h"

/* Status codes: keep in sync with STATUS in src/core/hash.ts. */
enum {
  ST_OK = 0,
  ST_ARGS = 1,         /* N-API could not read the arguments */
  ST_DATA_TYPE = 2,    /* data / slab is not a Uint8Array */
  ST_OUT_TYPE = 3,     /* out is not a Uint8Array */
  ST_OFFSETS_TYPE = 4, /* offsets is not a Uint32Array */
  ST_SLOTS_TYPE = 5,   /* outSlots is neither null nor an Int32Array */
  ST_TRIPLES_TYPE = 6, /* triples is not an Int32Array */
  ST_KEY = 7,          /* key is neither null nor a Uint32Array of 8 words */
  ST_COUNT = 8,        /* count is not an integer in range for its arrays */
  ST_OFFSET_RANGE = 9, /* offsets[index] > data.length */
  ST_OFFSET_ORDER = 10, /* offsets[index] > offsets[index + 1] */
  ST_SLOT_RANGE = 11,  /* outSlots[index] < 0 or its 32 bytes exceed out */
  ST_OUT_SMALL = 12,   /* out shorter than 32 * count (no outSlots) */
  ST_TRIPLE_RANGE = 13, /* triples[index] < 0 or its 32 bytes exceed the slab */
  ST_OUT_OFFSET = 14,  /* outOff is not an integer with outOff + 32 <= out.length */
};

/* Non-NULL address for zero-length arrays (their data pointer may be NULL). */
static uint8_t g_empty[1];

static napi_value fail(napi_env env, int status, double index) {
  napi_value arr, a, b;
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok) return NULL;
  if (napi_create_int32(env, status, &a) != napi_ok || napi_create_double(env, index, &b) != napi_ok) return NULL;
  napi_set_element(env, arr, 0, a);
  napi_set_element(env, arr, 1, b);
  return arr;
}

static napi_value ok(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* Reads a typed array of the wanted type; 0 if v is anything else. */
static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type t;
  size_t n;
  void *d;
  if (napi_get_typedarray_info(env, v, &t, &n, &d, NULL, NULL) != napi_ok || t != want) return 0;
  *data = d != NULL ? d : (void *)g_empty;
  *len = n;
  return 1;
}

static int nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  return t == napi_null || t == napi_undefined;
}

/* key: null/undefined -> *out NULL; Uint32Array(8) -> copied to buf. 0 on bad key. */
static int read_key(napi_env env, napi_value v, uint32_t buf[8], const uint32_t **out) {
  void *d;
  size_t n;
  if (typed(env, v, napi_uint32_array, &d, &n)) {
    if (n != HB3_KEY_WORDS) return 0;
    memcpy(buf, d, 32);
    *out = buf;
    return 1;
  }
  if (nullish(env, v)) {
    *out = NULL;
    return 1;
  }
  return 0;
}

/* A non-negative integer number <= max. */
static int read_index(napi_env env, napi_value v, double max, uint64_t *out) {
  double x;
  if (napi_get_value_double(env, v, &x) != napi_ok) return 0;
  if (!(x >= 0 && x <= max) || x != (double)(uint64_t)x) return 0;
  *out = (uint64_t)x;
  return 1;
}

/* hash(data: Uint8Array, out: Uint8Array, outOff: number, key: Uint32Array | null) */
static napi_value js_hash(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  /* Missing trailing arguments read as undefined (napi_get_cb_info fills them). */
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return fail(env, ST_ARGS, -1);
  void *data, *out;
  size_t dlen, olen;
  uint64_t off;
  uint32_t kbuf[8];
  const uint32_t *key;
  if (!typed(env, argv[0], napi_uint8_array, &data, &dlen)) return fail(env, ST_DATA_TYPE, -1);
  if (!typed(env, argv[1], napi_uint8_array, &out, &olen)) return fail(env, ST_OUT_TYPE, -1);
  if (!read_index(env, argv[2], 9007199254740991.0, &off) || olen < HB3_OUT_LEN || off > olen - HB3_OUT_LEN)
    return fail(env, ST_OUT_OFFSET, -1);
  if (!read_key(env, argv[3], kbuf, &key)) return fail(env, ST_KEY, -1);
  hb3_hash((const uint8_t *)data, dlen, key, (uint8_t *)out + off);
  return ok(env);
}

/* hashMany(data, offsets, count, out, outSlots | null, key | null) */
static napi_value js_hash_many(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) return fail(env, ST_ARGS, -1);
  void *data, *offp, *out, *slotp = NULL;
  size_t dlen, olen, outlen, slen = 0;
  uint64_t count;
  uint32_t kbuf[8];
  const uint32_t *key;
  if (!typed(env, argv[0], napi_uint8_array, &data, &dlen)) return fail(env, ST_DATA_TYPE, -1);
  if (!typed(env, argv[1], napi_uint32_array, &offp, &olen)) return fail(env, ST_OFFSETS_TYPE, -1);
  if (!typed(env, argv[3], napi_uint8_array, &out, &outlen)) return fail(env, ST_OUT_TYPE, -1);
  int has_slots = typed(env, argv[4], napi_int32_array, &slotp, &slen);
  if (!has_slots && !nullish(env, argv[4])) return fail(env, ST_SLOTS_TYPE, -1);
  if (!read_key(env, argv[5], kbuf, &key)) return fail(env, ST_KEY, -1);
  if (!read_index(env, argv[2], 4294967295.0, &count)) return fail(env, ST_COUNT, -1);
  if (count == 0) return ok(env);
  if (olen == 0 || count > olen - 1 || (has_slots && count > slen)) return fail(env, ST_COUNT, -1);

  const uint32_t *offsets = (const uint32_t *)offp;
  for (uint64_t i = 0; i < count; i++) {
    if (offsets[i] > offsets[i + 1]) return fail(env, ST_OFFSET_ORDER, (double)i);
  }
  /* Non-decreasing, so the last offset bounds them all. */
  if (offsets[count] > dlen) return fail(env, ST_OFFSET_RANGE, (double)count);
  if (has_slots) {
    const int32_t *slots = (const int32_t *)slotp;
    uint64_t nslots = outlen / HB3_OUT_LEN;
    for (uint64_t i = 0; i < count; i++) {
      if (slots[i] < 0 || (uint64_t)slots[i] >= nslots) return fail(env, ST_SLOT_RANGE, (double)i);
    }
  } else if ((uint64_t)outlen < count * HB3_OUT_LEN) {
    return fail(env, ST_OUT_SMALL, -1);
  }
  hb3_hash_many((const uint8_t *)data, offsets, (size_t)count, (uint8_t *)out,
                has_slots ? (const int32_t *)slotp : NULL, key);
  return ok(env);
}

/* hashPairs(slab: Uint8Array, triples: Int32Array, count: number, key | null) */
static napi_value js_hash_pairs(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return fail(env, ST_ARGS, -1);
  void *slab, *trip;
  size_t slablen, tlen;
  uint64_t count;
  uint32_t kbuf[8];
  const uint32_t *key;
  if (!typed(env, argv[0], napi_uint8_array, &slab, &slablen)) return fail(env, ST_DATA_TYPE, -1);
  if (!typed(env, argv[1], napi_int32_array, &trip, &tlen)) return fail(env, ST_TRIPLES_TYPE, -1);
  if (!read_key(env, argv[3], kbuf, &key)) return fail(env, ST_KEY, -1);
  if (!read_index(env, argv[2], 4294967295.0, &count) || count > tlen / 3) return fail(env, ST_COUNT, -1);
  const int32_t *t = (const int32_t *)trip;
  uint64_t nslots = slablen / HB3_OUT_LEN;
  for (uint64_t i = 0; i < 3 * count; i++) {
    if (t[i] < 0 || (uint64_t)t[i] >= nslots) return fail(env, ST_TRIPLE_RANGE, (double)i);
  }
  hb3_hash_pairs((uint8_t *)slab, t, (size_t)count, key);
  return ok(env);
}

/*
 * Single-call fast path. Reading typed-array arguments through N-API costs
 * more than hashing a 64-byte message, so for short messages the wrapper
 * copies the input into a per-environment scratch ArrayBuffer and passes
 * only the length: layout [0, 1024) input, [1024, 1056) digest, [1056, 1088)
 * key words. `len` is clamped to 1024, so no argument can reach outside it.
 */
#define SCRATCH_IN 0
#define SCRATCH_OUT HB3_CHUNK_LEN
#define SCRATCH_KEY (HB3_CHUNK_LEN + HB3_OUT_LEN)
#define SCRATCH_BYTES (HB3_CHUNK_LEN + HB3_OUT_LEN + 32)

/* hashScratch(len: number, keyed: number): digest of scratch[0, len) -> scratch[1024, 1056). */
static napi_value js_hash_scratch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  uint32_t len = 0, keyed = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL || argc < 2)
    return fail(env, ST_ARGS, -1);
  if (napi_get_value_uint32(env, argv[0], &len) != napi_ok || len > HB3_CHUNK_LEN) return fail(env, ST_COUNT, -1);
  if (napi_get_value_uint32(env, argv[1], &keyed) != napi_ok) return fail(env, ST_KEY, -1);
  uint8_t *s = (uint8_t *)data;
  uint32_t key[8];
  if (keyed) memcpy(key, s + SCRATCH_KEY, 32);
  hb3_hash(s + SCRATCH_IN, len, keyed ? key : NULL, s + SCRATCH_OUT);
  return NULL; /* undefined */
}

/*
 * Node ids in one call (the durable store re-hashes every node it reads from
 * disk, so the per-call cost matters). The wrapper parses and validates the
 * node in TypeScript, copies its bytes to scratch[NODE_AT, NODE_AT + len)
 * and passes offsets only; the three domain keys sit at KEYS_AT (leaf, node,
 * inner). Every offset is checked against len here before any read.
 *   kind 0 (leaf):   a = keyOff, b = keyLen, c = valueOff (value runs to len)
 *                    id = keyed(K_LEAF, key || BLAKE3(value))
 *   kind 1 (branch): a = headerOff, b = headerLen, c = childOff (children run to len)
 *                    id = keyed(K_NODE, header || inner(children)), inner =
 *                    pairwise rounds with K_INNER, odd last item carried up
 */
#define KEYS_AT SCRATCH_BYTES
#define NODE_AT (SCRATCH_BYTES + 96)
#define NODE_MAX 8192
#define SCRATCH_TOTAL (NODE_AT + NODE_MAX)

/* nodeIdScratch(len, kind, a, b, c): id -> scratch[SCRATCH_OUT, +32); returns undefined, or [status, -1]. */
static napi_value js_node_id_scratch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void *data = NULL;
  uint32_t v[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok || data == NULL || argc < 5)
    return fail(env, ST_ARGS, -1);
  for (int i = 0; i < 5; i++)
    if (napi_get_value_uint32(env, argv[i], &v[i]) != napi_ok) return fail(env, ST_ARGS, i);
  uint32_t len = v[0], kind = v[1], a = v[2], b = v[3], c = v[4];
  uint8_t *s = (uint8_t *)data;
  const uint8_t *node = s + NODE_AT;
  uint32_t keys[3][8];
  memcpy(keys, s + KEYS_AT, 96);
  uint8_t msg[HB3_CHUNK_LEN];
  if (len > NODE_MAX) return fail(env, ST_COUNT, -1);
  if (kind == 0) {
    if (a > len || b > 256 || b > len - a || c > len) return fail(env, ST_OFFSET_RANGE, -1);
    memcpy(msg, node + a, b);
    hb3_hash(node + c, len - c, NULL, msg + b);
    hb3_hash(msg, b + HB3_OUT_LEN, keys[0], s + SCRATCH_OUT);
    return NULL;
  }
  if (kind != 1) return fail(env, ST_COUNT, -1);
  if (a > len || b > len - a || b > HB3_CHUNK_LEN - HB3_OUT_LEN || c > len || (len - c) % HB3_OUT_LEN != 0)
    return fail(env, ST_OFFSET_RANGE, -1);
  uint32_t n = (len - c) / HB3_OUT_LEN;
  if (n < 1 || n > 17) return fail(env, ST_COUNT, -1);
  uint8_t slab[2 * 17 * HB3_OUT_LEN];
  int32_t t[3 * 9];
  memcpy(slab, node + c, (size_t)n * HB3_OUT_LEN);
  while (n > 1) {
    uint32_t pairs = n >> 1;
    for (uint32_t i = 0; i < pairs; i++) {
      t[3 * i] = (int32_t)(2 * i);
      t[3 * i + 1] = (int32_t)(2 * i + 1);
      t[3 * i + 2] = (int32_t)(n + i);
    }
    hb3_hash_pairs(slab, t, pairs, keys[2]);
    memmove(slab, slab + (size_t)n * HB3_OUT_LEN, (size_t)pairs * HB3_OUT_LEN);
    if (n & 1) memmove(slab + (size_t)pairs * HB3_OUT_LEN, slab + (size_t)(n - 1) * HB3_OUT_LEN, HB3_OUT_LEN);
    n = pairs + (n & 1);
  }
  memcpy(msg, node + a, b);
  memcpy(msg + b, slab, HB3_OUT_LEN);
  hb3_hash(msg, b + HB3_OUT_LEN, keys[1], s + SCRATCH_OUT);
  return NULL;
}

/* Runs once when the shared object is loaded (before any Node environment,
 * including worker threads, can call in), so the dispatch choice is never
 * written concurrently. HELIOS_BLAKE3_IMPL=portable forces the fallback. */
__attribute__((constructor)) static void helios_blake3_select(void) {
  const char *want = getenv("HELIOS_BLAKE3_IMPL");
  hb3_init(want != NULL && strcmp(want, "portable") == 0);
}

NAPI_MODULE_INIT() {
  napi_value impl, scratch;
  napi_ref scratch_ref;
  void *scratch_data = NULL;
  napi_property_descriptor props[7];
  memset(props, 0, sizeof props);
  if (napi_create_string_utf8(env, hb3_impl_name(), NAPI_AUTO_LENGTH, &impl) != napi_ok) return NULL;
  /* One scratch buffer per environment (main thread, each worker). The strong
   * reference keeps it (and so the pointer handed to hashScratch) alive for
   * the environment's lifetime; ArrayBuffer backing stores never move. */
  if (napi_create_arraybuffer(env, SCRATCH_TOTAL, &scratch_data, &scratch) != napi_ok || scratch_data == NULL)
    return NULL;
  memset(scratch_data, 0, SCRATCH_TOTAL);
  if (napi_create_reference(env, scratch, 1, &scratch_ref) != napi_ok) return NULL;
  props[0].utf8name = "hash";
  props[0].method = js_hash;
  props[0].attributes = napi_enumerable;
  props[1].utf8name = "hashMany";
  props[1].method = js_hash_many;
  props[1].attributes = napi_enumerable;
  props[2].utf8name = "hashPairs";
  props[2].method = js_hash_pairs;
  props[2].attributes = napi_enumerable;
  props[3].utf8name = "impl";
  props[3].value = impl;
  props[3].attributes = napi_enumerable;
  props[4].utf8name = "hashScratch";
  props[4].method = js_hash_scratch;
  props[4].data = scratch_data;
  props[4].attributes = napi_enumerable;
  props[5].utf8name = "scratch";
  props[5].value = scratch;
  props[5].attributes = napi_enumerable;
  props[6].utf8name = "nodeIdScratch";
  props[6].method = js_node_id_scratch;
  props[6].data = scratch_data;
  props[6].attributes = napi_enumerable;
  if (napi_define_properties(env, exports, 7, props) != napi_ok) return NULL;
  return exports;
}
