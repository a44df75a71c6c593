/**
 * The snapshot-import crash test's victim (test/crash/snapshot-import.test.ts):
 * opens (or creates) a store and imports a snapshot directory into it,
 * resuming whatever import of the same manifest an earlier, killed child left
 * behind. The parent SIGKILLs it at a moment it picks from the lines below.
 *
 *   node dist/test/support/snapshot-import-child.js <store> <snapshot dir> <api|steps>
 *
 * Modes: "api" calls importSnapshot (files.ts), the public one-call import;
 * "steps" drives SnapshotImport (import.ts) itself, as a state-sync client
 * fetching chunks from peers would, and also reports where it resumed and
 * when it enters finish(). It reports on stdout, one line per write(2), so a
 * line is either wholly in the pipe or not at all:
 *
 *   PHASE open                      before openState (recovery)
 *   OPEN <height> <root>            after the store opened
 *   BEGIN <resumedAt> <chunks>      (steps) after SnapshotImport.begin
 *   CHUNK <chunksDone> <chunks>     after a chunk was applied (durable, journal written)
 *   FINISH                          (steps) right before finish()
 *   DONE <height> <root> <resumedAt> <adopted 0|1>   after finish() returned
 *   CLOSED                          after db.close() (a checkpoint)
 *
 * Anything thrown ends the process with code 3 and the error on stderr: the
 * parent treats an exit it did not cause, other than after CLOSED, as a
 * failure.
 */
import { readFileSync } from "node:fs";
import { bytesToHex, HeliosError } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import { chunkFile, importSnapshot, readManifest, SnapshotImport } from "../../src/snapshot/index.js";
import { childUsage, isMainModule, runChildMain, say, tick } from "./proc.js";

export type ChildMode = "api" | "steps";

async function main(store: string, snap: string, mode: ChildMode): Promise<void> {
  say("PHASE open");
  const db = openState(store, { create: true });
  say(`OPEN ${db.height} ${bytesToHex(db.root)}`);
  if (mode === "api") {
    const rep = await importSnapshot(db, snap, {
      onProgress: (p) => say(`CHUNK ${p.chunksDone} ${p.chunks}`),
    });
    say(`DONE ${rep.height} ${bytesToHex(rep.root)} ${rep.resumedAt} ${rep.adopted ? 1 : 0}`);
  } else {
    const { bytes } = readManifest(snap);
    const imp = SnapshotImport.begin(db, bytes);
    const chunks = imp.manifest.chunks.length;
    say(`BEGIN ${imp.resumedAt} ${chunks}`);
    for (let i = imp.next; i !== undefined; i = imp.next) {
      const reply = imp.apply(i, readFileSync(chunkFile(snap, i)));
      if (reply.action !== "accept") {
        throw reply.error ?? new HeliosError("INVALID_ARGUMENT", { chunk: i, action: reply.action }, "chunk refused");
      }
      say(`CHUNK ${imp.progress().chunksDone} ${chunks}`);
      await tick();
    }
    say("FINISH");
    const done = imp.finish();
    say(`DONE ${done.height} ${bytesToHex(done.root)} ${imp.resumedAt} ${done.adopted ? 1 : 0}`);
  }
  await db.close();
  say("CLOSED");
}

if (isMainModule(import.meta.url)) {
  const [store, snap, mode] = process.argv.slice(2);
  if (store === undefined || snap === undefined || (mode !== "api" && mode !== "steps")) {
    childUsage("snapshot-import-child <store> <snapshot dir> <api|steps>");
  }
  runChildMain("snapshot-import-child", () => main(store, snap, mode));
}
