// Compaction from the log, off the event loop. A snapshot taken from the live allocator is
// a copy of the whole state made while every request waits: 0.35 s at 350,000 allocations,
// ~0.8 s at a million, once per `compactBytes` of log (every ~7 s at 50,000 allocations/s).
// The log already says what that state is, so a worker thread rebuilds it instead: the
// newest snapshot below the segment the store just switched to, plus every record below it
// (files nobody writes any more), replayed by the same code as a start-up, then written as
// `snap-<seq>.snap.tmp` and synced. The store gives it its name and deletes what it covers.
// The server only switches segments; a failed compaction leaves every file in place and the
// next one tries again.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { rebuild, type IpamFactory } from '../replay.js';
import { FileStore } from './file-store.js';
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
  const state = new FileStore({ dir: job.dir }).readBelow(job.seq);
  const ipam = rebuild(state, createIpam);
  await writeSnapshotTmp(job.dir, job.seq, await encodeSnapshotFrame(job.seq, ipam.snapshot()));
}

/** A Compactor that runs each job in a worker thread (compact-worker.ts, or its bundled .mjs). */
export function workerCompactor(): Compactor {
  const here = import.meta.url;
  const ext = extname(fileURLToPath(here));
  const entry = new URL(`./compact-worker${ext}`, here);
  // From source (tests, tsx): loader hooks do not reach worker threads, so the worker
  // registers tsx itself before importing the .ts entry.
  const start = (job: CompactJob) =>
    ext === '.ts'
      ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, { eval: true, workerData: job })
      : new Worker(entry, { workerData: job });
  return (job) =>
    new Promise<void>((resolve, reject) => {
      const w = start(job);
      let answered = false;
      w.once('message', (m: { error?: string }) => {
        answered = true;
        if (m.error) reject(new Error(m.error));
        else resolve();
      });
      w.once('error', (e) => {
        answered = true;
        reject(e);
      });
      w.once('exit', (code) => {
        if (!answered) reject(new Error(`compaction worker exited with code ${code} before answering`));
      });
    });
}
