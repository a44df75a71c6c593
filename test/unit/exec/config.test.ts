/** StateConfig (docs/api.md §Configuration): defaults, validation with coded errors, loading from JSON text. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isHeliosError } from "../../../src/core/index.js";
import { DEFAULT_CONFIG, parseConfig, resolveConfig } from "../../../src/exec/config.js";

test("defaults fill every field, and overrides are kept", () => {
  const c = resolveConfig({ chainId: 7, vm: { maxCallDepth: 4 } });
  assert.equal(c.chainId, 7);
  assert.equal(c.vm.maxCallDepth, 4);
  assert.equal(c.vm.maxMemoryPages, DEFAULT_CONFIG.vm.maxMemoryPages);
  assert.equal(c.blockGasLimit, DEFAULT_CONFIG.blockGasLimit);
  assert.ok(Object.isFrozen(c));
});

test("every bad field is refused with CONFIG_INVALID naming it", () => {
  const cases: [unknown, string][] = [
    [{ chainId: -1 }, "chainId"],
    [{ chainId: 2 ** 32 }, "chainId"],
    [{ blockGasLimit: 0 }, "blockGasLimit"],
    [{ maxTxBytes: 1.5 }, "maxTxBytes"],
    [{ retainHeights: 0 }, "retainHeights"],
    [{ snapshotInterval: "5" }, "snapshotInterval"],
    [{ vm: { maxMemoryPages: 0 } }, "vm.maxMemoryPages"],
    [{ vm: { nope: 1 } }, "vm.nope"],
    [{ vm: 3 }, "vm"],
    [{ bogus: true }, "bogus"],
    [{ parallelExecution: "yes" }, "parallelExecution"],
    [{ parallelExecution: true }, "parallelExecution"],
    [null, "(config)"],
    [[], "(config)"],
  ];
  for (const [input, field] of cases) {
    assert.throws(
      () => resolveConfig(input),
      (e: unknown) => isHeliosError(e, "CONFIG_INVALID") && e.context.field === field,
      JSON.stringify(input),
    );
  }
});

test("a config file's text is parsed and validated", () => {
  assert.equal(parseConfig('{"chainId": 9, "snapshotInterval": 100}').snapshotInterval, 100);
  assert.throws(
    () => parseConfig("{chainId: 9"),
    (e: unknown) => isHeliosError(e, "CONFIG_INVALID"),
  );
  assert.throws(
    () => parseConfig('{"chainId": 9, "extra": 1}'),
    (e: unknown) => isHeliosError(e, "CONFIG_INVALID"),
  );
});

test("review: maxStackUnits is capped where V8's own stack keeps 2× headroom, and prototype names are unknown fields", () => {
  assert.equal(resolveConfig({ vm: { maxStackUnits: 65_536 } }).vm.maxStackUnits, 65_536);
  for (const input of [
    { vm: { maxStackUnits: 65_537 } },
    { toString: 1 },
    { vm: { constructor: 1 } },
    JSON.parse('{"__proto__": {"chainId": "x"}}'),
  ]) {
    assert.throws(
      () => resolveConfig(input),
      (e: unknown) => isHeliosError(e, "CONFIG_INVALID"),
      JSON.stringify(input),
    );
  }
});
