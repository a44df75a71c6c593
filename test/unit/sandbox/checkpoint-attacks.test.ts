/**
 * Restore attacks (docs/spec/checkpoint.md C14–C19): hand-made checkpoints
 * (ckpt-craft, which writes the trees directly with no checks) with path
 * traversal, absolute paths, non-normalized paths, entries below symlinks,
 * symlinks that escape (directly or through a chain), missing and corrupt
 * chunks; and targets that already hold symlinks. Each is refused with its
 * code, and a listing of the sandbox directory around the target shows that
 * nothing was written anywhere: the check runs before the first write.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type ErrorCode, isHeliosError } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { restoreCheckpoint } from "../../../src/sandbox/checkpoint.js";
import { type CraftedEntry, craftCheckpoint } from "../../../src/sandbox/ckpt-craft.js";
import { CHUNK_ZSTD } from "../../../src/sandbox/ckpt-format.js";
import { rmDir, tmpDir } from "../../support/tmp.js";
import { textBytes, tree } from "./checkpoint-fixtures.js";

const dir = (p: string): CraftedEntry => ({ path: p, kind: "dir" });
const file = (p: string, text = "pwned"): CraftedEntry => ({
  path: p,
  kind: "file",
  content: new TextEncoder().encode(text),
});
const link = (p: string, target: string): CraftedEntry => ({ path: p, kind: "symlink", target });

describe("restore attacks", () => {
  let work: string;
  let db: StateDB;
  /** The sandbox: every restore targets box/target; box/outside must never change. */
  let box: string;
  let t = 1_700_000_000_000;
  before(() => {
    work = tmpDir("ckpt-attack");
    db = openState(path.join(work, "store"), { create: true });
    box = path.join(work, "box");
    mkdirSync(path.join(box, "outside"), { recursive: true });
    writeFileSync(path.join(box, "outside", "victim.txt"), "original");
  });
  after(async () => {
    await db.close();
    rmDir(work);
  });

  /** Crafts a checkpoint, restores it into box/<target>, and expects `code` with nothing written anywhere. */
  async function refused(
    entries: CraftedEntry[],
    code: ErrorCode,
    opts: {
      target?: string;
      force?: boolean;
      allowSymlinkEscape?: boolean;
      craft?: Parameters<typeof craftCheckpoint>[2];
    } = {},
  ): Promise<void> {
    const id = await craftCheckpoint(db, entries, { time: t++, ...(opts.craft ?? {}) });
    const target = path.join(box, opts.target ?? "target");
    const beforeTree = tree(box);
    assert.throws(
      () =>
        restoreCheckpoint(db, id, target, {
          ...(opts.force ? { force: true } : {}),
          ...(opts.allowSymlinkEscape ? { allowSymlinkEscape: true } : {}),
        }),
      (e: unknown) => {
        assert.ok(isHeliosError(e, code), `expected ${code}, got ${(e as Error).message}`);
        return true;
      },
    );
    assert.deepEqual(tree(box), beforeTree, "nothing was written");
    assert.equal(readFileSync(path.join(box, "outside", "victim.txt"), "utf8"), "original");
  }

  test("C14: traversal, absolute and non-normalized paths are CHECKPOINT_PATH_UNSAFE", async () => {
    for (const bad of [
      "../x",
      "../outside/victim.txt",
      "/etc/x",
      "a/../../x",
      "a/../b",
      "./a",
      "a//b",
      "a/",
      "a/.",
      "a\0b",
      "..\\..\\x",
      "a\\..\\..\\x",
    ]) {
      await refused([dir(""), dir("a"), file(bad)], "CHECKPOINT_PATH_UNSAFE");
    }
    // a path to a directory named ".." dressed as a long path (over the 256-byte key)
    await refused([dir(""), file(`${"x".repeat(250)}/../../../outside/y`)], "CHECKPOINT_PATH_UNSAFE");
  });

  test("C15: an entry below a symlink (link -> .., link -> /) is RESTORE_SYMLINK_ESCAPE, even when escapes are allowed", async () => {
    for (const target of ["..", "/", "../outside", "."]) {
      const entries = [dir(""), link("link", target), file("link/victim.txt")];
      await refused(entries, "RESTORE_SYMLINK_ESCAPE");
      await refused(entries, "RESTORE_SYMLINK_ESCAPE", { allowSymlinkEscape: true });
    }
    // deeper: a dir entry below the link, then a file below that
    await refused([dir(""), link("l", "../outside"), dir("l/sub"), file("l/sub/f")], "RESTORE_SYMLINK_ESCAPE");
  });

  test("C16: symlinks that resolve outside the target are RESTORE_SYMLINK_ESCAPE (directly, absolutely, through a chain)", async () => {
    await refused([dir(""), link("out", "../outside/victim.txt")], "RESTORE_SYMLINK_ESCAPE");
    await refused([dir(""), link("abs", "/etc/passwd")], "RESTORE_SYMLINK_ESCAPE");
    await refused([dir(""), dir("a"), link("a/up", "../../x")], "RESTORE_SYMLINK_ESCAPE");
    // lexically inside, but d/l -> .. is the root, so s -> d/l is the root, and t -> s/.. is above it
    await refused(
      [dir(""), dir("d"), link("d/l", ".."), link("s", "d/l"), link("t", "s/..")],
      "RESTORE_SYMLINK_ESCAPE",
    );
    // a loop is refused too (it cannot be shown to stay inside)
    await refused([dir(""), link("p", "q/x"), link("q", "p/y")], "RESTORE_SYMLINK_ESCAPE");
  });

  test("C16: symlinks that stay inside (relative, dangling, through inside links) restore", async () => {
    const id = await craftCheckpoint(
      db,
      [
        dir(""),
        dir("d"),
        file("d/f", "data"),
        link("d/l", ".."),
        link("s", "d/l"),
        link("ok", "d/f"),
        link("dangling", "nowhere/at/all"),
        link("via", "s/d/f"),
      ],
      { time: t++ },
    );
    const target = path.join(box, "good");
    restoreCheckpoint(db, id, target);
    assert.equal(readFileSync(path.join(target, "via"), "utf8"), "data");
    assert.equal(readFileSync(path.join(target, "ok"), "utf8"), "data");
  });

  test("C17: with force, an existing symlink in the target where a directory goes is RESTORE_OUTSIDE_TARGET", async () => {
    const target = path.join(box, "existing");
    mkdirSync(target);
    writeFileSync(path.join(target, "keep.txt"), "mine");
    symlinkSync(path.join(box, "outside"), path.join(target, "a"));
    await refused([dir(""), dir("a"), file("a/victim.txt")], "RESTORE_OUTSIDE_TARGET", {
      target: "existing",
      force: true,
    });
    // without force the non-empty target is refused first
    await refused([dir(""), file("x")], "RESTORE_TARGET_NOT_EMPTY", { target: "existing" });
    // a file where the target directory should be
    writeFileSync(path.join(box, "a-file"), "x");
    await refused([dir(""), file("x")], "RESTORE_OUTSIDE_TARGET", { target: "a-file" });
  });

  test("C17: with force, an existing symlink where a file goes is replaced, never written through", async () => {
    const target = path.join(box, "replace");
    mkdirSync(target);
    symlinkSync(path.join(box, "outside", "victim.txt"), path.join(target, "victim.txt"));
    const id = await craftCheckpoint(db, [dir(""), file("victim.txt", "restored")], { time: t++ });
    const rep = restoreCheckpoint(db, id, target, { force: true });
    assert.equal(rep.replaced, 1);
    assert.equal(readFileSync(path.join(target, "victim.txt"), "utf8"), "restored");
    assert.equal(readFileSync(path.join(box, "outside", "victim.txt"), "utf8"), "original");
  });

  test("C18: missing and corrupt chunks are CHECKPOINT_CORRUPT; a corrupt chunk is never written", async () => {
    const big = textBytes(100_000, 1);
    await refused([dir(""), { path: "f", kind: "file", content: big }], "CHECKPOINT_CORRUPT", {
      craft: { time: 0, dropChunks: () => true },
    });
    // bytes that do not hash to their key: caught at the chunk, before it reaches the file
    const id = await craftCheckpoint(db, [dir(""), { path: "f", kind: "file", content: big }], {
      time: t++,
      chunkValue: (_h, raw) => {
        const v = new Uint8Array(1 + raw.length);
        v.set(raw, 1);
        v[10] = (v[10] as number) ^ 1;
        return v;
      },
    });
    assert.throws(
      () => restoreCheckpoint(db, id, path.join(box, "corrupt")),
      (e: unknown) => isHeliosError(e, "CHECKPOINT_CORRUPT"),
    );
    assert.equal(readFileSync(path.join(box, "corrupt", "f")).length, 0, "the bad chunk was not written");
    // a zstd frame that claims more than the entry (a decompression bomb) is refused before decompressing
    const bomb = await craftCheckpoint(db, [dir(""), { path: "f", kind: "file", content: textBytes(5000, 2) }], {
      time: t++,
      chunkValue: () => {
        // a frame header claiming 1 GiB of content (single-segment, 4-byte content size)
        const v = new Uint8Array([CHUNK_ZSTD, 0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0x40, 0, 0, 0]);
        return v;
      },
    });
    assert.throws(
      () => restoreCheckpoint(db, bomb, path.join(box, "bomb")),
      (e: unknown) => isHeliosError(e, "CHECKPOINT_CORRUPT"),
    );
  });

  test("C19: an entry whose parent is missing or is a file is CHECKPOINT_CORRUPT; no root directory is CHECKPOINT_CORRUPT", async () => {
    await refused([dir(""), file("a/b")], "CHECKPOINT_CORRUPT");
    await refused([dir(""), file("a"), file("a/b")], "CHECKPOINT_CORRUPT");
    await refused([file("x")], "CHECKPOINT_CORRUPT");
  });
});
