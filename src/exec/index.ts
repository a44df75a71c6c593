/**
 * exec — the deterministic state machine (docs/spec/exec.md): accounts and
 * contract storage on the Merkle forest, ed25519-signed transactions, the
 * metered WASM VM, the block executor, and StateManager, the API consensus
 * and the node call. Lower layers: core, merkle, store (through history),
 * history, snapshot. No I/O, no clock, no randomness of its own.
 */
export {
  type Block,
  type BlockHeader,
  blockHash,
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeHeader,
  encodeReceipt,
  merkleRoot,
  type Receipt,
  STATUS_CODES,
} from "./block.js";
export { ByteReader, ByteWriter, DecodeError } from "./codec.js";
export { DEFAULT_CONFIG, parseConfig, resolveConfig, type StateConfig } from "./config.js";
export {
  applyTx,
  asBlockInvalid,
  type CheckedTx,
  checkBlockTxs,
  checkTx,
  checkTxState,
  executeTxs,
} from "./executor.js";
export {
  codeHashOf,
  createStateManager,
  type ExecutedBlock,
  StateManager,
  type StateManagerOptions,
} from "./manager.js";
export * from "./native.js";
export { createSigCache, SigCache, type SigCacheOptions } from "./sigcache.js";
export * from "./tx.js";
export * from "./types.js";
export { type CallRequest, type CallResult, createVm, HOST_GAS, Vm } from "./vm.js";
export * from "./wasm/index.js";
export {
  type Account,
  contractAddress,
  decodeAccount,
  encodeAccount,
  storageTreeName,
  TREE_ACCOUNTS,
  TREE_CODE,
  WorldState,
} from "./world.js";
