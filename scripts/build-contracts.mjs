// Compiles the AssemblyScript contracts: contracts/<name>.ts → build/contracts/<name>.wasm
// (contracts/lib/ holds the ABI helpers and is not a contract itself).
// A contract is rebuilt when its source, anything in contracts/lib/ or this
// script is newer than its .wasm. Prints one line per contract and exits
// non-zero when any contract fails to compile. The flags keep the output
// inside what the Helios validator accepts (docs/contracts.md §Building).
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = path.join(root, "contracts");
const libDir = path.join(srcDir, "lib");
const outDir = path.join(root, "build", "contracts");

/** The asc flags for Helios contracts; docs/contracts.md explains each. */
const ASC_FLAGS = [
  "--runtime",
  "stub",
  "--optimizeLevel",
  "3",
  "--shrinkLevel",
  "0",
  "--noAssert",
  "--disable",
  "nontrapping-f2i",
  "--exportStart",
  "_start",
  "--noColors",
];

function mtime(file) {
  return statSync(file).mtimeMs;
}

function newestInput(src) {
  let t = Math.max(mtime(src), mtime(fileURLToPath(import.meta.url)));
  for (const f of readdirSync(libDir)) if (f.endsWith(".ts")) t = Math.max(t, mtime(path.join(libDir, f)));
  return t;
}

async function main() {
  const names = readdirSync(srcDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort();
  mkdirSync(outDir, { recursive: true });
  let asc = null;
  let failed = 0;
  for (const file of names) {
    const src = path.join(srcDir, file);
    const out = path.join(outDir, `${file.slice(0, -3)}.wasm`);
    const rel = path.relative(root, out);
    if (existsSync(out) && mtime(out) >= newestInput(src)) {
      console.error(`[contracts] ${rel} up to date`);
      continue;
    }
    // Loaded lazily so an up-to-date tree costs no compiler start-up.
    asc ??= (await import("assemblyscript/asc")).default;
    let log = "";
    const stream = {
      write(chunk) {
        log += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        return true;
      },
    };
    const { error } = await asc.main([path.relative(root, src), "-o", path.relative(root, out), ...ASC_FLAGS], {
      stdout: stream,
      stderr: stream,
    });
    if (error !== null) {
      failed++;
      console.error(`[contracts] ${rel} FAILED: ${error.message}\n${log}`);
    } else {
      console.error(`[contracts] ${rel} built (${statSync(out).size} bytes)`);
    }
  }
  if (failed > 0) process.exit(1);
}

process.chdir(root);
await main();
