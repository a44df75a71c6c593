/*
 * Helios BLAKE3-256 kernel: batched hashing for Merkle workloads.
 *
 * Written for Helios from the BLAKE3 specification (compression function,
 * chunk/parent tree, keyed_hash mode). Only the 32-byte default output is
 * produced; extendable output and derive_key are out of scope.
 *
 * Every function here trusts its arguments: the N-API layer (binding.c)
 * validates all lengths, offsets and slot indices before calling in.
 */
#ifndef HELIOS_BLAKE3_KERNEL_H
#define HELIOS_BLAKE3_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#define HB3_OUT_LEN 32
#define HB3_KEY_WORDS 8
#define HB3_BLOCK_LEN 64
#define HB3_CHUNK_LEN 1024

/* Domain flags from the BLAKE3 specification. */
#define HB3_CHUNK_START 1u
#define HB3_CHUNK_END 2u
#define HB3_PARENT 4u
#define HB3_ROOT 8u
#define HB3_KEYED_HASH 16u

/*
 * Selects the implementation once (idempotent). `force_portable` != 0 skips
 * the AVX2 path even when the CPU has it (used by tests and for diagnosis).
 */
void hb3_init(int force_portable);

/* "native-avx2" or "native-portable". Valid after hb3_init. */
const char *hb3_impl_name(void);

/*
 * One message of any length -> 32-byte digest at out.
 * key: 8 words (keyed_hash mode) or NULL (hash mode).
 */
void hb3_hash(const uint8_t *in, size_t len, const uint32_t *key, uint8_t *out);

/*
 * Message i is data[offsets[i] .. offsets[i+1]); digest i goes to
 * out + 32 * (slots ? slots[i] : i). Messages of at most one chunk go 8 at
 * a time through the lane kernel; longer ones through the tree path.
 */
void hb3_hash_many(const uint8_t *data, const uint32_t *offsets, size_t count, uint8_t *out, const int32_t *slots,
                   const uint32_t *key);

/*
 * For i < count: slab[32*t[3i+2]..+32) = H(slab[32*t[3i]..+32) || slab[32*t[3i+1]..+32)).
 * Inputs of a group of items are read before any of the group's outputs are written.
 */
void hb3_hash_pairs(uint8_t *slab, const int32_t *triples, size_t count, const uint32_t *key);

#endif /* HELIOS_BLAKE3_KERNEL_H */
