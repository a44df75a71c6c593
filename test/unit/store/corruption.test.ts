/**
 * Corruption: bytes flipped in the LMDB file and in the log give a coded
 * error that names what is wrong — never a wrong answer.
 *
 * Targeted flips hit a node's value, the state record and log records.
 * Random flips anywhere in the LMDB file are read back in a child process
 * (LMDB has no page checksums, so a flip in its own page structure could
 * crash the reader rather than raise): the outcome must be the exact
 * contents, or a coded error, or — counted and reported, not hidden — a
 * crash; never different contents.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { bytesToHex, hash } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { distSrc, rmDir, tmpDir } from "../../support/tmp.js";

const key = (i: number) => hash(Uint8Array.of(7, i >> 8, i & 0xff));
/** A value that occurs once in the file: a marker plus the index. */
const val = (i: number) => {
  const v = new Uint8Array(80);
  v.set(Buffer.from("HELIOS-TEST-VALUE"), 0);
  v[20] = i >> 8;
  v[21] = i & 0xff;
  for (let j = 22; j < 80; j++) v[j] = (j * 31 + i) & 0xff;
  return v;
};

function flip(file: string, at: number): void {
  const b = readFileSync(file);
  b[at] = (b[at] as number) ^ 0x40;
  writeFileSync(file, b);
}

async function build(dir: string, n: number, opts: { checkpoint: boolean }): Promise<StateDB> {
  const db = openState(dir, { create: true, checkpointEvery: 1e9, checkpointBytes: 2 ** 40 });
  const per = n / 4;
  for (let h = 1; h <= 4; h++) {
    const ops = [];
    for (let i = (h - 1) * per; i < h * per; i++) ops.push({ key: key(i), value: val(i) });
    db.commit(h, { accounts: ops });
  }
  db.setRef("CORRUPTION-TEST-REF", db.root);
  if (opts.checkpoint) await db.checkpoint();
  return db;
}

const dataFile = (dir: string) => path.join(dir, "nodes.mdb");

test("a flipped byte in a node's value is STORE_CORRUPT naming the node; nothing wrong is served", async () => {
  const dir = tmpDir("corrupt");
  try {
    const db = await build(dir, 400, { checkpoint: true });
    await db.close();
    const file = dataFile(dir);
    const at = readFileSync(file).indexOf(val(123)) + 40;
    assert.ok(at > 40, "the value is in the file");
    flip(file, at);
    const again = openState(dir);
    assert.throws(
      () => again.get("accounts", key(123)),
      (e: { code?: string; context?: { id?: string } }) =>
        e.code === "STORE_CORRUPT" && /^[0-9a-f]{64}$/.test(e.context?.id ?? ""),
    );
    assert.deepEqual(again.get("accounts", key(124)), val(124), "other keys still read");
    assert.throws(() => again.verify(), { code: "STORE_CORRUPT" });
    await again.close();
  } finally {
    rmDir(dir);
  }
});

test("a flipped byte in the state record is STORE_CORRUPT naming the record", async () => {
  const dir = tmpDir("corrupt");
  try {
    const db = await build(dir, 40, { checkpoint: true });
    await db.close();
    const file = dataFile(dir);
    // LMDB is copy-on-write, so stale copies of the record may sit in free pages: flip every copy
    const buf = readFileSync(file);
    const marker = Buffer.from("CORRUPTION-TEST-REF");
    let copies = 0;
    for (let at = buf.indexOf(marker); at >= 0; at = buf.indexOf(marker, at + 1)) {
      buf[at + 3] = (buf[at + 3] as number) ^ 0x40;
      copies++;
    }
    assert.ok(copies > 0);
    writeFileSync(file, buf);
    assert.throws(
      () => openState(dir),
      (e: { code?: string; context?: { record?: string } }) =>
        e.code === "STORE_CORRUPT" && e.context?.record === "state",
    );
  } finally {
    rmDir(dir);
  }
});

function walFiles(dir: string): string[] {
  const w = path.join(dir, "wal");
  return readdirSync(w)
    .sort()
    .map((f) => path.join(w, f));
}

test("log corruption: a flipped record or length is STORE_CORRUPT naming segment and offset; a torn tail is dropped", async () => {
  const base = tmpDir("corrupt");
  try {
    const pristine = path.join(base, "pristine");
    const db = await build(pristine, 400, { checkpoint: false });
    const roots = [1, 2, 3, 4].map((h) => bytesToHex(db.rootAt(h)));
    db.store.abandon(); // as if killed: everything is in the log only
    const seg = walFiles(pristine).at(-1) as string;
    const size = readFileSync(seg).length;

    // a byte inside the third commit's body
    const c1 = path.join(base, "c1");
    cpSync(pristine, c1, { recursive: true });
    const seg1 = walFiles(c1).at(-1) as string;
    flip(seg1, readFileSync(seg1).indexOf(val(250)) + 10);
    assert.throws(
      () => openState(c1),
      (e: { code?: string; context?: { segment?: string; offset?: number } }) =>
        e.code === "STORE_CORRUPT" && e.context?.segment === seg1 && typeof e.context.offset === "number",
    );

    // the last record's length field (8 + 4 bytes before... found by scanning headers)
    const c2 = path.join(base, "c2");
    cpSync(pristine, c2, { recursive: true });
    const seg2 = walFiles(c2).at(-1) as string;
    const buf = readFileSync(seg2);
    let pos = 8;
    let last = 8;
    while (pos < buf.length) {
      last = pos;
      pos += 48 + buf.readUInt32LE(pos);
    }
    flip(seg2, last + 1);
    assert.throws(() => openState(c2), { code: "STORE_CORRUPT" });

    // a torn tail (the last record cut short, as by a kill mid-write): dropped, the store opens at the one before
    const c3 = path.join(base, "c3");
    cpSync(pristine, c3, { recursive: true });
    const seg3 = walFiles(c3).at(-1) as string;
    writeFileSync(seg3, readFileSync(seg3).subarray(0, size - 7));
    const again = openState(c3);
    assert.equal(again.refs().size, 0, "the ref record was the torn one");
    assert.equal(again.height, 4);
    assert.equal(bytesToHex(again.root), roots[3]);
    again.verify();
    await again.close();

    // and the pristine log replays to the recorded roots
    const ok = openState(pristine);
    assert.equal(ok.height, 4);
    assert.equal(ok.stats().recovered.records > 4, true);
    assert.deepEqual(
      [1, 2, 3, 4].map((h) => bytesToHex(ok.rootAt(h))),
      roots,
    );
    await ok.close();
  } finally {
    rmDir(base);
  }
});

/** In a child: open, read every entry of every tree at every retained height; print a digest, or the error code. */
const READER = `
const { openState } = await import(process.argv[1]);
const { hash, bytesToHex } = await import(process.argv[2]);
try {
  const db = openState(process.argv[3]);
  const parts = [];
  for (const h of db.heights()) {
    const root = db.rootAt(h);
    db.verify(root);
    for (const [t, tr] of db.trees(root)) for (const [k, v] of db.map.entries(tr)) parts.push(t, bytesToHex(k), bytesToHex(v));
  }
  process.stdout.write("DIGEST " + bytesToHex(hash(new TextEncoder().encode(parts.join(",")))));
  db.store.abandon();
  process.exit(0);
} catch (e) {
  process.stdout.write("CODE " + (e.code ?? "none") + " " + String(e.message).slice(0, 200));
  process.exit(e.code ? 3 : 4);
}`;

test("random flips anywhere in the LMDB file: the exact contents or a coded error, never a wrong answer", async () => {
  const base = tmpDir("corrupt");
  try {
    const pristine = path.join(base, "pristine");
    const db = await build(pristine, 2000, { checkpoint: true });
    await db.close();
    const run = (dir: string) =>
      spawnSync(
        process.execPath,
        ["--input-type=module", "-e", READER, distSrc("history/index.js"), distSrc("core/index.js"), dir],
        { encoding: "utf8", timeout: 60_000 },
      );
    const clean = run(pristine);
    assert.match(clean.stdout, /^DIGEST [0-9a-f]{64}$/, clean.stderr);
    const digest = clean.stdout;
    const size = readFileSync(dataFile(pristine)).length;
    const trials = Number(process.env.HELIOS_CORRUPT_TRIALS ?? 40);
    let seed = Number(process.env.HELIOS_SEED ?? 0x5eed) >>> 0;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    const tally = { same: 0, coded: 0, crashed: 0 };
    const codes = new Map<string, number>();
    for (let t = 0; t < trials; t++) {
      const dir = path.join(base, `t${t}`);
      cpSync(pristine, dir, { recursive: true });
      const at = rnd() % size;
      flip(dataFile(dir), at);
      const r = run(dir);
      if (r.status === 0) {
        assert.equal(
          r.stdout,
          digest,
          `flip at ${at} (HELIOS_SEED=${seed}): different contents served without an error`,
        );
        tally.same++;
      } else if (r.status === 3) {
        const code = r.stdout.split(" ")[1] as string;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        tally.coded++;
      } else {
        assert.notEqual(r.status, 4, `flip at ${at}: an uncoded error: ${r.stdout} ${r.stderr.slice(0, 300)}`);
        tally.crashed++;
      }
      rmDir(dir);
    }
    console.log(`random flips: ${JSON.stringify(tally)} codes ${JSON.stringify([...codes])}`);
    assert.equal(tally.same + tally.coded + tally.crashed, trials);
  } finally {
    rmDir(base);
  }
});
