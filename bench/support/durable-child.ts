/**
 * bench/support/durable-child — the process the durable suite kills.
 *
 *   node dist/bench/support/durable-child.js <dir> <n> <blocks> <blockSize> <seed>
 *
 * Opens the store at <dir> (holding n accounts of the durable workload),
 * commits <blocks> blocks of <blockSize> updates to random existing accounts
 * with checkpoints disabled (checkpointEvery 1e9, checkpointBytes 2^53), so
 * every block lives only in the log and in L0, prints
 * `ready <height> <root hex>` on stdout and waits to be SIGKILLed. The parent
 * then times the reopen, which must replay exactly those blocks.
 */
import { bytesToHex } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import { updateBlock } from "./durable-work.js";

const [dir, nArg, blocksArg, sizeArg, seedArg] = process.argv.slice(2);
if (dir === undefined || seedArg === undefined) {
  process.stderr.write("usage: durable-child <dir> <n> <blocks> <blockSize> <seed>\n");
  process.exit(2);
}
const n = Number(nArg);
const blocks = Number(blocksArg);
const size = Number(sizeArg);
const seed = Number(seedArg);

const db = openState(dir, { checkpointEvery: 1e9, checkpointBytes: Number.MAX_SAFE_INTEGER });
let root = db.root;
for (let b = 0; b < blocks; b++) {
  const ops = updateBlock(seed, b, size, n);
  root = db.commit(db.height + 1, { accounts: ops });
}
const st = db.store.stats();
if (st.checkpoints !== 0) throw new Error(`durable-child: ${st.checkpoints} checkpoint(s) ran; the test needs none`);
process.stdout.write(`ready ${db.height} ${bytesToHex(root)}\n`);
// Hold the store open (LOCK, L0, the log tail) until the parent kills us.
setInterval(() => undefined, 1 << 30);
