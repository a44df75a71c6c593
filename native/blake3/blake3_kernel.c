/*
 * Helios BLAKE3-256 kernel. See blake3_kernel.h for the contract and
 * docs/hash-kernel.md for the design.
 *
 * Written for Helios from the BLAKE3 specification:
 *  - compression: 16-word state (8 CV words, 4 IV words, 64-bit counter,
 *    block length, flags), 7 rounds of column + diagonal G mixing, with the
 *    message words permuted between rounds;
 *  - a chunk is up to 1024 bytes = 16 blocks of 64 bytes, CHUNK_START on its
 *    first block and CHUNK_END on its last; a message of one chunk puts ROOT
 *    on that last block;
 *  - longer messages: chunk CVs (counter = chunk index) are combined by
 *    PARENT compressions into a left-complete binary tree; ROOT goes only on
 *    the final (top) compression.
 *
 * Layout: scalar single-message code; an 8-lane AVX2 "many messages" kernel
 * (one message or one chunk per 32-bit lane, compiled with
 * __attribute__((target("avx2"))) and chosen at run time); a portable 4-lane
 * kernel written with GCC vector extensions (SSE2 on x86-64, NEON on arm64);
 * and the drivers (hash_many, hash_pairs, tree) that feed 8 lanes at a time.
 */
#include "blake3_kernel.h"

#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "helios_blake3 assumes a little-endian target (BLAKE3 words are little-endian)"
#endif

/* -DHB3_PORTABLE_ONLY builds without the AVX2 path (as on non-x86 targets). */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(HB3_PORTABLE_ONLY)
#define HB3_HAVE_X86 1
#include <immintrin.h>
#endif

#define HB3_ALIGN(n) __attribute__((aligned(n)))
#define HB3_LANES 8
/* Chunks per tree group: a group's chunk CVs are reduced to one subtree CV. */
#define HB3_GROUP_CHUNKS 64

static const uint32_t IV[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                               0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

/* Message word order for each of the 7 rounds: row r+1 is row r permuted by
 * [2,6,3,10,7,0,4,13,1,11,12,5,9,14,15,8]. */
static const uint8_t SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

/* 64 zero bytes: input of unused lanes. */
static const uint8_t ZERO_BLOCK[HB3_BLOCK_LEN] HB3_ALIGN(32) = {0};

/* ------------------------------------------------------------------------ */
/* Scalar: one compression at a time (single messages, tree tops).           */
/* ------------------------------------------------------------------------ */

static inline uint32_t rotr32(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

#define HB3_G1(a, b, c, d, x, y)          \
  do {                                    \
    v[a] = v[a] + v[b] + (x);             \
    v[d] = rotr32(v[d] ^ v[a], 16);       \
    v[c] = v[c] + v[d];                   \
    v[b] = rotr32(v[b] ^ v[c], 12);       \
    v[a] = v[a] + v[b] + (y);             \
    v[d] = rotr32(v[d] ^ v[a], 8);        \
    v[c] = v[c] + v[d];                   \
    v[b] = rotr32(v[b] ^ v[c], 7);        \
  } while (0)

/* cv <- first half of compress(cv, m, counter, blen, flags). */
static void compress_scalar(uint32_t cv[8], const uint32_t m[16], uint64_t counter, uint32_t blen, uint32_t flags) {
  uint32_t v[16] = {cv[0], cv[1], cv[2], cv[3], cv[4],           cv[5],
                    cv[6], cv[7], IV[0], IV[1], IV[2],           IV[3],
                    (uint32_t)counter, (uint32_t)(counter >> 32), blen, flags};
  _Pragma("GCC unroll 7") for (int r = 0; r < 7; r++) {
    const uint8_t *s = SCHEDULE[r];
    HB3_G1(0, 4, 8, 12, m[s[0]], m[s[1]]);
    HB3_G1(1, 5, 9, 13, m[s[2]], m[s[3]]);
    HB3_G1(2, 6, 10, 14, m[s[4]], m[s[5]]);
    HB3_G1(3, 7, 11, 15, m[s[6]], m[s[7]]);
    HB3_G1(0, 5, 10, 15, m[s[8]], m[s[9]]);
    HB3_G1(1, 6, 11, 12, m[s[10]], m[s[11]]);
    HB3_G1(2, 7, 8, 13, m[s[12]], m[s[13]]);
    HB3_G1(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; i++) cv[i] = v[i] ^ v[i + 8];
}

/* CV (or root digest words when root_flag == HB3_ROOT) of one chunk of len <= 1024 bytes. */
static void chunk_scalar(const uint8_t *p, size_t len, const uint32_t key[8], uint64_t counter, uint32_t flags,
                         uint32_t root_flag, uint32_t cv[8]) {
  memcpy(cv, key, 32);
  size_t nb = len == 0 ? 1 : (len + HB3_BLOCK_LEN - 1) / HB3_BLOCK_LEN;
  for (size_t j = 0; j < nb; j++) {
    uint32_t m[16];
    size_t off = j * HB3_BLOCK_LEN;
    size_t rem = len - off;
    uint32_t blen = rem >= HB3_BLOCK_LEN ? HB3_BLOCK_LEN : (uint32_t)rem;
    if (blen == HB3_BLOCK_LEN) {
      memcpy(m, p + off, HB3_BLOCK_LEN);
    } else {
      memset(m, 0, sizeof m);
      if (blen > 0) memcpy(m, p + off, blen);
    }
    uint32_t f = flags;
    if (j == 0) f |= HB3_CHUNK_START;
    if (j == nb - 1) f |= HB3_CHUNK_END | root_flag;
    compress_scalar(cv, m, counter, blen, f);
  }
}

/* out <- PARENT compression of left || right. out may alias left or right. */
static void parent_scalar(const uint8_t left[32], const uint8_t right[32], const uint32_t key[8], uint32_t flags,
                          uint8_t out[32]) {
  uint32_t m[16];
  uint32_t cv[8];
  memcpy(m, left, 32);
  memcpy(m + 8, right, 32);
  memcpy(cv, key, 32);
  compress_scalar(cv, m, 0, HB3_BLOCK_LEN, flags | HB3_PARENT);
  memcpy(out, cv, 32);
}

/* ------------------------------------------------------------------------ */
/* Lane kernels: 8 independent inputs in lock-step.                          */
/* ------------------------------------------------------------------------ */

/*
 * chunks: lane l hashes the chunk ptr[l][0 .. len[l]) (len <= 1024) with
 * chunk counter ctr[l]; ROOT on its last block when bit l of rootmask is set.
 * Lanes may have different lengths: a lane past its last block keeps its CV.
 * Writes the 32-byte CV / digest to out[l]. Lanes >= nlanes are padding
 * (callers still pass valid pointers for them).
 */
typedef void (*chunks_fn)(const uint8_t *const ptr[HB3_LANES], const size_t len[HB3_LANES],
                          const uint32_t key[8], const uint64_t ctr[HB3_LANES], uint32_t flags, uint32_t rootmask,
                          uint8_t *const out[HB3_LANES], unsigned nlanes);
/*
 * pairs: lane l compresses the single 64-byte block a[l][0..32) || b[l][0..32)
 * with counter 0, block length 64 and `flags`, and writes 32 bytes to out[l].
 * All inputs are read before any output is written.
 */
typedef void (*pairs_fn)(const uint8_t *const a[HB3_LANES], const uint8_t *const b[HB3_LANES],
                         uint8_t *const out[HB3_LANES], const uint32_t key[8], uint32_t flags, unsigned nlanes);

/* Per-lane block setup shared by both lane kernels: pointer to 64 readable
 * bytes (the data itself, or a zero-padded copy), block length, flags, and
 * whether the lane is still active at block j. */
static inline int lane_block(const uint8_t *p, size_t len, size_t j, size_t nb, uint32_t flags, int root,
                             uint8_t pad[HB3_BLOCK_LEN], const uint8_t **bp, uint32_t *bl, uint32_t *fl) {
  if (j >= nb) {
    *bp = ZERO_BLOCK;
    *bl = 0;
    *fl = 0;
    return 0;
  }
  size_t off = j * HB3_BLOCK_LEN;
  size_t rem = len - off;
  if (rem >= HB3_BLOCK_LEN) {
    *bp = p + off;
    *bl = HB3_BLOCK_LEN;
  } else {
    memset(pad, 0, HB3_BLOCK_LEN);
    if (rem > 0) memcpy(pad, p + off, rem);
    *bp = pad;
    *bl = (uint32_t)rem;
  }
  uint32_t f = flags;
  if (j == 0) f |= HB3_CHUNK_START;
  if (j == nb - 1) f |= HB3_CHUNK_END | (root ? HB3_ROOT : 0u);
  *fl = f;
  return 1;
}

static inline size_t blocks_of(size_t len) { return len == 0 ? 1 : (len + HB3_BLOCK_LEN - 1) / HB3_BLOCK_LEN; }

/* ---- portable: 4 lanes with GCC vector extensions ---------------------- */

typedef uint32_t v4u __attribute__((vector_size(16)));

static inline v4u v4_rotr(v4u x, int n) { return (x >> n) | (x << (32 - n)); }
static inline v4u v4_splat(uint32_t x) { return (v4u){x, x, x, x}; }
static inline uint32_t ld32(const uint8_t *p) {
  uint32_t w;
  memcpy(&w, p, 4);
  return w;
}

#define HB3_G4(a, b, c, d, x, y)          \
  do {                                    \
    v[a] = v[a] + v[b] + (x);             \
    v[d] = v4_rotr(v[d] ^ v[a], 16);      \
    v[c] = v[c] + v[d];                   \
    v[b] = v4_rotr(v[b] ^ v[c], 12);      \
    v[a] = v[a] + v[b] + (y);             \
    v[d] = v4_rotr(v[d] ^ v[a], 8);       \
    v[c] = v[c] + v[d];                   \
    v[b] = v4_rotr(v[b] ^ v[c], 7);       \
  } while (0)

static inline void compress4(const v4u h[8], const v4u m[16], v4u ctr_lo, v4u ctr_hi, v4u blen, v4u flags,
                             v4u out[8]) {
  v4u v[16] = {h[0],          h[1],          h[2],          h[3],          h[4],   h[5],   h[6],   h[7],
               v4_splat(IV[0]), v4_splat(IV[1]), v4_splat(IV[2]), v4_splat(IV[3]), ctr_lo, ctr_hi, blen, flags};
  _Pragma("GCC unroll 7") for (int r = 0; r < 7; r++) {
    const uint8_t *s = SCHEDULE[r];
    HB3_G4(0, 4, 8, 12, m[s[0]], m[s[1]]);
    HB3_G4(1, 5, 9, 13, m[s[2]], m[s[3]]);
    HB3_G4(2, 6, 10, 14, m[s[4]], m[s[5]]);
    HB3_G4(3, 7, 11, 15, m[s[6]], m[s[7]]);
    HB3_G4(0, 5, 10, 15, m[s[8]], m[s[9]]);
    HB3_G4(1, 6, 11, 12, m[s[10]], m[s[11]]);
    HB3_G4(2, 7, 8, 13, m[s[12]], m[s[13]]);
    HB3_G4(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; i++) out[i] = v[i] ^ v[i + 8];
}

static inline void store_lanes4(const v4u h[8], uint8_t *const out[4]) {
  for (int l = 0; l < 4; l++) {
    uint32_t w[8];
    for (int i = 0; i < 8; i++) w[i] = h[i][l];
    memcpy(out[l], w, 32);
  }
}

static void chunks4_portable(const uint8_t *const ptr[4], const size_t len[4], const uint32_t key[8],
                             const uint64_t ctr[4], uint32_t flags, uint32_t rootmask, uint8_t *const out[4]) {
  v4u h[8];
  for (int i = 0; i < 8; i++) h[i] = v4_splat(key[i]);
  size_t nb[4];
  size_t maxnb = 0;
  for (int l = 0; l < 4; l++) {
    nb[l] = blocks_of(len[l]);
    if (nb[l] > maxnb) maxnb = nb[l];
  }
  const v4u ctr_lo = {(uint32_t)ctr[0], (uint32_t)ctr[1], (uint32_t)ctr[2], (uint32_t)ctr[3]};
  const v4u ctr_hi = {(uint32_t)(ctr[0] >> 32), (uint32_t)(ctr[1] >> 32), (uint32_t)(ctr[2] >> 32),
                      (uint32_t)(ctr[3] >> 32)};
  uint8_t pad[4][HB3_BLOCK_LEN] HB3_ALIGN(16);
  for (size_t j = 0; j < maxnb; j++) {
    const uint8_t *bp[4];
    uint32_t bl[4], fl[4], act[4];
    for (int l = 0; l < 4; l++)
      act[l] = lane_block(ptr[l], len[l], j, nb[l], flags, (int)((rootmask >> l) & 1u), pad[l], &bp[l], &bl[l], &fl[l])
                   ? 0xFFFFFFFFu
                   : 0u;
    v4u m[16];
    for (int w = 0; w < 16; w++) m[w] = (v4u){ld32(bp[0] + 4 * w), ld32(bp[1] + 4 * w), ld32(bp[2] + 4 * w), ld32(bp[3] + 4 * w)};
    v4u nh[8];
    compress4(h, m, ctr_lo, ctr_hi, (v4u){bl[0], bl[1], bl[2], bl[3]}, (v4u){fl[0], fl[1], fl[2], fl[3]}, nh);
    const v4u mask = {act[0], act[1], act[2], act[3]};
    for (int i = 0; i < 8; i++) h[i] = (nh[i] & mask) | (h[i] & ~mask);
  }
  store_lanes4(h, out);
}

static void chunks8_portable(const uint8_t *const ptr[HB3_LANES], const size_t len[HB3_LANES], const uint32_t key[8],
                             const uint64_t ctr[HB3_LANES], uint32_t flags, uint32_t rootmask,
                             uint8_t *const out[HB3_LANES], unsigned nlanes) {
  chunks4_portable(ptr, len, key, ctr, flags, rootmask & 15u, out);
  if (nlanes > 4) chunks4_portable(ptr + 4, len + 4, key, ctr + 4, flags, rootmask >> 4, out + 4);
}

static void pairs4_portable(const uint8_t *const a[4], const uint8_t *const b[4], uint8_t *const out[4],
                            const uint32_t key[8], uint32_t flags) {
  v4u h[8], m[16], nh[8];
  for (int i = 0; i < 8; i++) h[i] = v4_splat(key[i]);
  for (int w = 0; w < 8; w++) {
    m[w] = (v4u){ld32(a[0] + 4 * w), ld32(a[1] + 4 * w), ld32(a[2] + 4 * w), ld32(a[3] + 4 * w)};
    m[w + 8] = (v4u){ld32(b[0] + 4 * w), ld32(b[1] + 4 * w), ld32(b[2] + 4 * w), ld32(b[3] + 4 * w)};
  }
  compress4(h, m, v4_splat(0), v4_splat(0), v4_splat(HB3_BLOCK_LEN), v4_splat(flags), nh);
  store_lanes4(nh, out);
}

static void pairs8_portable(const uint8_t *const a[HB3_LANES], const uint8_t *const b[HB3_LANES],
                            uint8_t *const out[HB3_LANES], const uint32_t key[8], uint32_t flags, unsigned nlanes) {
  /* Two 4-lane halves: each half reads its inputs before writing, but the
   * first half writes before the second half reads. That is safe for both
   * callers: hashPairs items are independent by contract, and in the tree
   * reduction lane k writes node k while the later lanes read nodes >= 2k+8. */
  pairs4_portable(a, b, out, key, flags);
  if (nlanes > 4) pairs4_portable(a + 4, b + 4, out + 4, key, flags);
}

/* ---- AVX2: 8 lanes, selected at run time -------------------------------- */

#ifdef HB3_HAVE_X86
#define HB3_AVX2 __attribute__((target("avx2")))
#define HB3_AVX2_INLINE static inline __attribute__((target("avx2"), always_inline))

HB3_AVX2_INLINE __m256i a_add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
HB3_AVX2_INLINE __m256i a_xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
HB3_AVX2_INLINE __m256i a_rot16(__m256i x) {
  const __m256i k = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10,
                                     11, 8, 9, 14, 15, 12, 13);
  return _mm256_shuffle_epi8(x, k);
}
HB3_AVX2_INLINE __m256i a_rot8(__m256i x) {
  const __m256i k = _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9,
                                     10, 11, 8, 13, 14, 15, 12);
  return _mm256_shuffle_epi8(x, k);
}
HB3_AVX2_INLINE __m256i a_rot12(__m256i x) { return _mm256_or_si256(_mm256_srli_epi32(x, 12), _mm256_slli_epi32(x, 20)); }
HB3_AVX2_INLINE __m256i a_rot7(__m256i x) { return _mm256_or_si256(_mm256_srli_epi32(x, 7), _mm256_slli_epi32(x, 25)); }

/* One round = 4 column G's then 4 diagonal G's, written half-G by half-G
 * across the four independent G's so the CPU sees four chains at once. */
#define HB3_HALF8(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3, x0, x1, x2, x3, RD, RB) \
  do {                                                                                                   \
    v[a0] = a_add(a_add(v[a0], v[b0]), x0);                                                              \
    v[a1] = a_add(a_add(v[a1], v[b1]), x1);                                                              \
    v[a2] = a_add(a_add(v[a2], v[b2]), x2);                                                              \
    v[a3] = a_add(a_add(v[a3], v[b3]), x3);                                                              \
    v[d0] = RD(a_xor(v[d0], v[a0]));                                                                     \
    v[d1] = RD(a_xor(v[d1], v[a1]));                                                                     \
    v[d2] = RD(a_xor(v[d2], v[a2]));                                                                     \
    v[d3] = RD(a_xor(v[d3], v[a3]));                                                                     \
    v[c0] = a_add(v[c0], v[d0]);                                                                         \
    v[c1] = a_add(v[c1], v[d1]);                                                                         \
    v[c2] = a_add(v[c2], v[d2]);                                                                         \
    v[c3] = a_add(v[c3], v[d3]);                                                                         \
    v[b0] = RB(a_xor(v[b0], v[c0]));                                                                     \
    v[b1] = RB(a_xor(v[b1], v[c1]));                                                                     \
    v[b2] = RB(a_xor(v[b2], v[c2]));                                                                     \
    v[b3] = RB(a_xor(v[b3], v[c3]));                                                                     \
  } while (0)

#define HB3_ROUND8(r)                                                                                        \
  do {                                                                                                       \
    const uint8_t *s = SCHEDULE[r];                                                                          \
    HB3_HALF8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, m[s[0]], m[s[2]], m[s[4]], m[s[6]], a_rot16, \
              a_rot12);                                                                                      \
    HB3_HALF8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, m[s[1]], m[s[3]], m[s[5]], m[s[7]], a_rot8,  \
              a_rot7);                                                                                       \
    HB3_HALF8(0, 5, 10, 15, 1, 6, 11, 12, 2, 7, 8, 13, 3, 4, 9, 14, m[s[8]], m[s[10]], m[s[12]], m[s[14]],       \
              a_rot16, a_rot12);                                                                             \
    HB3_HALF8(0, 5, 10, 15, 1, 6, 11, 12, 2, 7, 8, 13, 3, 4, 9, 14, m[s[9]], m[s[11]], m[s[13]], m[s[15]],       \
              a_rot8, a_rot7);                                                                               \
  } while (0)

HB3_AVX2_INLINE void compress8(const __m256i h[8], const __m256i m[16], __m256i ctr_lo, __m256i ctr_hi, __m256i blen,
                               __m256i flags, __m256i out[8]) {
  __m256i v[16] = {h[0],
                   h[1],
                   h[2],
                   h[3],
                   h[4],
                   h[5],
                   h[6],
                   h[7],
                   _mm256_set1_epi32((int)IV[0]),
                   _mm256_set1_epi32((int)IV[1]),
                   _mm256_set1_epi32((int)IV[2]),
                   _mm256_set1_epi32((int)IV[3]),
                   ctr_lo,
                   ctr_hi,
                   blen,
                   flags};
  HB3_ROUND8(0);
  HB3_ROUND8(1);
  HB3_ROUND8(2);
  HB3_ROUND8(3);
  HB3_ROUND8(4);
  HB3_ROUND8(5);
  HB3_ROUND8(6);
  for (int i = 0; i < 8; i++) out[i] = a_xor(v[i], v[i + 8]);
}

/* In-place 8x8 transpose of 32-bit words: row l (8 words of lane l) <-> column. */
HB3_AVX2_INLINE void transpose8(__m256i r[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
  __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
  __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
  __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
  __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
  __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

HB3_AVX2_INLINE void load_transpose8(const uint8_t *const p[8], size_t off, __m256i m[8]) {
  for (int l = 0; l < 8; l++) m[l] = _mm256_loadu_si256((const __m256i *)(const void *)(p[l] + off));
  transpose8(m);
}

HB3_AVX2_INLINE void store_transpose8(__m256i h[8], uint8_t *const out[8]) {
  transpose8(h);
  for (int l = 0; l < 8; l++) _mm256_storeu_si256((__m256i *)(void *)out[l], h[l]);
}

HB3_AVX2 static void chunks8_avx2(const uint8_t *const ptr[HB3_LANES], const size_t len[HB3_LANES],
                                  const uint32_t key[8], const uint64_t ctr[HB3_LANES], uint32_t flags,
                                  uint32_t rootmask, uint8_t *const out[HB3_LANES], unsigned nlanes) {
  (void)nlanes;
  __m256i h[8];
  for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi32((int)key[i]);
  size_t nb[8];
  size_t maxnb = 0;
  uint32_t lo[8] HB3_ALIGN(32), hi[8] HB3_ALIGN(32);
  for (int l = 0; l < 8; l++) {
    nb[l] = blocks_of(len[l]);
    if (nb[l] > maxnb) maxnb = nb[l];
    lo[l] = (uint32_t)ctr[l];
    hi[l] = (uint32_t)(ctr[l] >> 32);
  }
  const __m256i ctr_lo = _mm256_load_si256((const __m256i *)(const void *)lo);
  const __m256i ctr_hi = _mm256_load_si256((const __m256i *)(const void *)hi);
  /* Fast path: all lanes the same whole number of blocks (e.g. a batch of
   * 512-byte messages, or 8 full chunks of one long message). */
  int uniform = (rootmask == 0 || rootmask == 0xFFu) && len[0] != 0 && len[0] % HB3_BLOCK_LEN == 0;
  for (int l = 1; l < 8; l++) uniform &= len[l] == len[0];
  if (uniform) {
    const __m256i blen = _mm256_set1_epi32(HB3_BLOCK_LEN);
    for (size_t j = 0; j < maxnb; j++) {
      const uint8_t *bp[8];
      for (int l = 0; l < 8; l++) bp[l] = ptr[l] + j * HB3_BLOCK_LEN;
      uint32_t f = flags;
      if (j == 0) f |= HB3_CHUNK_START;
      if (j == maxnb - 1) f |= HB3_CHUNK_END | (rootmask ? HB3_ROOT : 0u);
      __m256i m[16];
      load_transpose8(bp, 0, m);
      load_transpose8(bp, 32, m + 8);
      compress8(h, m, ctr_lo, ctr_hi, blen, _mm256_set1_epi32((int)f), h);
    }
    store_transpose8(h, out);
    return;
  }
  uint8_t pad[8][HB3_BLOCK_LEN] HB3_ALIGN(32);
  for (size_t j = 0; j < maxnb; j++) {
    const uint8_t *bp[8];
    uint32_t bl[8] HB3_ALIGN(32), fl[8] HB3_ALIGN(32), act[8] HB3_ALIGN(32);
    uint32_t all = 0xFFFFFFFFu;
    for (int l = 0; l < 8; l++) {
      act[l] = lane_block(ptr[l], len[l], j, nb[l], flags, (int)((rootmask >> l) & 1u), pad[l], &bp[l], &bl[l], &fl[l])
                   ? 0xFFFFFFFFu
                   : 0u;
      all &= act[l];
    }
    __m256i m[16];
    load_transpose8(bp, 0, m);
    load_transpose8(bp, 32, m + 8);
    __m256i nh[8];
    compress8(h, m, ctr_lo, ctr_hi, _mm256_load_si256((const __m256i *)(const void *)bl),
              _mm256_load_si256((const __m256i *)(const void *)fl), nh);
    if (all) {
      for (int i = 0; i < 8; i++) h[i] = nh[i];
    } else {
      const __m256i mask = _mm256_load_si256((const __m256i *)(const void *)act);
      for (int i = 0; i < 8; i++) h[i] = _mm256_blendv_epi8(h[i], nh[i], mask);
    }
  }
  store_transpose8(h, out);
}

HB3_AVX2 static void pairs8_avx2(const uint8_t *const a[HB3_LANES], const uint8_t *const b[HB3_LANES],
                                 uint8_t *const out[HB3_LANES], const uint32_t key[8], uint32_t flags,
                                 unsigned nlanes) {
  (void)nlanes;
  __m256i h[8], m[16], nh[8];
  load_transpose8(a, 0, m);
  load_transpose8(b, 0, m + 8);
  for (int i = 0; i < 8; i++) h[i] = _mm256_set1_epi32((int)key[i]);
  const __m256i zero = _mm256_setzero_si256();
  compress8(h, m, zero, zero, _mm256_set1_epi32(HB3_BLOCK_LEN), _mm256_set1_epi32((int)flags), nh);
  store_transpose8(nh, out);
}
#endif /* HB3_HAVE_X86 */

/* ------------------------------------------------------------------------ */
/* Dispatch.                                                                 */
/* ------------------------------------------------------------------------ */

static chunks_fn g_chunks = chunks8_portable;
static pairs_fn g_pairs = pairs8_portable;
static const char *g_impl = "native-portable";

void hb3_init(int force_portable) {
  chunks_fn c = chunks8_portable;
  pairs_fn p = pairs8_portable;
  const char *name = "native-portable";
#ifdef HB3_HAVE_X86
  __builtin_cpu_init();
  /* libgcc's avx2 bit also requires the OS to save YMM state (XGETBV). */
  if (!force_portable && __builtin_cpu_supports("avx2")) {
    c = chunks8_avx2;
    p = pairs8_avx2;
    name = "native-avx2";
  }
#else
  (void)force_portable;
#endif
  g_chunks = c;
  g_pairs = p;
  g_impl = name;
}

const char *hb3_impl_name(void) { return g_impl; }

/* ------------------------------------------------------------------------ */
/* Tree path (messages longer than one chunk).                               */
/* ------------------------------------------------------------------------ */

/*
 * Hashes `bytes` (>= 1) bytes = r <= HB3_GROUP_CHUNKS chunks whose first
 * chunk has index ctr0, and reduces their CVs layer by layer (pairs of
 * neighbours; an odd last node moves up unchanged), which yields the same
 * left-complete tree as the BLAKE3 reference. With `root`, the last
 * compression (top parent, or the chunk itself if r == 1) carries ROOT.
 */
static void reduce_group(const uint8_t *p, size_t bytes, uint64_t ctr0, const uint32_t key[8], uint32_t kflag,
                         int root, uint8_t out[32]) {
  uint8_t cvs[HB3_GROUP_CHUNKS][32] HB3_ALIGN(32);
  uint8_t scratch[HB3_LANES][32] HB3_ALIGN(32);
  size_t r = (bytes + HB3_CHUNK_LEN - 1) / HB3_CHUNK_LEN;
  for (size_t i = 0; i < r; i += HB3_LANES) {
    unsigned n = (unsigned)(r - i < HB3_LANES ? r - i : HB3_LANES);
    const uint8_t *ptr[HB3_LANES];
    size_t len[HB3_LANES];
    uint64_t ctr[HB3_LANES];
    uint8_t *dst[HB3_LANES];
    for (unsigned l = 0; l < HB3_LANES; l++) {
      if (l < n) {
        size_t off = (i + l) * HB3_CHUNK_LEN;
        size_t rem = bytes - off;
        ptr[l] = p + off;
        len[l] = rem < HB3_CHUNK_LEN ? rem : HB3_CHUNK_LEN;
        ctr[l] = ctr0 + i + l;
        dst[l] = cvs[i + l];
      } else {
        ptr[l] = ZERO_BLOCK;
        len[l] = 0;
        ctr[l] = 0;
        dst[l] = scratch[l];
      }
    }
    g_chunks(ptr, len, key, ctr, kflag, (r == 1 && root) ? 1u : 0u, dst, n);
  }
  size_t n = r;
  while (n > 1) {
    size_t pairs = n / 2;
    uint32_t f = HB3_PARENT | kflag | ((n == 2 && root) ? HB3_ROOT : 0u);
    for (size_t k = 0; k < pairs; k += HB3_LANES) {
      unsigned q = (unsigned)(pairs - k < HB3_LANES ? pairs - k : HB3_LANES);
      const uint8_t *a[HB3_LANES];
      const uint8_t *b[HB3_LANES];
      uint8_t *dst[HB3_LANES];
      for (unsigned l = 0; l < HB3_LANES; l++) {
        if (l < q) {
          a[l] = cvs[2 * (k + l)];
          b[l] = cvs[2 * (k + l) + 1];
          dst[l] = cvs[k + l];
        } else {
          a[l] = ZERO_BLOCK;
          b[l] = ZERO_BLOCK;
          dst[l] = scratch[l];
        }
      }
      g_pairs(a, b, dst, key, f, q);
    }
    if (n & 1) memmove(cvs[pairs], cvs[n - 1], 32);
    n = pairs + (n & 1);
  }
  memcpy(out, cvs[0], 32);
}

/* Any length > HB3_CHUNK_LEN. */
static void hash_long(const uint8_t *in, size_t len, const uint32_t key[8], uint32_t kflag, uint8_t out[32]) {
  size_t nchunks = (len + HB3_CHUNK_LEN - 1) / HB3_CHUNK_LEN;
  if (nchunks <= HB3_GROUP_CHUNKS) {
    reduce_group(in, len, 0, key, kflag, 1, out);
    return;
  }
  /* Full groups (complete subtrees of 64 chunks) go on a CV stack with the
   * reference merge rule (merge while the subtree count is even); the last
   * group is folded in from the right with ROOT on the final parent. */
  uint8_t stack[64][32];
  size_t depth = 0;
  uint64_t groups = 0;
  size_t done = 0;
  uint8_t cv[32];
  while (nchunks - done > HB3_GROUP_CHUNKS) {
    reduce_group(in + done * HB3_CHUNK_LEN, (size_t)HB3_GROUP_CHUNKS * HB3_CHUNK_LEN, done, key, kflag, 0, cv);
    done += HB3_GROUP_CHUNKS;
    groups++;
    for (uint64_t t = groups; (t & 1) == 0; t >>= 1) parent_scalar(stack[--depth], cv, key, kflag, cv);
    memcpy(stack[depth++], cv, 32);
  }
  reduce_group(in + done * HB3_CHUNK_LEN, len - done * HB3_CHUNK_LEN, done, key, kflag, 0, cv);
  while (depth > 1) parent_scalar(stack[--depth], cv, key, kflag, cv);
  parent_scalar(stack[0], cv, key, kflag | HB3_ROOT, out);
}

/* ------------------------------------------------------------------------ */
/* Public entry points.                                                      */
/* ------------------------------------------------------------------------ */

void hb3_hash(const uint8_t *in, size_t len, const uint32_t *key, uint8_t *out) {
  const uint32_t *k = key ? key : IV;
  uint32_t kflag = key ? HB3_KEYED_HASH : 0u;
  if (len <= HB3_CHUNK_LEN) {
    uint32_t cv[8];
    chunk_scalar(in, len, k, 0, kflag, HB3_ROOT, cv);
    memcpy(out, cv, 32);
  } else {
    hash_long(in, len, k, kflag, out);
  }
}

/* Eight messages of <= 1 chunk each, as roots. Eight 64-byte messages (the
 * Merkle-node case) are exactly the hashPairs shape: one block, fixed flags. */
static void flush8(const uint8_t *const ptr[HB3_LANES], const size_t len[HB3_LANES], uint8_t *const dst[HB3_LANES],
                   const uint32_t key[8], uint32_t kflag) {
  static const uint64_t zero_ctr[HB3_LANES] = {0};
  int all64 = 1;
  for (unsigned l = 0; l < HB3_LANES; l++) all64 &= len[l] == HB3_BLOCK_LEN;
  if (all64) {
    const uint8_t *hi[HB3_LANES];
    for (unsigned l = 0; l < HB3_LANES; l++) hi[l] = ptr[l] + 32;
    g_pairs(ptr, hi, dst, key, HB3_CHUNK_START | HB3_CHUNK_END | HB3_ROOT | kflag, HB3_LANES);
  } else {
    g_chunks(ptr, len, key, zero_ctr, kflag, 0xFFu, dst, HB3_LANES);
  }
}

void hb3_hash_many(const uint8_t *data, const uint32_t *offsets, size_t count, uint8_t *out, const int32_t *slots,
                   const uint32_t *key) {
  const uint32_t *k = key ? key : IV;
  uint32_t kflag = key ? HB3_KEYED_HASH : 0u;
  static const uint64_t zero_ctr[HB3_LANES] = {0};
  uint8_t scratch[HB3_LANES][32] HB3_ALIGN(32);
  const uint8_t *ptr[HB3_LANES];
  size_t len[HB3_LANES];
  uint8_t *dst[HB3_LANES];
  unsigned n = 0;
  for (size_t i = 0; i < count; i++) {
    size_t start = offsets[i];
    size_t mlen = (size_t)offsets[i + 1] - start;
    uint8_t *o = out + (size_t)32 * (size_t)(slots ? (uint32_t)slots[i] : (uint32_t)i);
    if (mlen > HB3_CHUNK_LEN) {
      hash_long(data + start, mlen, k, kflag, o);
      continue;
    }
    ptr[n] = data + start;
    len[n] = mlen;
    dst[n] = o;
    if (++n == HB3_LANES) {
      flush8(ptr, len, dst, k, kflag);
      n = 0;
    }
  }
  if (n > 0) {
    unsigned real = n;
    for (; n < HB3_LANES; n++) {
      ptr[n] = ZERO_BLOCK;
      len[n] = 0;
      dst[n] = scratch[n];
    }
    g_chunks(ptr, len, k, zero_ctr, kflag, 0xFFu, dst, real);
  }
}

void hb3_hash_pairs(uint8_t *slab, const int32_t *triples, size_t count, const uint32_t *key) {
  const uint32_t *k = key ? key : IV;
  const uint32_t flags = HB3_CHUNK_START | HB3_CHUNK_END | HB3_ROOT | (key ? HB3_KEYED_HASH : 0u);
  uint8_t scratch[HB3_LANES][32] HB3_ALIGN(32);
  const uint8_t *a[HB3_LANES];
  const uint8_t *b[HB3_LANES];
  uint8_t *dst[HB3_LANES];
  size_t i = 0;
  for (; i + HB3_LANES <= count; i += HB3_LANES) {
    const int32_t *t = triples + 3 * i;
    for (unsigned l = 0; l < HB3_LANES; l++) {
      a[l] = slab + (size_t)32 * (uint32_t)t[3 * l];
      b[l] = slab + (size_t)32 * (uint32_t)t[3 * l + 1];
      dst[l] = slab + (size_t)32 * (uint32_t)t[3 * l + 2];
    }
    g_pairs(a, b, dst, k, flags, HB3_LANES);
  }
  if (i < count) {
    unsigned q = (unsigned)(count - i);
    const int32_t *t = triples + 3 * i;
    for (unsigned l = 0; l < HB3_LANES; l++) {
      if (l < q) {
        a[l] = slab + (size_t)32 * (uint32_t)t[3 * l];
        b[l] = slab + (size_t)32 * (uint32_t)t[3 * l + 1];
        dst[l] = slab + (size_t)32 * (uint32_t)t[3 * l + 2];
      } else {
        a[l] = ZERO_BLOCK;
        b[l] = ZERO_BLOCK;
        dst[l] = scratch[l];
      }
    }
    g_pairs(a, b, dst, k, flags, q);
  }
}
