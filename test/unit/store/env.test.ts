/**
 * Bad environments: a missing, foreign or wrong-version directory, a store
 * held by another (real) process, a read-only mount and a full disk. Each
 * gives its coded error, and the data is intact afterwards.
 *
 * Read-only and full-disk use a real tmpfs mount, which needs root (or
 * CAP_SYS_ADMIN). Without it, read-only falls back to chmod (effective only
 * for non-root users) and full disk is skipped, saying why.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { bytesToHex } from "../../../src/core/index.js";
import { openState } from "../../../src/history/index.js";
import { distSrc, rmDir, tmpDir } from "../../support/tmp.js";

const key = (i: number) => Uint8Array.of(1, i >> 8, i & 0xff);
const val = (i: number, n = 40) => new Uint8Array(n).fill(i & 0xff);

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const d = tmpDir("mnt-probe");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", d], { stdio: "ignore" });
    execFileSync("umount", [d], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmDir(d);
  }
}
const MOUNT = canMount();

test("a missing directory is STORE_NOT_FOUND; an empty one too, unless create", async () => {
  const base = tmpDir("env");
  try {
    assert.throws(() => openState(path.join(base, "nope")), { code: "STORE_NOT_FOUND" });
    mkdirSync(path.join(base, "empty"));
    assert.throws(() => openState(path.join(base, "empty")), { code: "STORE_NOT_FOUND" });
    const db = openState(path.join(base, "empty"), { create: true });
    assert.equal(db.height, 0);
    await db.close();
  } finally {
    rmDir(base);
  }
});

test("a foreign directory or file is STORE_FOREIGN and is left untouched; a future format is STORE_VERSION", () => {
  const base = tmpDir("env");
  try {
    const foreign = path.join(base, "foreign");
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, "notes.txt"), "mine");
    assert.throws(() => openState(foreign, { create: true }), { code: "STORE_FOREIGN" });
    assert.deepEqual(execFileSync("ls", ["-A", foreign]).toString().trim().split("\n"), ["notes.txt"]);
    writeFileSync(path.join(base, "file"), "x");
    assert.throws(() => openState(path.join(base, "file"), { create: true }), { code: "STORE_FOREIGN" });
    const other = path.join(base, "other");
    mkdirSync(other);
    writeFileSync(path.join(other, "HELIOS"), '{"format":"something-else","version":1}');
    assert.throws(() => openState(other), { code: "STORE_FOREIGN" });
    const future = path.join(base, "future");
    mkdirSync(future);
    writeFileSync(path.join(future, "HELIOS"), '{"format":"helios-store","version":99,"id":"x"}');
    assert.throws(() => openState(future), { code: "STORE_VERSION" });
  } finally {
    rmDir(base);
  }
});

function holdInChild(dir: string): Promise<ChildProcess> {
  const code = `
    const { openState } = await import(${JSON.stringify(distSrc("history/index.js"))});
    const db = openState(${JSON.stringify(dir)});
    db.commit(db.height + 1, { t: [{ key: Uint8Array.of(9), value: Uint8Array.of(9) }] });
    process.stdout.write("open\\n");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("exit", (c) => reject(new Error(`child exited ${c}`)));
  });
}

test("a store held by another process is STORE_LOCKED naming its pid; after that process is killed, it opens with its data", async () => {
  const dir = tmpDir("lock");
  try {
    let db = openState(dir, { create: true });
    const r1 = db.commit(1, { t: [{ key: key(1), value: val(1) }] });
    await db.close();
    const child = await holdInChild(dir);
    assert.throws(
      () => openState(dir),
      (e: { code?: string; context?: { pid?: number } }) => e.code === "STORE_LOCKED" && e.context?.pid === child.pid,
    );
    // the same process cannot open it twice either
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    db = openState(dir);
    assert.throws(() => openState(dir), { code: "STORE_LOCKED" });
    assert.equal(db.height, 2, "the killed holder's acknowledged commit survived");
    assert.equal(bytesToHex(db.rootAt(1)), bytesToHex(r1));
    db.verify();
    await db.close();
  } finally {
    rmDir(dir);
  }
});

test("a read-only store is STORE_READ_ONLY and its data is intact once writable again", {
  skip:
    !MOUNT && process.getuid?.() === 0
      ? "root without mount: chmod does not bind root and no tmpfs can be mounted"
      : false,
}, async () => {
  const mnt = tmpDir("ro");
  const dir = path.join(mnt, "store");
  try {
    if (MOUNT) execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt]);
    let db = openState(dir, { create: true });
    const root = db.commit(1, { t: [{ key: key(1), value: val(1) }] });
    await db.close();
    if (MOUNT) execFileSync("mount", ["-o", "remount,ro", mnt]);
    else chmodSync(dir, 0o555);
    assert.throws(() => openState(dir), { code: "STORE_READ_ONLY" });
    if (MOUNT) execFileSync("mount", ["-o", "remount,rw", mnt]);
    else chmodSync(dir, 0o755);
    db = openState(dir);
    assert.equal(bytesToHex(db.root), bytesToHex(root));
    db.verify();
    await db.close();
  } finally {
    if (MOUNT) execFileSync("umount", ["-l", mnt], { stdio: "ignore" });
    rmDir(mnt);
  }
});

test("a full disk is STORE_DISK_FULL; nothing acknowledged is lost, nothing half-applied", {
  skip: MOUNT ? false : "needs root to mount a small tmpfs",
}, async () => {
  const mnt = tmpDir("full");
  const dir = path.join(mnt, "store");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt]);
    const db = openState(dir, { create: true, checkpointEvery: 2 });
    const acked = new Map<number, string>();
    let err: { code?: string } | undefined;
    for (let h = 1; h < 10_000 && err === undefined; h++) {
      const ops = Array.from({ length: 50 }, (_, i) => ({ key: key(h * 50 + i), value: val(h + i, 200) }));
      try {
        acked.set(h, bytesToHex(db.commit(h, { t: ops })));
        if (h % 5 === 0) await db.checkpoint().catch(() => undefined);
      } catch (e) {
        err = e as { code?: string };
      }
    }
    assert.equal(err?.code, "STORE_DISK_FULL", `expected a full disk, got ${String(err)}`);
    const head = db.height;
    assert.equal(head, Math.max(...acked.keys()), "the failed commit changed nothing");
    assert.equal(bytesToHex(db.root), acked.get(head));
    // closing checkpoints, which cannot succeed on a full disk: coded, and the handle is released
    await assert.rejects(db.close(), { code: "STORE_DISK_FULL" });
    // free space: grow the filesystem, reopen, every retained acknowledged height is there
    execFileSync("mount", ["-o", "remount,size=64m", mnt]);
    const again = openState(dir);
    assert.equal(again.height, head);
    for (const h of again.heights()) if (h > 0) assert.equal(bytesToHex(again.rootAt(h)), acked.get(h));
    again.verify();
    again.commit(head + 1, { t: [{ key: key(1), value: val(1) }] });
    await again.close();
  } finally {
    try {
      execFileSync("umount", ["-l", mnt], { stdio: "ignore" });
    } catch {
      // not mounted
    }
    rmDir(mnt);
  }
});
