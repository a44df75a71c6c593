/**
 * core — bytes, BLAKE3 hashing (batched), canonical codec helpers, coded errors,
 * and the Bloom filter and HyperLogLog sketches.
 * Lowest layer: imports nothing from Helios.
 */
export * from "./bloom.js";
export * from "./bytes.js";
export * from "./errors.js";
export * from "./hash.js";
export * from "./hll.js";
