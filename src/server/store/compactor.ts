// Compaction from the log, off the event loop. A snapshot taken from the live allocator is
// a copy of the whole state made while every request waits, once per `compactBytes` of log,
// and that pause grows with the number of allocations.
// The log already says what that state is, so a child process rebuilds it instead: the
// newest snapshot below the segment the store just switched to, plus every record below it
// (files nobody writes any more), replayed by the same code as a start-up, then written as
// `snap-<seq>.snap.tmp` and synced. The store gives it its name and deletes what it covers.
// The server only switches segments; a failed compaction leaves every file in place and the
// next one tries again. A process rather than a worker thread: its memory (a second copy
// of the state while it works) goes back to the system when it exits, and its priority can
// be lowered portably; the two measured alike for the batched p99.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { rebuild, type IpamFactory } from '../replay.js';
import { readLog } from './log-reader.js';
import { StoreCorruptError } from './store.js';
import { encodeSnapshotFrame, writeSnapshotTmp } from './snapshot-writer.js';

export interface CompactJob {
  /** The data directory. */
  dir: string;
  /** The snapshot to write covers every segment below this one. */
  seq: number;
}

/** Writes `snap-<seq>.snap.tmp` (synced) from the log; resolves once it is durable. */
export type Compactor = (job: CompactJob) => Promise<void>;

/** The compaction itself, in whatever thread calls it. */
export async function compactFromLog(job: CompactJob, createIpam: IpamFactory): Promise<void> {
  // The segments below job.seq are complete (each ends with its end marker): anything less
  // than whole is a loss, and a snapshot of it would make the loss permanent.
  const log = readLog(job.dir, job.seq);
  const bad =
    log.loss ??
    (log.torn && {
      msg: `${log.segments[log.torn.index]!.file}: damaged record at offset ${log.torn.offset} (${log.torn.reason})`,
      path: log.segments[log.torn.index]!.path,
      offset: log.torn.offset,
    });
  if (bad) throw new StoreCorruptError(`not compacting: ${bad.msg}`, bad.path, bad.offset);
  const ipam = rebuild({ ...(log.snapshot ? { snapshot: log.snapshot } : {}), records: log.records, report: [] }, createIpam);
  await writeSnapshotTmp(job.dir, job.seq, await encodeSnapshotFrame(job.seq, log.lastN, ipam.snapshot()));
}

/** A Compactor that runs each job in a child process (compact-worker.ts, or its bundled .mjs)
 *  at the lowest CPU priority. */
export function processCompactor(): Compactor {
  const here = import.meta.url;
  const ext = extname(fileURLToPath(here));
  const entry = fileURLToPath(new URL(`./compact-worker${ext}`, here));
  return (job) =>
    new Promise<void>((resolve, reject) => {
      // from source (tests) the child needs tsx, as its parent did; the bundle runs as it is
      const child = fork(entry, [], { execArgv: ext === '.ts' ? ['--import', 'tsx'] : [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      try {
        setPriority(child.pid!, 19); // background work: only what the server leaves
      } catch {
        // not permitted here: normal priority
      }
      let answered = false;
      child.once('message', (m: { error?: string }) => {
        answered = true;
        if (m.error) reject(new Error(m.error));
        else resolve();
      });
      child.once('error', (e) => {
        answered = true;
        reject(e);
      });
      child.once('exit', (code) => {
        if (!answered) reject(new Error(`compaction process exited with code ${code} before answering`));
      });
      child.send(job);
    });
}
