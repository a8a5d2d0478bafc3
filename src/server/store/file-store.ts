// The embedded durable store: an append-only log of records in numbered segments, with
// group commit, plus snapshots that let old segments be deleted (compaction).
//
// Directory layout:
//   LOCK                     pid of the server using the directory
//   wal-<seq>.log            log segment <seq>: WAL_MAGIC + frames (see frame.ts)
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
// callback, which made the two-step flush several times slower than the disk itself.
// Without O_DSYNC (Windows) the flush falls back to writev + fdatasync.
//
// Preallocation: a segment is created at its full size (`segmentSize`, 4 MiB), zero-filled
// and synced, and records are written in place over the zeros, so a flush never changes the
// file's size and its sync has no metadata to journal (about half the latency of an appending
// sync, and it does not wait for other files' journal commits). The next segment is prepared
// in the background while the current one fills, so switching is a swap of descriptors; see
// segment-file.ts for why it is not extended in place. A zero tail is therefore the normal end
// of a segment; a graceful close trims the current one and removes the unused next one.
//
// Recovery (open): newest snapshot, then every segment after it, frame by frame. The store
// goes on writing in the newest segment (a prepared one that was never written is empty).
// - A damaged frame at the end of the last segment holding records, with no good frame after
//   it, is a torn tail: the write in flight when the process died. It was never acknowledged,
//   so it is cut off; the cut bytes are saved beside the segment and the cut is reported (warn).
// - Damage anywhere else (a good frame follows it, an older segment, a bad snapshot, a gap
//   in segment numbers) would lose acknowledged records if cut: open() refuses with
//   StoreCorruptError, unless `repair` is set, which truncates at the damage and reports
//   every dropped byte range (error level). Nothing is ever dropped silently.
//
// Compaction: when the log since the last snapshot passes `compactBytes` and that snapshot's
// size, the flush loop switches to the next segment at a batch boundary; the snapshot of
// everything below it is then built and written in the background, and only when it is
// durable are the segments it covers deleted. With a `compactor` (the server's) the snapshot
// is rebuilt from the log in a child process and the live state is not touched; without one
// it is taken from the live state at that boundary, a pause as long as the state is large
// (serializing it is chunked, see snapshot-writer.ts). Waiting for the log to outgrow the
// snapshot keeps the cost of snapshots proportional to the work logged, however large the
// state (a million allocations make a ~200 MB snapshot), and bounds recovery to about two
// snapshots' worth of reading.
import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Snapshot } from '../../ipam/types.js';
import { decodeFrames, encodeTextFrame, SNAP_MAGIC, WAL_MAGIC } from './frame.js';
import { createSegmentSync, DSYNC, prepareSegment, segmentName, syncDir, zeroFill, zeroFillSync } from './segment-file.js';
import type { Compactor } from './compactor.js';
import { LiveIpam } from '../live.js';
import { encodeSnapshotFrame, snapshotName, writeSnapshotTmp } from './snapshot-writer.js';
import { decodeRecord, encodeRecord } from './record.js';
import { writeAll } from './write-all.js';
import type { DurableState, Op, RecoveryNote } from './ops.js';
import { FLUSH_BUCKETS, StoreCorruptError, StoreFailedError, type Store, type StoreStats } from './store.js';

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

const SEG_RE = /^wal-(\d{10})\.log$/;
const SNAP_RE = /^snap-(\d{10})\.snap$/;
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
  private locked = false;
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

  async open(): Promise<DurableState> {
    mkdirSync(this.dir, { recursive: true });
    this.lock();
    try {
      const state = this.recover(true);
      this.prepareNext();
      return state;
    } catch (e) {
      this.unlock();
      throw e;
    }
  }

  async load(): Promise<DurableState> {
    if (this.fd < 0) throw new StoreFailedError('store is not open');
    // Everything acknowledged is on disk; wait for what is in flight, then read it back.
    await this.commit([]).catch(() => {});
    return this.recover(false);
  }

  /** What the snapshots and segments below segment `seq` hold (for a compactor; no lock, reads only). */
  readBelow(seq: number): DurableState {
    return this.recover(false, seq);
  }

  commit(ops: Op[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new StoreFailedError('store is closed'));
    this.counters.commits++;
    if (ops.length > 0) {
      this.pending.push(encodeTextFrame(encodeRecord(ops)));
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
    // Drain: let in-flight batches finish (their waiters get their answers) before closing.
    while (this.flushing) await new Promise((r) => setTimeout(r, 1));
    await this.compactionDone;
    this.closed = true;
    const next = this.next;
    this.next = undefined;
    if (next) {
      // never written: remove it (were it left, the next open would simply write there)
      const fd = await next.ready.catch(() => -1);
      if (fd >= 0) {
        closeSync(fd);
        rmSync(join(this.dir, segmentName(next.seq)), { force: true });
      }
    }
    if (this.fd >= 0) {
      if (!this.failed) {
        ftruncateSync(this.fd, this.writeOffset); // trim the preallocated zeros
        fdatasyncSync(this.fd);
      }
      closeSync(this.fd);
      this.fd = -1;
    }
    this.unlock();
  }

  // ---- group commit ----

  private async flushLoop(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const frames = this.pending;
        const waiters = this.waiters;
        this.pending = [];
        this.waiters = [];
        let bytes = 0;
        for (const f of frames) bytes += f.length;
        const fits = this.writeOffset + bytes <= this.fileEnd;
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
            const secs = (performance.now() - t0) / 1000;
            let b = 0;
            while (b < FLUSH_BUCKETS.length && secs > FLUSH_BUCKETS[b]!) b++;
            this.flushCounts[b]!++;
            this.flushSum += secs;
            this.sinceSnapshot += bytes;
            this.counters.bytes += bytes;
            this.counters.flushes++;
          }
        } catch (e) {
          this.fail(e, waiters);
          return;
        }
        for (const w of waiters) w.resolve();
        if (snapshot || (compact && this.compactor)) this.startCompaction(snapshot);
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

  /** Writes go on in the next segment from now on; the current one is complete. */
  private useNext(fd: number): void {
    const old = this.fd;
    this.fd = fd;
    this.seq = this.next!.seq;
    this.writeOffset = WAL_MAGIC.length;
    this.fileEnd = Math.max(this.segmentSize, WAL_MAGIC.length);
    // Its records are synced (O_DSYNC); the zeros after them stay, a segment's normal end.
    closeSync(old);
    this.prepareNext();
  }

  /** A batch that does not fit in the current segment goes to the next one, or (larger than a
   *  whole segment, which no normal batch is) into the current one grown in place. */
  private async makeRoom(bytes: number): Promise<void> {
    if (WAL_MAGIC.length + bytes > this.segmentSize) return this.extend(this.writeOffset + bytes);
    const next = this.next!;
    let fd: number;
    try {
      fd = await next.ready;
    } catch (e) {
      // preparing failed (disk full?): one more try, now; if that fails too, the flush fails
      this.onNote({ level: 'warn', msg: `preparing log segment ${segmentName(next.seq)} failed (${(e as Error).message}); creating it now` });
      fd = createSegmentSync(this.dir, next.seq, this.segmentSize);
    }
    this.useNext(fd);
  }

  // ---- compaction ----

  /** Compacts up to the next segment: from `snapshot` (taken from the live state), or, when
   *  there is a compactor, from the log itself (the live state is not touched). */
  private startCompaction(snapshot: Snapshot | undefined): void {
    this.compacting = true;
    const newSeq = this.next!.seq;
    // Switch segments now, inside the flush loop (nothing else writes); the next one is ready.
    this.useNext(this.next!.fd);
    this.sinceSnapshot = 0;
    const written = snapshot
      ? encodeSnapshotFrame(newSeq, snapshot).then((frame) => writeSnapshotTmp(this.dir, newSeq, frame))
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


  private lock(): void {
    const path = join(this.dir, 'LOCK');
    if (existsSync(path)) {
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (pid && pid !== process.pid && alive(pid)) {
        throw new StoreFailedError(`data directory ${this.dir} is in use by process ${pid} (LOCK)`);
      }
    }
    writeFileSync(path, `${process.pid}\n`);
    this.locked = true;
  }

  private unlock(): void {
    if (!this.locked) return;
    this.locked = false;
    rmSync(join(this.dir, 'LOCK'), { force: true });
  }

  /**
   * Reads snapshot + segments. With `forWrite`, repairs what it may (torn tail), opens the
   * newest segment for appending and deletes leftovers; without, only reads.
   */
  private recover(forWrite: boolean, below = Infinity): DurableState {
    const report: RecoveryNote[] = [];
    const note = (n: RecoveryNote) => {
      report.push(n);
      if (forWrite) this.onNote(n);
    };
    const names = readdirSync(this.dir);
    if (forWrite) {
      for (const name of names.filter((n) => n.endsWith('.snap.tmp'))) {
        rmSync(join(this.dir, name));
        note({ level: 'info', msg: 'removed an unfinished snapshot (crash during compaction)', file: name });
      }
      for (const name of names.filter((n) => n.endsWith('.log.tmp'))) rmSync(join(this.dir, name)); // a segment being prepared: holds nothing
    }
    const seqs = (re: RegExp) => names.flatMap((n) => (re.test(n) ? [Number(re.exec(n)![1])] : [])).filter((s) => s < below);
    const snaps = seqs(SNAP_RE).sort((a, b) => b - a);
    let segs = seqs(SEG_RE).sort((a, b) => a - b);

    let snapshot: Snapshot | undefined;
    let from = 1;
    if (snaps.length > 0) {
      const seq = snaps[0]!;
      const file = snapshotName(seq);
      snapshot = readSnapshot(join(this.dir, file), seq);
      this.snapshotBytes = statSync(join(this.dir, file)).size;
      from = seq;
      const covered = segs.filter((s) => s < seq);
      if (covered.length > 0 && forWrite) {
        for (const s of covered) rmSync(join(this.dir, segmentName(s)));
        note({ level: 'info', msg: `removed ${covered.length} segment(s) already covered by ${file}` });
      }
      segs = segs.filter((s) => s >= seq);
    }
    for (let i = 0; i < segs.length; i++) {
      const want = i === 0 ? from : segs[i - 1]! + 1;
      if (segs[i] !== want) {
        throw new StoreCorruptError(
          `log segment ${segmentName(want)} is missing (found ${segmentName(segs[i]!)}); refusing to start`,
          join(this.dir, segmentName(want)),
          0,
        );
      }
    }

    const records: Op[][] = [];
    let lastEnd = WAL_MAGIC.length;
    let logged = 0;
    // The last segment with records: the ones after it were prepared and never written.
    let tail = -1;
    segs.forEach((s, i) => holdsFrames(join(this.dir, segmentName(s))) && (tail = i));
    for (let i = 0; i < segs.length; i++) {
      const seq = segs[i]!;
      const last = i === segs.length - 1;
      const file = segmentName(seq);
      const path = join(this.dir, file);
      const buf = readFileSync(path);
      if (buf.length < WAL_MAGIC.length) {
        if (!last) throw new StoreCorruptError(`${file}: shorter than its header`, path, 0);
        note({ level: 'warn', msg: `${file}: incomplete header (${buf.length} bytes), rewritten`, file, offset: 0 });
        if (forWrite) writeFileSync(path, WAL_MAGIC);
        lastEnd = WAL_MAGIC.length;
        continue;
      }
      if (!buf.subarray(0, WAL_MAGIC.length).equals(WAL_MAGIC)) {
        throw new StoreCorruptError(`${file}: not an ipam-injector log segment (bad magic)`, path, 0);
      }
      const dec = decodeFrames(buf, WAL_MAGIC.length);
      // Zeros after the last record are the preallocated end of the segment, not damage.
      if (dec.damage && zeroFrom(buf, dec.damage.offset)) delete dec.damage;
      if (last) lastEnd = dec.end;
      logged += dec.end - WAL_MAGIC.length;
      for (const p of dec.payloads) {
        try {
          records.push(decodeRecord(p.toString('utf8')));
        } catch (e) {
          throw new StoreCorruptError(`${file}: record with a valid CRC is not a record: ${(e as Error).message}`, path, 0);
        }
      }
      if (dec.damage) {
        const { offset, reason, laterFrames } = dec.damage;
        const bytes = lastNonZero(buf, offset) - offset; // what was written there (zeros follow)
        const torn = i >= tail && laterFrames === 0;
        if (!torn && !this.repair) {
          throw new StoreCorruptError(
            `${file}: damaged record at offset ${offset} (${reason}); ` +
              (i >= tail ? `${laterFrames} good record(s) follow it` : 'records follow in a later segment') +
              `, so truncating would lose acknowledged allocations. Refusing to start; ` +
              `inspect the file, or start with --repair to truncate at offset ${offset} (reported)`,
            path,
            offset,
          );
        }
        if (forWrite) {
          const saved = `${file}.torn-${offset}`;
          writeFileSync(join(this.dir, saved), buf.subarray(offset, offset + bytes));
          const fd = openSync(path, 'r+');
          ftruncateSync(fd, offset);
          fdatasyncSync(fd);
          closeSync(fd);
          note({
            level: torn ? 'warn' : 'error',
            msg: torn
              ? `${file}: torn tail (${reason}) at offset ${offset}: ${bytes} byte(s) of an unacknowledged write cut off, saved to ${saved}`
              : `${file}: REPAIR dropped ${bytes} byte(s) from offset ${offset} (${reason}) including ${laterFrames} good-looking record(s), saved to ${saved}`,
            file,
            offset,
            bytes,
          });
        }
      }
    }

    if (forWrite) {
      if (segs.length === 0) {
        this.seq = from;
        this.fd = createSegmentSync(this.dir, from, this.segmentSize);
        this.writeOffset = WAL_MAGIC.length;
        this.fileEnd = Math.max(this.segmentSize, WAL_MAGIC.length);
      } else {
        // go on in the newest segment, grown back to full size (a graceful close trimmed it)
        this.seq = segs[segs.length - 1]!;
        const path = join(this.dir, segmentName(this.seq));
        this.fd = openSync(path, constants.O_RDWR | DSYNC);
        this.writeOffset = lastEnd;
        this.fileEnd = fstatSync(this.fd).size;
        if (this.fileEnd < this.segmentSize) {
          zeroFillSync(this.fd, this.fileEnd, this.segmentSize);
          this.fileEnd = this.segmentSize;
        }
      }
      this.sinceSnapshot = logged;
      note({
        level: 'info',
        msg: `recovered ${snapshot ? `snapshot ${snapshotName(from)} + ` : ''}${records.length} record(s) from ${segs.length} segment(s)`,
      });
    }
    return { ...(snapshot ? { snapshot } : {}), records, report };
  }
}

function readSnapshot(path: string, seq: number): Snapshot {
  const buf = readFileSync(path);
  if (!buf.subarray(0, SNAP_MAGIC.length).equals(SNAP_MAGIC)) {
    throw new StoreCorruptError(`${path}: not an ipam-injector snapshot (bad magic)`, path, 0);
  }
  const dec = decodeFrames(buf, SNAP_MAGIC.length);
  if (dec.damage || dec.payloads.length !== 1) {
    throw new StoreCorruptError(
      `${path}: snapshot damaged (${dec.damage?.reason ?? 'wrong record count'}); the log it covers is gone, refusing to start`,
      path,
      dec.damage?.offset ?? 0,
    );
  }
  const body = JSON.parse(dec.payloads[0]!.toString('utf8')) as { seq: number; snapshot: Snapshot };
  if (body.seq !== seq) throw new StoreCorruptError(`${path}: names segment ${body.seq}, expected ${seq}`, path, 0);
  return body.snapshot;
}

/** Whether a segment file has anything after its header (a frame, or damage). */
function holdsFrames(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(8);
    const n = readSync(fd, b, 0, 8, WAL_MAGIC.length);
    return b.subarray(0, n).some((x) => x !== 0);
  } finally {
    closeSync(fd);
  }
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** Whether every byte of buf from `from` on is zero. */
function zeroFrom(buf: Buffer, from: number): boolean {
  for (let off = from; off < buf.length; off += ZEROS.length) {
    const end = Math.min(buf.length, off + ZEROS.length);
    if (buf.compare(ZEROS, 0, end - off, off, end) !== 0) return false;
  }
  return true;
}

/** One past the last non-zero byte at or after `from` (`from` when there is none). */
function lastNonZero(buf: Buffer, from: number): number {
  let i = buf.length;
  while (i > from && buf[i - 1] === 0) i--;
  return i;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
