/**
 * Restore attacks (docs/spec/checkpoint.md C14–C19, C25, C26): hand-made checkpoints
 * (ckpt-craft, which writes the trees directly with no checks) with path
 * traversal, absolute paths, non-normalized paths, entries below symlinks,
 * symlinks that escape (directly or through a chain), missing and corrupt
 * chunks; and targets that already hold symlinks. Each is refused with its
 * code, and a listing of the sandbox directory around the target shows that
 * nothing was written anywhere: the check runs before the first write.
 * Then the regressions of the second review: metadata applied by path
 * (TOCTOU), byte-order-mark names, symlinks created mid-walk, setuid bits,
 * paths over PATH_MAX once joined to the target.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type ErrorCode, isHeliosError } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { createCheckpoint, restoreCheckpoint } from "../../../src/sandbox/checkpoint.js";
import { type CraftedEntry, craftCheckpoint } from "../../../src/sandbox/ckpt-craft.js";
import { CHUNK_ZSTD } from "../../../src/sandbox/ckpt-format.js";
import { setDirMeta } from "../../../src/sandbox/ckpt-restore.js";
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

  const modeOf = (p: string) => lstatSync(p).mode & 0o7777;

  test("C26 (R1): a directory swapped for a symlink during the restore is never chmod'ed through (final pass by descriptor)", async () => {
    const outside = path.join(box, "outside");
    chmodSync(outside, 0o755);
    const many = Array.from({ length: 70 }, (_, i) => file(`z/f${String(i).padStart(2, "0")}`, "x"));
    const entries = [dir(""), { ...dir("d"), mode: 0o777 }, dir("z"), ...many];
    const id = await craftCheckpoint(db, entries, { time: t++ });
    // a co-tenant swaps target/d for a symlink to outside/ mid-walk (the first progress call, after 64 entries)
    const target = path.join(box, "race");
    let swapped = false;
    const swap = (into: string, to: () => void) => () => {
      if (swapped) return;
      swapped = true;
      renameSync(path.join(into, "d"), path.join(box, `moved-${path.basename(into)}`));
      to();
    };
    assert.throws(
      () =>
        restoreCheckpoint(db, id, target, {
          onProgress: swap(target, () => symlinkSync(outside, path.join(target, "d"))),
        }),
      (e: unknown) => isHeliosError(e, "RESTORE_OUTSIDE_TARGET") && /found while writing/.test((e as Error).message),
    );
    assert.ok(swapped, "the hook ran mid-walk");
    assert.equal(modeOf(outside), 0o755, "the symlink's target was not chmod'ed");
    assert.equal(readFileSync(path.join(outside, "victim.txt"), "utf8"), "original");
    // a real directory swapped in (another inode) is refused too: only what the restore created gets metadata
    const other = path.join(box, "other-dir");
    mkdirSync(other, { mode: 0o755 });
    chmodSync(other, 0o755);
    const target2 = path.join(box, "race2");
    swapped = false;
    assert.throws(
      () =>
        restoreCheckpoint(db, id, target2, {
          onProgress: swap(target2, () => renameSync(other, path.join(target2, "d"))),
        }),
      (e: unknown) => isHeliosError(e, "RESTORE_OUTSIDE_TARGET"),
    );
    assert.equal(modeOf(path.join(target2, "d")), 0o755, "the swapped-in directory kept its mode");
  });

  test("C26 (R1): setDirMeta refuses a symlink, a file and a directory other than the one recorded", () => {
    const base = path.join(box, "meta");
    mkdirSync(path.join(base, "real"), { recursive: true, mode: 0o755 });
    chmodSync(path.join(base, "real"), 0o755);
    const st = lstatSync(path.join(base, "real"));
    const rid = { dev: st.dev, ino: st.ino };
    symlinkSync(path.join(base, "real"), path.join(base, "link"));
    writeFileSync(path.join(base, "file"), "x");
    mkdirSync(path.join(base, "twin"));
    for (const name of ["link", "file", "twin", "missing"]) {
      assert.throws(
        () => setDirMeta(path.join(base, name), rid, 0o777, 1_000_000_000n, name),
        (e: unknown) => isHeliosError(e, "RESTORE_OUTSIDE_TARGET"),
        name,
      );
    }
    assert.equal(modeOf(path.join(base, "real")), 0o755);
    assert.equal(modeOf(path.join(base, "file")) & 0o777, 0o644);
    // the real one, by its own identity: mode and mtime set
    setDirMeta(path.join(base, "real"), rid, 0o1750, 1_000_000_000_000_000_000n, "real");
    assert.equal(modeOf(path.join(base, "real")), 0o1750);
    assert.equal(statSync(path.join(base, "real")).mtimeMs, 1_000_000_000_000);
  });

  test("C14 (R2): a name with a leading byte-order mark is its own name (restore and checkpoint)", async () => {
    // restore: "\uFEFFfoo" and "foo" are two entries, restored as two names
    const id = await craftCheckpoint(db, [dir(""), file("\uFEFFfoo", "bom"), file("foo", "plain")], { time: t++ });
    const target = path.join(box, "bom");
    restoreCheckpoint(db, id, target);
    assert.deepEqual(readdirSync(target).sort(), ["foo", "\uFEFFfoo"].sort());
    assert.equal(readFileSync(path.join(target, "\uFEFFfoo"), "utf8"), "bom");
    assert.equal(readFileSync(path.join(target, "foo"), "utf8"), "plain");
    // the reviewer's collision: checked as a directory "\uFEFFfoo", foo -> . makes a -> foo/../outside escape
    await refused(
      [dir(""), link("a", "foo/../outside/victim.txt"), link("foo", "."), dir("\uFEFFfoo")],
      "RESTORE_SYMLINK_ESCAPE",
    );
    // checkpoint: a source file named "\uFEFFnotes.txt" beside "notes.txt" is kept, and both come back
    const src = path.join(work, "bom-src");
    mkdirSync(src);
    writeFileSync(path.join(src, "\uFEFFnotes.txt"), "BOM-named");
    writeFileSync(path.join(src, "notes.txt"), "plain");
    const c = await createCheckpoint(db, src, { time: t++ });
    assert.equal(c.stats.files, 2);
    const out = path.join(box, "bom-out");
    restoreCheckpoint(db, c.id, out);
    assert.equal(readFileSync(path.join(out, "\uFEFFnotes.txt"), "utf8"), "BOM-named");
    assert.equal(readFileSync(path.join(out, "notes.txt"), "utf8"), "plain");
  });

  test("C26 (R3): symlinks are created last: a failure while writing leaves no symlink behind", async () => {
    // with force, target/f is an empty directory until the file f replaces it; a -> f/../../outside is
    // inside only once f is a file. A corrupt chunk in b stops the restore before that.
    const target = path.join(box, "shortcut");
    mkdirSync(path.join(target, "f"), { recursive: true });
    const id = await craftCheckpoint(
      db,
      [dir(""), link("a", "f/../../outside/victim.txt"), file("b", "bad chunk"), file("f", "x"), link("ok", "f")],
      {
        time: t++,
        chunkValue: (_h, raw, v) =>
          Buffer.from(raw).toString() === "bad chunk"
            ? new Uint8Array([0, ...new TextEncoder().encode("BAD chunk")])
            : v,
      },
    );
    assert.throws(
      () => restoreCheckpoint(db, id, target, { force: true }),
      (e: unknown) => isHeliosError(e, "CHECKPOINT_CORRUPT"),
    );
    for (const name of readdirSync(target)) {
      assert.ok(!lstatSync(path.join(target, name)).isSymbolicLink(), `${name} is a symlink`);
    }
    // the same checkpoint without the bad chunk restores, symlinks included, and a stays inside
    const good = await craftCheckpoint(
      db,
      [dir(""), link("a", "f/../../outside/victim.txt"), file("b", "fine"), file("f", "x"), link("ok", "f")],
      { time: t++ },
    );
    const rep = restoreCheckpoint(db, good, target, { force: true });
    assert.equal(rep.symlinks, 2);
    assert.throws(() => readFileSync(path.join(target, "a")), /ENOTDIR/);
    assert.equal(readFileSync(path.join(target, "ok"), "utf8"), "x");
  });

  test("C25 (R4): setuid and setgid are cleared unless preservePrivileged (sticky and rwx kept)", async () => {
    const entries: CraftedEntry[] = [
      { ...dir(""), mode: 0o755 },
      { ...file("sh", "#!/bin/sh\n"), mode: 0o6777 },
      { ...file("plain", "x"), mode: 0o640 },
      { ...dir("shared"), mode: 0o3775 },
    ];
    const id = await craftCheckpoint(db, entries, { time: t++ });
    const out = path.join(box, "suid");
    const rep = restoreCheckpoint(db, id, out);
    assert.equal(modeOf(path.join(out, "sh")), 0o777);
    assert.equal(modeOf(path.join(out, "plain")), 0o640);
    assert.equal(modeOf(path.join(out, "shared")), 0o1775);
    assert.equal(rep.privilegedCleared, 2);
    const kept = path.join(box, "suid-kept");
    const rep2 = restoreCheckpoint(db, id, kept, { preservePrivileged: true });
    assert.equal(modeOf(path.join(kept, "sh")), 0o6777);
    assert.equal(modeOf(path.join(kept, "shared")), 0o3775);
    assert.equal(rep2.privilegedCleared, 0);
  });

  test("C14 (R5): a path too long once joined to the target (or a name over 255 bytes) is refused before any write", async () => {
    // 19 components of 200 bytes: 3,823 bytes, a legal stored path; under a 250-byte target name it passes PATH_MAX
    const comps = Array.from({ length: 19 }, (_, i) => `${String(i).padStart(2, "0")}${"x".repeat(198)}`);
    const entries = [dir(""), file("a.txt", "first")];
    for (let i = 1; i <= comps.length; i++) entries.push(dir(comps.slice(0, i).join("/")));
    entries.push(file(`${comps.join("/")}/leaf`, "deep"));
    await refused(entries, "CHECKPOINT_PATH_UNSAFE", { target: "t".repeat(250) });
    // the same checkpoint fits a short target
    const id = await craftCheckpoint(db, entries, { time: t++ });
    restoreCheckpoint(db, id, path.join(box, "L"));
    assert.equal(readFileSync(path.join(box, "L", ...comps, "leaf"), "utf8"), "deep");
    await refused([dir(""), file("n".repeat(256))], "CHECKPOINT_PATH_UNSAFE");
  });

  test("C17 (R6): RESTORE_OUTSIDE_TARGET says whether it was found before writing", async () => {
    writeFileSync(path.join(box, "plain-file"), "x");
    const id = await craftCheckpoint(db, [dir(""), file("x")], { time: t++ });
    assert.throws(
      () => restoreCheckpoint(db, id, path.join(box, "plain-file")),
      (e: unknown) =>
        isHeliosError(e, "RESTORE_OUTSIDE_TARGET") &&
        /found before writing: nothing was written/.test((e as Error).message),
    );
  });
});
