/**
 * `npm run bench [-- --quick] [-- suite ...]` — runs every benchmark suite (or
 * the named ones), prints ratio tables and writes bench/results/<suite>.json.
 */
import { benchMode, printTable, type Result, writeResults } from "./lib.js";

type Suite = (mode: "quick" | "full") => Promise<Result[]>;
const suites: Record<string, () => Promise<Suite>> = {
  hash: async () => (await import("./suites/hash.js")).run,
  merkle: async () => (await import("./suites/merkle.js")).run,
  internals: async () => (await import("./suites/internals.js")).run,
  forest: async () => (await import("./suites/forest.js")).run,
  durable: async () => (await import("./suites/durable.js")).run,
  snapshot: async () => (await import("./suites/snapshot.js")).run,
  sig: async () => (await import("./suites/sig.js")).run,
  exec: async () => (await import("./suites/exec.js")).run,
  "sandbox-mcts": async () => (await import("./suites/sandbox-mcts.js")).run,
  "sandbox-branch": async () => (await import("./suites/sandbox-branch.js")).run,
  "sandbox-fs": async () => (await import("./suites/sandbox-fs.js")).run,
  sketch: async () => (await import("./suites/sketch.js")).run,
};

const mode = benchMode();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const names = wanted.length > 0 ? wanted : Object.keys(suites);
for (const name of names) {
  const load = suites[name];
  if (!load) {
    console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  const results = await (await load())(mode);
  printTable(name, mode, results);
  console.log(`wrote ${writeResults(name, mode, results)}`);
}
