import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_CODES, HeliosError, isHeliosError } from "../../../src/core/errors.js";

test("every error code is documented in docs/errors.md, and every documented code exists", () => {
  const doc = readFileSync(new URL("../../../../docs/errors.md", import.meta.url), "utf8");
  const documented = new Set([...doc.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
});

test("HeliosError carries a stable code, context and a message that says what to do", () => {
  const e = new HeliosError("MERKLE_NODE_MISSING", { id: "ab" });
  assert.equal(e.code, "MERKLE_NODE_MISSING");
  assert.deepEqual(e.context, { id: "ab" });
  assert.match(e.message, /^MERKLE_NODE_MISSING: /);
  assert.ok(isHeliosError(e, "MERKLE_NODE_MISSING"));
  assert.ok(!isHeliosError(e, "STORE_CORRUPT"));
  assert.ok(!isHeliosError(new Error("x")));
});
