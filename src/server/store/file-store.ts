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
// Preallocation: segments are extended with zeros ahead of the records (4 MiB at a time) and
// records are written in place, so the file size does not change on most flushes and
// the sync has no metadata to journal (about half the latency of an appending sync, and it
// does not wait for other files' journal commits). A zero tail is therefore the normal end
// of a segment; a graceful close trims it.
//
// Recovery (open): newest snapshot, then every segment after it, frame by frame.
// - A damaged frame at the end of the newest segment with no good frame after it is a torn
//   tail: the write in flight when the process died. It was never acknowledged, so it is
//   cut off; the cut bytes are saved beside the segment and the cut is reported (warn).
// - Damage anywhere else (a good frame follows it, an older segment, a bad snapshot, a gap
//   in segment numbers) would lose acknowledged records if cut: open() refuses with
//   StoreCorruptError, unless `repair` is set, which truncates at the damage and reports
//   every dropped byte range (error level). Nothing is ever dropped silently.
//
// Compaction: when the current segment passes `compactBytes` and the size of the last
// snapshot, the flush loop takes a snapshot of the live state at a batch boundary (it then
// equals everything logged so far), starts a new segment, writes the snapshot in the
// background, and only when the snapshot is durable deletes the segments it covers. Waiting
// for the log to outgrow the snapshot keeps the cost of snapshots proportional to the work
// logged, however large the state (a million allocations make a ~200 MB snapshot), and
// bounds recovery to about two snapshots' worth of reading. The snapshot is serialized in
// chunks between turns of the event loop (see snapshot-writer.ts); only taking it is a pause.
import {
  closeSync,
  existsSync,
  fstatSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  writev,
  close as closeCb,
  constants,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Snapshot } from '../../ipam/types.js';
import { decodeFrames, encodeTextFrame, SNAP_MAGIC, WAL_MAGIC } from './frame.js';
import { encodeSnapshotFrame } from './snapshot-writer.js';
import type { DurableState, Op, RecoveryNote } from './ops.js';
import { FLUSH_BUCKETS, StoreCorruptError, StoreFailedError, type Store, type StoreStats } from './store.js';

const fdatasyncP = promisify(fdatasync);
/** Extra open flag for log segments: writes are durable when they return (0: not available). */
const DSYNC: number = constants.O_DSYNC ?? 0;
const closeP = promisify(closeCb);

export interface FileStoreOptions {
  dir: string;
  /** Start a snapshot when the current segment grows past this (default 64 MiB). */
  compactBytes?: number;
  /** Truncate at mid-log damage instead of refusing to open (reported, never silent). */
  repair?: boolean;
  /** Recovery and compaction notes go here as they happen (besides DurableState.report). */
  onNote?: (note: RecoveryNote) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

const SEG_RE = /^wal-(\d{10})\.log$/;
const SNAP_RE = /^snap-(\d{10})\.snap$/;
const pad = (n: number) => String(n).padStart(10, '0');
export const segmentName = (seq: number) => `wal-${pad(seq)}.log`;
export const snapshotName = (seq: number) => `snap-${pad(seq)}.snap`;

export class FileStore implements Store {
  readonly kind = 'file';
  private readonly dir: string;
  private readonly compactBytes: number;
  private readonly repair: boolean;
  private readonly onNote: (n: RecoveryNote) => void;
  private fd = -1;
  private seq = 0;
  private segmentBytes = 0;
  /** Where the next frame goes in the current segment, and the segment's allocated size. */
  private writeOffset = 0;
  private fileEnd = 0;
  private pending: Buffer[] = [];
  private waiters: Waiter[] = [];
  private flushing = false;
  private compacting = false;
  private failed: StoreFailedError | undefined;
  private closed = false;
  private source: (() => Snapshot) | undefined;
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
    this.repair = opts.repair ?? false;
    this.onNote = opts.onNote ?? (() => {});
  }

  async open(): Promise<DurableState> {
    mkdirSync(this.dir, { recursive: true });
    this.lock();
    try {
      const state = this.recover(true);
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

  setSnapshotSource(source: () => Snapshot): void {
    this.source = source;
  }

  commit(ops: Op[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new StoreFailedError('store is closed'));
    this.counters.commits++;
    if (ops.length > 0) {
      this.pending.push(encodeTextFrame(JSON.stringify(ops)));
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
        // Taken before the write: the live state now equals every record up to `frames`.
        const snapshot = this.wantsCompaction() ? this.takeSnapshot() : undefined;
        try {
          if (frames.length > 0) {
            let bytes = 0;
            for (const f of frames) bytes += f.length;
            const t0 = performance.now();
            if (this.writeOffset + bytes > this.fileEnd) await this.extend(this.writeOffset + bytes);
            await writeAll(this.fd, frames, bytes, this.writeOffset);
            if (!DSYNC) await fdatasyncP(this.fd);
            this.writeOffset += bytes;
            const secs = (performance.now() - t0) / 1000;
            let b = 0;
            while (b < FLUSH_BUCKETS.length && secs > FLUSH_BUCKETS[b]!) b++;
            this.flushCounts[b]!++;
            this.flushSum += secs;
            this.segmentBytes += bytes;
            this.counters.bytes += bytes;
            this.counters.flushes++;
          }
        } catch (e) {
          this.fail(e, waiters);
          return;
        }
        for (const w of waiters) w.resolve();
        if (snapshot) this.startCompaction(snapshot);
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
      return this.source!();
    } catch (e) {
      this.onNote({ level: 'error', msg: `compaction: snapshot failed: ${(e as Error).message}` });
      return undefined;
    }
  }

  private wantsCompaction(): boolean {
    return !this.compacting && this.source !== undefined && this.segmentBytes >= Math.max(this.compactBytes, this.snapshotBytes);
  }

  // ---- compaction ----

  private startCompaction(snapshot: Snapshot): void {
    this.compacting = true;
    const newSeq = this.seq + 1;
    try {
      // Switch segments now (a few ms, inside the flush loop: nothing else writes).
      const fd = this.createSegment(newSeq);
      const oldFd = this.fd;
      ftruncateSync(oldFd, this.writeOffset); // trim its zeros: it is complete
      fdatasyncSync(oldFd);
      this.fd = fd;
      this.seq = newSeq;
      this.segmentBytes = 0;
      this.writeOffset = WAL_MAGIC.length;
      this.fileEnd = WAL_MAGIC.length;
      closeSync(oldFd);
    } catch (e) {
      this.compacting = false;
      this.onNote({ level: 'error', msg: `compaction: cannot start segment ${newSeq}: ${(e as Error).message}` });
      return;
    }
    this.compactionDone = this.writeSnapshot(snapshot, newSeq)
      .then(() => {
        this.deleteCoveredFiles(newSeq);
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

  private async writeSnapshot(snapshot: Snapshot, seq: number): Promise<void> {
    const frame = await encodeSnapshotFrame(seq, snapshot);
    const tmp = join(this.dir, `${snapshotName(seq)}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      await writeAll(fd, [SNAP_MAGIC, ...frame.buffers], SNAP_MAGIC.length + frame.bytes);
      await fdatasyncP(fd);
    } finally {
      await closeP(fd);
    }
    this.snapshotBytes = frame.bytes;
    renameSync(tmp, join(this.dir, snapshotName(seq)));
    this.syncDir();
  }

  private deleteCoveredFiles(seq: number): void {
    for (const name of readdirSync(this.dir)) {
      const seg = SEG_RE.exec(name);
      const snap = SNAP_RE.exec(name);
      if ((seg && Number(seg[1]) < seq) || (snap && Number(snap[1]) < seq)) rmSync(join(this.dir, name));
    }
    this.syncDir();
  }

  // ---- files ----

  /** Zero-fills the segment to at least `min` bytes (and a chunk ahead). */
  private async extend(min: number): Promise<void> {
    const end = Math.max(min, this.fileEnd + PREALLOC);
    // one writev, so one sync of the data and the new size (the segment is O_DSYNC)
    const zeros: Buffer[] = [];
    for (let at = this.fileEnd; at < end; at += ZEROS.length) zeros.push(ZEROS.subarray(0, Math.min(ZEROS.length, end - at)));
    await writeAll(this.fd, zeros, end - this.fileEnd, this.fileEnd);
    this.fileEnd = end;
  }

  private createSegment(seq: number): number {
    const fd = openSync(join(this.dir, segmentName(seq)), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | DSYNC);
    writeSync(fd, WAL_MAGIC);
    fdatasyncSync(fd);
    this.syncDir();
    return fd;
  }

  private syncDir(): void {
    const fd = openSync(this.dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
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
  private recover(forWrite: boolean): DurableState {
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
    }
    const snaps = names.flatMap((n) => (SNAP_RE.test(n) ? [Number(SNAP_RE.exec(n)![1])] : [])).sort((a, b) => b - a);
    let segs = names.flatMap((n) => (SEG_RE.test(n) ? [Number(SEG_RE.exec(n)![1])] : [])).sort((a, b) => a - b);

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
      for (const p of dec.payloads) {
        try {
          records.push(JSON.parse(p.toString('utf8')) as Op[]);
        } catch (e) {
          throw new StoreCorruptError(`${file}: record with a valid CRC is not JSON: ${(e as Error).message}`, path, 0);
        }
      }
      if (dec.damage) {
        const { offset, reason, laterFrames } = dec.damage;
        const bytes = lastNonZero(buf, offset) - offset; // what was written there (zeros follow)
        const torn = last && laterFrames === 0;
        if (!torn && !this.repair) {
          throw new StoreCorruptError(
            `${file}: damaged record at offset ${offset} (${reason}); ` +
              (last ? `${laterFrames} good record(s) follow it` : 'not the newest segment') +
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
        this.fd = this.createSegment(from);
        this.segmentBytes = 0;
        this.writeOffset = this.fileEnd = WAL_MAGIC.length;
      } else {
        this.seq = segs[segs.length - 1]!;
        const path = join(this.dir, segmentName(this.seq));
        this.fd = openSync(path, constants.O_RDWR | DSYNC);
        this.writeOffset = lastEnd;
        this.fileEnd = fstatSync(this.fd).size;
        this.segmentBytes = lastEnd - WAL_MAGIC.length;
      }
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

/** One writev for the whole batch at `position`; a short write (rare) is finished synchronously. */
function writeAll(fd: number, bufs: Buffer[], total: number, position: number | null = null): Promise<void> {
  return new Promise((resolve, reject) => {
    writev(fd, bufs, position, (err, written) => {
      if (err) return reject(err);
      try {
        if (written < total) {
          const all = Buffer.concat(bufs);
          while (written < total) written += writeSync(fd, all, written, total - written, position === null ? null : position + written);
        }
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

const PREALLOC = 4 * 1024 * 1024;
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
