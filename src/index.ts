/** Helios public API. */
export * from "./core/index.js";
export * from "./merkle/index.js";
