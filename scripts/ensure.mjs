// Makes `npm test`, `npm start` and `npm run bench` work on a fresh clone:
// installs dependencies from the lockfile when they are missing or stale,
// builds the native BLAKE3 kernel when it is missing, then compiles TypeScript.
// Uses only Node built-ins, because it runs before anything is installed.
import { execSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";

const run = (cmd) => {
  console.error(`[ensure] ${cmd}`);
  execSync(cmd, { stdio: "inherit" });
};
const lockHash = createHash("sha256").update(readFileSync("package-lock.json")).digest("hex");
const stamp = "node_modules/.helios-lock-hash";
const installed = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
if (installed !== lockHash) {
  // `npm ci` also runs our own `install` script, which builds the native kernel.
  run("npm ci --no-audit --no-fund");
  writeFileSync(stamp, lockHash);
}
const addon = "build/Release/helios_blake3.node";
const newestNative = ["native/blake3/blake3_kernel.c", "native/blake3/binding.c", "binding.gyp"]
  .filter((f) => existsSync(f))
  .reduce((m, f) => Math.max(m, statSync(f).mtimeMs), 0);
if (!existsSync(addon) || statSync(addon).mtimeMs < newestNative) run("npm run --silent build:native");
run("node scripts/build-contracts.mjs");
run("npx tsc -p tsconfig.json");
