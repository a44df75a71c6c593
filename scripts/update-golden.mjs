// Regenerates test/golden/merkle-roots.json from the independent spec
// implementation (test/support/spec.ts), never from src/. Run only on a
// deliberate format change, after bumping the spec version:
//   npx tsc -p tsconfig.json && node scripts/update-golden.mjs
import { writeFileSync } from "node:fs";
import { goldenSets } from "../dist/test/golden/sets.js";
import { specRoot } from "../dist/test/support/spec.js";

const out = {};
for (const [name, entries] of Object.entries(goldenSets())) out[name] = Buffer.from(specRoot(entries)).toString("hex");
writeFileSync(new URL("../test/golden/merkle-roots.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log(out);
