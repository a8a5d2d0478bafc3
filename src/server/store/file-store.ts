// The embedded durable store: an append-only log of records in numbered segments, with
// group commit, plus snapshots that let old segments be deleted (compaction).
//
// Directory layout:
//   LOCK                     flock(2)ed by the server using the directory (dir-lock.ts)
//   wal-<seq>.log            log segment <seq>: header + frames (segment-file.ts, frame.ts, record.ts)
//   snap-<seq>.snap          state before segment <seq> (covers every segment below it)
//   *.torn-<offset>          bytes cut off a damaged tail at recovery, kept for inspection
//
// Group commit: commit() appends its framed record to an in-memory batch and waits. One
// flush at a time writes the whole batch with a single writev and then resolves every waiter
// of that batch; records arriving meanwhile form the next batch. So a request is acknowledged
// only after its record is on disk, and N concurrent requests cost one disk sync instead of N.
// Segments are opened O_DSYNC where the platform has it, so the writev returns only once the
// data is on stable storage: one thread-pool round trip per flush instead of two (writev,
// then fdatasync). Under load each round trip also waits for a busy event loop to run its
// callback, so the second one costs more than the disk does.
// Without O_DSYNC (Windows) the flush falls back to writev + fdatasync.
//
// Preallocation: a segment is created at its full size (`segmentSize`, 4 MiB), zero-filled
// and synced, and records are written in place over the zeros, so a flush never changes the
// file's size and its sync has no metadata to journal (less to write than an appending sync,
// and it does not wait for other files' journal commits). The next segment is prepared
// in the background while the current one fills, so switching is a swap of descriptors; see
// segment-file.ts for why it is not extended in place. A zero tail is therefore the normal end
// of a segment; a graceful close trims the current one and removes the unused next one.
//
// Open: log-reader.ts reads the newest snapshot and every segment after it, changing
// nothing, and says whether acknowledged records are missing (numbered records, end markers;
// the rules are there). A loss refuses to open (StoreCorruptError naming the file) unless
// `repair` is set; nothing is ever dropped silently. begin() then writes on
// (log-repair.ts, log-append.ts): cuts a torn tail, repairs, seals the newest segment and
// starts a new one. With `hold` (the server), begin() waits until the server's ports are
// bound, so a start that fails changes nothing in the directory.
//
// Compaction: when the log since the last snapshot passes `compactBytes` and that snapshot's
// size, the flush loop switches to the next segment at a batch boundary; the snapshot of
// everything below it is then built and written in the background, and only when it is
// durable are the segments it covers deleted. With a `compactor` (the server's) the snapshot
// is rebuilt from the log in a child process and the live state is not touched; without one
// it is taken from the live state at that boundary, a pause as long as the state is large
// (serializing it is chunked, see snapshot-writer.ts). Waiting for the log to outgrow the
// snapshot keeps the cost of snapshots proportional to the work logged, however large the
// state, and bounds recovery to about two snapshots' worth of reading.
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  readdirSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Snapshot } from '../../ipam/types.js';
import { LiveIpam } from '../live.js';
import type { Compactor } from './compactor.js';
import { lockDir, type DirLock } from './dir-lock.js';
import { encodeTextFrame } from './frame.js';
import { startWriting, type Writer } from './log-append.js';
import { readLog, SEG_RE, SNAP_RE, type LogState } from './log-reader.js';
import type { DurableState, Op, RecoveryNote } from './ops.js';
import { encodeEnd, encodeRecord } from './record.js';
import { createSegmentSync, DSYNC, prepareSegment, SEGMENT_HEADER, segmentName, syncDir, zeroFill } from './segment-file.js';
import { encodeSnapshotFrame, snapshotName, writeSnapshotTmp } from './snapshot-writer.js';
import { FLUSH_BUCKETS, StoreCorruptError, StoreFailedError, type Store, type StoreStats } from './store.js';
import { writeAll } from './write-all.js';

const fdatasyncP = promisify(fdatasync);

export interface FileStoreOptions {
  dir: string;
  /** Start a snapshot when the log since the last one grows past this (default 64 MiB). */
  compactBytes?: number;
  /** Size of a log segment, preallocated (default 4 MiB). */
  segmentSize?: number;
  /** Builds snapshots from the log (off the event loop, see compactor.ts) instead of from
   *  the live state, which would stop the server for as long as the copy takes. */
  compactor?: Compactor;
  /** Truncate at mid-log damage instead of refusing to open (reported, never silent). */
  repair?: boolean;
  /** Recovery and compaction notes go here as they happen (besides DurableState.report). */
  onNote?: (note: RecoveryNote) => void;
  /** The server's allocator: without a compactor, snapshots are taken from it. */
  live?: LiveIpam;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Room always left free after the records of a segment: its end marker fits there, and a
 *  crash leaves zeros after the last record, which tells it from a cut (log-reader.ts). */
const RESERVE = 64;
export { segmentName };
export { snapshotName };

/** The segment after the current one, being prepared; `fd` is set once it is ready. */
interface NextSegment {
  seq: number;
  ready: Promise<number>;
  fd: number;
}

export class FileStore implements Store {
  readonly kind = 'file';
  private readonly dir: string;
  private readonly compactBytes: number;
  private readonly segmentSize: number;
  private readonly compactor: Compactor | undefined;
  private readonly repair: boolean;
  private readonly onNote: (n: RecoveryNote) => void;
  private fd = -1;
  private seq = 0;
  private next: NextSegment | undefined;
  /** Bytes logged since the last snapshot (all segments after it). */
  private sinceSnapshot = 0;
  /** Where the next frame goes in the current segment, and the segment's allocated size. */
  private writeOffset = 0;
  private fileEnd = 0;
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private compacting = false;
  private failed: StoreFailedError | undefined;
  private closed = false;
  readonly live: LiveIpam;
  private lock: DirLock | undefined;
  private createdDir = false;
  /** What open() read, until begin() writes on from it. */
  private found: LogState | undefined;
  private begun: Promise<void> | undefined;
  /** Settles with begin(): the flush loop writes nothing before. */
  private readonly writable = deferred();
  /** Number of the next record, and of the last one written (records are numbered, record.ts). */
  private nextN = 1;
  private writtenN = 0;
  private readonly counters: StoreStats = { commits: 0, records: 0, flushes: 0, bytes: 0, compactions: 0 };
  private readonly flushCounts = new Array<number>(FLUSH_BUCKETS.length + 1).fill(0);
  private flushSum = 0;
  private compactionDone: Promise<void> = Promise.resolve();
  /** Bytes of the newest snapshot: the log must outgrow it before the next compaction. */
  private snapshotBytes = 0;

  constructor(opts: FileStoreOptions) {
    this.dir = opts.dir;
    this.compactBytes = opts.compactBytes ?? 64 * 1024 * 1024;
    this.segmentSize = Math.max(opts.segmentSize ?? 4 * 1024 * 1024, 4096);
    this.compactor = opts.compactor;
    this.repair = opts.repair ?? false;
    this.onNote = opts.onNote ?? (() => {});
    this.live = opts.live ?? new LiveIpam();
  }

  async open(opts: { hold?: boolean } = {}): Promise<DurableState> {
    if (!existsSync(this.dir)) {
      mkdirSync(this.dir, { recursive: true });
      this.createdDir = true;
    }
    try {
      this.lock = lockDir(this.dir);
    } catch (e) {
      this.removeCreatedDir();
      throw e;
    }
    try {
      const log = readLog(this.dir);
      const report = this.judge(log);
      for (const n of report) this.onNote(n);
      this.found = log;
      this.snapshotBytes = log.snapshotBytes;
      this.sinceSnapshot = log.logged;
      this.writtenN = log.lastN ?? 0;
      this.nextN = this.writtenN + 1;
      if (!opts.hold) await this.begin();
      return { ...(log.snapshot ? { snapshot: log.snapshot } : {}), records: log.records, report };
    } catch (e) {
      this.releaseLock();
      throw e;
    }
  }

  /** Starts writing: repairs what open() found, seals the newest segment, starts a new one.
   *  Until then the directory is as it was (a start that fails before leaves it so). */
  begin(): Promise<void> {
    if (!this.begun) {
      this.lock?.sign();
      this.begun = this.found ? startWriting(this.found, this.writer()) : Promise.reject(new StoreFailedError('store is not open'));
      this.found = undefined;
      this.begun.then(this.writable.resolve, this.writable.reject);
    }
    return this.begun;
  }

  async load(): Promise<DurableState> {
    if (!this.lock) throw new StoreFailedError('store is not open');
    // Everything acknowledged is on disk; wait for what is in flight, then read it back.
    await this.commit([]).catch(() => {});
    const log = readLog(this.dir);
    if (log.loss) throw new StoreCorruptError(log.loss.msg, log.loss.path, log.loss.offset);
    return { ...(log.snapshot ? { snapshot: log.snapshot } : {}), records: log.records, report: [] };
  }

  /** What recovery found: notes, or StoreCorruptError for a loss (unless repairing). */
  private judge(log: LogState): RecoveryNote[] {
    const report: RecoveryNote[] = [];
    if (log.loss && !this.repair) {
      const { msg, path, offset } = log.loss;
      throw new StoreCorruptError(
        `${msg}. Refusing to start: acknowledged records would be lost. Inspect the file, or start with --repair ` +
          `to keep the log up to there (what follows is set aside beside it and reported)`,
        path,
        offset,
      );
    }
    if (log.loss) {
      const { msg, file, offset } = log.loss;
      report.push({
        level: 'error',
        msg: `REPAIR: ${msg}; the log is kept up to ${file} offset ${offset}, what follows is set aside (*.dropped*)`,
        file,
        offset,
      });
    }
    if (log.torn) {
      const seg = log.segments[log.torn.index]!;
      const { offset, bytes, reason } = log.torn;
      report.push({
        level: 'warn',
        msg: `${seg.file}: torn tail (${reason}) at offset ${offset}: ${bytes} byte(s) of an unacknowledged write, cut off and saved to ${seg.file}.torn-${offset}`,
        file: seg.file,
        offset,
        bytes,
      });
    }
    report.push({
      level: 'info',
      msg:
        `recovered ${log.snapshotSeq !== undefined ? `snapshot ${snapshotName(log.snapshotSeq)} + ` : ''}${log.records.length} record(s) from ${log.segments.length} segment(s)` +
        (log.segments.some((s) => s.holds) ? (log.clean ? ' (closed cleanly)' : ' (after a crash)') : ''),
    });
    return report;
  }

  /** What startWriting() needs of the store, and gives back. */
  private writer(): Writer {
    return {
      dir: this.dir,
      segmentSize: this.segmentSize,
      lastN: this.writtenN,
      note: (n) => this.onNote(n),
      start: (seq, fd) => {
        this.seq = seq;
        this.fd = fd;
        this.writeOffset = SEGMENT_HEADER;
        this.fileEnd = this.segmentSize;
        this.prepareNext();
      },
    };
  }

  commit(ops: Op[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new StoreFailedError('store is closed'));
    this.counters.commits++;
    if (ops.length > 0) {
      this.pending.push(encodeTextFrame(encodeRecord({ number: this.nextN++, ops })));
      this.counters.records++;
    } else if (!this.flushing && this.pending.length === 0) {
      return Promise.resolve(); // barrier with nothing in flight: already durable
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Let every request that arrives in this turn of the event loop join the batch.
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  stats(): StoreStats {
    return { ...this.counters, flushSeconds: { counts: [...this.flushCounts], sum: this.flushSum } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.begun) {
      // never started writing: the directory stays as open() found it
      this.closed = true;
      this.found = undefined;
      this.writable.reject(new StoreFailedError('store closed before it started writing'));
      while (this.flushing) await new Promise((r) => setTimeout(r, 1));
      this.releaseLock();
      return;
    }
    await this.begun.catch(() => {});
    // Drain: let in-flight batches finish (their waiters get their answers) before closing.
    while (this.flushing) await new Promise((r) => setTimeout(r, 1));
    await this.compactionDone;
    this.closed = true;
    const next = this.next;
    this.next = undefined;
    if (next) {
      // never written: remove it (were it left, the next open would remove it)
      const fd = await next.ready.catch(() => -1);
      if (fd >= 0) {
        closeSync(fd);
        rmSync(join(this.dir, segmentName(next.seq)), { force: true });
      }
    }
    if (this.fd >= 0) {
      if (!this.failed) {
        // the close marker, then trim the preallocated zeros: a segment shorter than it was
        // created must end in an end marker, or it was cut (log-reader.ts)
        const frame = encodeTextFrame(encodeEnd({ after: this.writtenN, end: 'close' }));
        writeSync(this.fd, frame, 0, frame.length, this.writeOffset);
        ftruncateSync(this.fd, this.writeOffset + frame.length);
        fdatasyncSync(this.fd);
      }
      closeSync(this.fd);
      this.fd = -1;
    }
    this.releaseLock();
  }

  // ---- group commit ----

  private async flushLoop(): Promise<void> {
    try {
      try {
        await this.writable.promise;
      } catch (e) {
        this.fail(e, []);
        return;
      }
      while (this.waiters.length > 0) {
        const frames = this.pending;
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        const lastN = this.nextN - 1; // every pending record is numbered up to here
        let bytes = 0;
        for (const f of frames) bytes += f.length;
        const fits = this.writeOffset + bytes + RESERVE <= this.fileEnd;
        // Not on a batch that switches segments: compaction then needs the segment after that.
        const compact = fits && this.wantsCompaction();
        // Without a compactor the snapshot is taken now, before the write: the live state then
        // equals every record up to `frames` (a pause as long as the state is large).
        const snapshot = compact && !this.compactor ? this.takeSnapshot() : undefined;
        try {
          if (frames.length > 0) {
            const t0 = performance.now();
            if (!fits) await this.makeRoom(bytes);
            await writeAll(this.fd, frames, bytes, this.writeOffset);
            if (!DSYNC) await fdatasyncP(this.fd);
            this.writeOffset += bytes;
            this.writtenN = lastN;
            const secs = (performance.now() - t0) / 1000;
            let b = 0;
            while (b < FLUSH_BUCKETS.length && secs > FLUSH_BUCKETS[b]!) b++;
            this.flushCounts[b]!++;
            this.flushSum += secs;
            this.sinceSnapshot += bytes;
            this.counters.bytes += bytes;
            this.counters.flushes++;
          }
          for (const w of waiters) w.resolve();
          if (snapshot || (compact && this.compactor)) {
            const newSeq = this.next!.seq;
            await this.switchSegment(this.next!.fd);
            this.startCompaction(newSeq, snapshot && { snapshot, n: lastN });
          }
        } catch (e) {
          this.fail(e, waiters);
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private fail(e: unknown, waiters: Waiter[]): void {
    // After a failed write or fsync the kernel's page cache cannot be trusted to hold what
    // we wrote: stop accepting commits for good (the server turns NOT_SERVING and exits).
    this.failed = new StoreFailedError(`log write failed: ${(e as Error).message}`, e);
    for (const w of [...waiters, ...this.waiters]) w.reject(this.failed);
    this.waiters = [];
    this.pending = [];
  }

  private takeSnapshot(): Snapshot | undefined {
    try {
      return this.live.get().snapshot();
    } catch (e) {
      this.onNote({ level: 'error', msg: `compaction: snapshot failed: ${(e as Error).message}` });
      return undefined;
    }
  }

  private wantsCompaction(): boolean {
    if (this.compacting || (this.live.current === undefined && this.compactor === undefined)) return false;
    const nextReady = this.next !== undefined && this.next.fd >= 0; // compaction switches to it at once
    return nextReady && this.sinceSnapshot >= Math.max(this.compactBytes, this.snapshotBytes);
  }

  // ---- segments ----

  /** Starts preparing the segment after the current one (in the background). */
  private prepareNext(): void {
    const next: NextSegment = { seq: this.seq + 1, ready: prepareSegment(this.dir, this.seq + 1, this.segmentSize), fd: -1 };
    next.ready.then(
      (fd) => (next.fd = fd),
      () => {}, // reported when the segment is needed (useNext)
    );
    this.next = next;
  }

  /** Writes go on in the next segment from now on: the current one gets its `next` end
   *  marker (in the room always left for it) and is complete. */
  private async switchSegment(fd: number): Promise<void> {
    const marker = encodeTextFrame(encodeEnd({ after: this.writtenN, end: 'next' }));
    await writeAll(this.fd, [marker], marker.length, this.writeOffset);
    if (!DSYNC) await fdatasyncP(this.fd);
    const old = this.fd;
    this.fd = fd;
    this.seq = this.next!.seq;
    this.writeOffset = SEGMENT_HEADER;
    this.fileEnd = this.segmentSize;
    closeSync(old);
    this.prepareNext();
  }

  /** A batch that does not fit in the current segment goes to the next one, or (larger than a
   *  whole segment, which no normal batch is) into the current one grown in place. */
  private async makeRoom(bytes: number): Promise<void> {
    if (SEGMENT_HEADER + bytes + RESERVE > this.segmentSize) return this.extend(this.writeOffset + bytes + RESERVE);
    const next = this.next!;
    let fd: number;
    try {
      fd = await next.ready;
    } catch (e) {
      // preparing failed (disk full?): one more try, now; if that fails too, the flush fails
      this.onNote({
        level: 'warn',
        msg: `preparing log segment ${segmentName(next.seq)} failed (${(e as Error).message}); creating it now`,
      });
      fd = createSegmentSync(this.dir, next.seq, this.segmentSize);
    }
    await this.switchSegment(fd);
  }

  // ---- compaction ----

  /** Compacts everything below segment `newSeq` (just switched to): from `taken` (the live
   *  state, holding records up to `n`), or, with a compactor, from the log itself. */
  private startCompaction(newSeq: number, taken: { snapshot: Snapshot; n: number } | undefined): void {
    this.compacting = true;
    this.sinceSnapshot = 0;
    const written = taken
      ? encodeSnapshotFrame(newSeq, taken.n, taken.snapshot).then((frame) => writeSnapshotTmp(this.dir, newSeq, frame))
      : this.compactor!({ dir: this.dir, seq: newSeq });
    this.compactionDone = written
      .then(async () => {
        await this.installSnapshot(newSeq);
        await this.deleteCoveredFiles(newSeq);
        this.counters.compactions++;
        this.onNote({ level: 'info', msg: `compacted: ${snapshotName(newSeq)} written, older segments deleted` });
      })
      .catch((e: Error) => {
        // The old segments are still there, so nothing is lost; the next compaction retries.
        this.onNote({ level: 'error', msg: `compaction failed: ${e.message}` });
      })
      .finally(() => {
        this.compacting = false;
      });
  }

  /** Gives a durable `snap-<seq>.snap.tmp` its name: from now on it is the newest snapshot. */
  private async installSnapshot(seq: number): Promise<void> {
    const path = join(this.dir, snapshotName(seq));
    await rename(`${path}.tmp`, path);
    await syncDir(this.dir);
    this.snapshotBytes = (await stat(path)).size;
  }

  private async deleteCoveredFiles(seq: number): Promise<void> {
    for (const name of await readdir(this.dir)) {
      const seg = SEG_RE.exec(name);
      const snap = SNAP_RE.exec(name);
      if ((seg && Number(seg[1]) < seq) || (snap && Number(snap[1]) < seq)) await rm(join(this.dir, name));
    }
    await syncDir(this.dir);
  }

  // ---- files ----

  /** Zero-fills the current segment to `min` bytes (only for a batch larger than a segment). */
  private async extend(min: number): Promise<void> {
    await zeroFill(this.fd, this.fileEnd, min);
    this.fileEnd = min;
  }

  private releaseLock(): void {
    // a LOCK that was there before a start that never wrote stays, as everything else does
    this.lock?.release(this.begun !== undefined || this.lock.created);
    this.lock = undefined;
    this.removeCreatedDir();
  }

  /** A directory open() made and nothing was written to: as it found it, there was none. */
  private removeCreatedDir(): void {
    if (!this.createdDir) return;
    this.createdDir = false;
    try {
      if (readdirSync(this.dir).length === 0) rmdirSync(this.dir);
    } catch {
      // not ours to insist on
    }
  }
}

/** A promise with its resolve and reject at hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((ok, ko) => {
    resolve = ok;
    reject = ko;
  });
  promise.catch(() => {}); // awaited by the flush loop when there is one
  return { promise, resolve, reject };
}
