/**
 * core — bytes, BLAKE3 hashing (batched), canonical codec helpers, coded errors.
 * Lowest layer: imports nothing from Helios.
 */
export * from "./bytes.js";
export * from "./errors.js";
export * from "./hash.js";
