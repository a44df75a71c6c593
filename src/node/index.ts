/**
 * node — the wiring around the state machine: real files, threads and (in
 * later issues) the network, clock, mempool and HTTP API. This issue brings
 * the config file loader and the signature verifier pool.
 */
export { loadConfig } from "./config.js";
export { createVerifierPool, VerifierPool, type VerifierPoolOptions } from "./verifier.js";
