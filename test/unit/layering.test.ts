/**
 * The layering of DESIGN.md, enforced: a module may import only from its own
 * layer or lower ones, and only through a sibling layer's index.ts (never its
 * internals). Also: nothing below node/ touches the clock, randomness or I/O
 * modules directly (determinism).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

export const LAYERS = [
  "core",
  "merkle",
  "store",
  "history",
  "snapshot",
  "exec",
  "consensus",
  "sync",
  "sandbox",
  "node",
  "cli",
] as const;

function repoRoot(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      if (JSON.parse(readFileSync(path.join(d, "package.json"), "utf8")).name === "helios") return d;
    } catch {}
    const up = path.dirname(d);
    if (up === d) throw new Error("repo root not found");
    d = up;
  }
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

export function layerViolations(src: string): string[] {
  const problems: string[] = [];
  for (const file of tsFiles(src)) {
    const rel = path.relative(src, file);
    const layer = rel.split(path.sep)[0] as string;
    const li = LAYERS.indexOf(layer as (typeof LAYERS)[number]);
    if (li < 0) {
      if (rel !== "index.ts") problems.push(`${rel}: not inside a known layer folder`);
      continue;
    }
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith(".")) {
        const target = path.relative(src, path.resolve(path.dirname(file), spec));
        const tl = target.split(path.sep)[0] as string;
        const ti = LAYERS.indexOf(tl as (typeof LAYERS)[number]);
        if (ti < 0) problems.push(`${rel}: imports ${spec}, outside src layers`);
        else if (ti > li) problems.push(`${rel}: layer ${layer} imports higher layer ${tl} (${spec})`);
        else if (tl !== layer && target !== path.join(tl, "index.js")) {
          problems.push(`${rel}: reaches into ${tl}'s internals (${spec}); import ${tl}/index.js`);
        }
      } else if (
        li < LAYERS.indexOf("node") &&
        /^(node:)?(fs|net|http|https|dgram|child_process|worker_threads)(\/|$)/.test(spec)
      ) {
        // I/O belongs to store adapters (store layer may use fs) and node/; snapshot
        // may use fs for snapshot directories and its import journal; sandbox may
        // use fs (directory checkpoints read and restore the user's files) and
        // worker_threads (the fork(n) runner).
        const fsOk = (layer === "store" || layer === "snapshot" || layer === "sandbox") && /^(node:)?fs/.test(spec);
        const workersOk = layer === "sandbox" && /^(node:)?worker_threads$/.test(spec);
        if (!fsOk && !workersOk) problems.push(`${rel}: layer ${layer} imports I/O module ${spec}`);
      }
    }
    if (li < LAYERS.indexOf("node") && /\b(Date\.now|Math\.random)\s*\(/.test(text)) {
      problems.push(`${rel}: uses Date.now/Math.random below node/ (pass a Clock/Rng)`);
    }
  }
  return problems;
}

test("lower layers never import higher ones, nor a sibling's internals", () => {
  assert.deepEqual(layerViolations(path.join(repoRoot(), "src")), []);
});

test("the layering check catches a violation (it can fail)", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
  const os = await import("node:os");
  const dir = mkdtempSync(path.join(os.tmpdir(), "helios-layer-"));
  mkdirSync(path.join(dir, "merkle"));
  mkdirSync(path.join(dir, "store"));
  writeFileSync(path.join(dir, "merkle", "a.ts"), 'import { x } from "../store/index.js";\n');
  writeFileSync(path.join(dir, "store", "b.ts"), 'import { y } from "../merkle/draft.js";\nconst t = Date.now();\n');
  const v = layerViolations(dir);
  assert.equal(v.length, 3, v.join("\n"));
  assert.match(v.join("\n"), /imports higher layer store/);
  assert.match(v.join("\n"), /reaches into merkle's internals/);
  assert.match(v.join("\n"), /Date\.now/);
});
