/**
 * snapshot/manage — the snapshots a store holds: create, list, info,
 * delete, prune.
 *
 * A snapshot is a ref named `snapshot/<height, 20 digits>` pointing at the
 * version committed at that height. Creating one copies nothing: it is one
 * small log record (O(1), independent of the state's size), and from then
 * on GC keeps the version, whatever retention does to the height. Chunks
 * are cut only when the snapshot is exported or served (build.ts).
 *
 * Invariants: a snapshot's root is the root committed at its height; a
 * snapshot's nodes are never collected while it exists (refs are live).
 * Costs: create/delete/restore = one log append (fsync unless `sync: false`);
 * list = O(refs).
 */
import { equalBytes, HeliosError } from "../core/index.js";
import type { StateDB } from "../history/index.js";

const PREFIX = "snapshot/";

export function snapshotRef(height: number): string {
  return PREFIX + String(height).padStart(20, "0");
}

export interface SnapshotInfo {
  height: number;
  root: Uint8Array;
}

function checkHeight(h: unknown): number {
  if (typeof h !== "number" || !Number.isSafeInteger(h) || h < 0) {
    throw new HeliosError("INVALID_ARGUMENT", { height: h }, "a height is a non-negative integer");
  }
  return h;
}

/**
 * Snapshots the version committed at `height` (default: the head), which
 * must be retained. With `sync: false` the record's fsync rides on the next
 * commit (the snapshot is live at once; a crash before then forgets it).
 */
export function createSnapshot(db: StateDB, height: number = db.height, opts: { sync?: boolean } = {}): SnapshotInfo {
  checkHeight(height);
  const root = db.rootAt(height);
  db.setRef(snapshotRef(height), root, opts);
  return { height, root };
}

export function listSnapshots(db: StateDB): SnapshotInfo[] {
  const out: SnapshotInfo[] = [];
  for (const [name, root] of db.refs()) {
    if (!name.startsWith(PREFIX)) continue;
    const h = Number(name.slice(PREFIX.length));
    if (Number.isSafeInteger(h) && snapshotRef(h) === name) out.push({ height: h, root });
  }
  return out.sort((a, b) => a.height - b.height);
}

export function snapshotInfo(db: StateDB, height: number): SnapshotInfo & { trees: string[] } {
  checkHeight(height);
  const name = snapshotRef(height);
  const root = db.refs().get(name);
  if (root === undefined) throw new HeliosError("SNAPSHOT_NOT_FOUND", { height });
  return { height, root, trees: db.trees(root).map(([n]) => n) };
}

export function deleteSnapshot(db: StateDB, height: number): void {
  checkHeight(height);
  const name = snapshotRef(height);
  if (!db.refs().has(name)) throw new HeliosError("SNAPSHOT_NOT_FOUND", { height });
  db.deleteRef(name);
}

/** Deletes all but the newest `keep` snapshots; returns the heights deleted. GC reclaims what only they kept. */
export function pruneSnapshots(db: StateDB, keep: number): number[] {
  if (!Number.isSafeInteger(keep) || keep < 0) {
    throw new HeliosError("INVALID_ARGUMENT", { keep }, "keep is a non-negative integer");
  }
  const all = listSnapshots(db);
  const drop = all.slice(0, Math.max(0, all.length - keep));
  for (const s of drop) db.deleteRef(snapshotRef(s.height), { sync: false });
  if (drop.length > 0) db.sync();
  return drop.map((s) => s.height);
}

/**
 * Makes the snapshot at `height` the head again: a rollback when that height
 * is still retained with the snapshot's root (later heights are dropped, older
 * ones kept), else the snapshot's version is adopted as the only height.
 * Durable when it returns.
 */
export function restoreSnapshot(db: StateDB, height: number): SnapshotInfo {
  const { root } = snapshotInfo(db, height);
  let retained: Uint8Array | undefined;
  try {
    retained = db.rootAt(height);
  } catch {
    retained = undefined;
  }
  if (retained !== undefined && equalBytes(retained, root) && height <= db.height) db.rollback(height);
  else db.adopt(height, root);
  return { height, root };
}

/** The root of a snapshot, or of a retained height when no snapshot is there. */
export function rootForHeight(db: StateDB, height: number): Uint8Array {
  checkHeight(height);
  const r = db.refs().get(snapshotRef(height));
  if (r !== undefined) return r;
  try {
    return db.rootAt(height);
  } catch {
    throw new HeliosError("SNAPSHOT_NOT_FOUND", { height }, "no snapshot and no retained height there");
  }
}
