// Reads a file store's directory and says what it holds, changing nothing: the newest
// snapshot, then every record of the segments after it, checked for anything lost. Used by
// the store's open (file-store.ts), which refuses what this reports as a loss unless it
// repairs it (log-repair.ts), and by the compactor, which reads the segments below the one
// being written.
//
// How a loss of acknowledged records shows (the format is in record.ts and segment-file.ts):
// - Records are numbered 1, 2, 3... across segments and snapshots (a snapshot names the last
//   record it holds). A number that does not follow its predecessor is a gap.
// - A segment is only ever left behind with an end marker as its last frame: `next` when the
//   writer moves on to the following segment (created before the marker is written), `close`
//   at a graceful close, which also trims the segment to its data. So:
//   - a segment that is not the newest and ends without an end marker lost its tail;
//   - a segment ending in `next` whose successor is missing lost the successor;
//   - the newest segment ends either in an end marker (a clean stop) or, after a crash, with
//     records followed by the zeros it was created with, at its full size: ending in records
//     at the very end of the file, or shorter than its header says it was created, is a cut.
//   - a damaged frame is a torn tail (the write in flight at a crash, never acknowledged)
//     only at the end of the newest segment, with nothing good after it, in a segment still
//     at its full size (a crash) or right after an end marker (an interrupted seal).
// - A snapshot continues in the segment of its own number, which must be there.
// What stays undetectable: after a crash, the newest records of the newest segment removed
// while keeping the file's size (zeroed from a frame boundary). Nothing after them says they
// were ever written: that is the shape of every crash, and one copy of a log cannot tell.
//
// Older formats: version-1 segments (magic IPAMWAL1, records v1/v2 without numbers) are read
// with the checks of the version that wrote them (torn tail, damage, missing segment files);
// the first start after an upgrade seals the newest of them with an end marker and writes on
// in a new version-2 segment, so from then on every check above applies.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '../../ipam/types.js';
import { decodeFrames, SNAP_MAGIC, type Decoded } from './frame.js';
import type { Op } from './ops.js';
import { decodeEntry, type Entry } from './record.js';
import { readSegmentHeader, SEGMENT_HEADER, segmentName } from './segment-file.js';
import { snapshotName } from './snapshot-writer.js';
import { StoreCorruptError } from './store.js';

export const SEG_RE = /^wal-(\d{10})\.log$/;
export const SNAP_RE = /^snap-(\d{10})\.snap$/;

/** One segment as read. */
export interface SegmentRead {
  seq: number;
  file: string;
  path: string;
  /** Its bytes (the writer's seal and repair work from them). */
  buf: Buffer;
  /** Where frames start (after the header). */
  start: number;
  /** Offset just past the last good frame. */
  end: number;
  /** Size it was created at (version-2 segments). */
  declared?: number;
  legacy: boolean;
  /** The last good frame: records, an end marker, or nothing. */
  last: 'ops' | 'next' | 'close' | 'none';
  /** Anything after the header that is not zero. */
  holds: boolean;
}

/** Where acknowledged records may be gone. The log is whole before it: up to `cut` (a
 *  segment read, cut at an offset) and in no segment numbered `dropFrom` or later. */
export interface Loss {
  file: string;
  path: string;
  offset: number;
  msg: string;
  cut?: { index: number; offset: number };
  dropFrom: number;
}

export interface LogState {
  snapshot?: Snapshot;
  /** Number of the snapshot file (the first segment after it). */
  snapshotSeq?: number;
  snapshotBytes: number;
  records: Op[][];
  /** The segments read, oldest first (up to and including the one holding a loss). */
  segments: SegmentRead[];
  /** Number of the last record read (0: none; undefined: unknown, an older format). */
  lastN: number | undefined;
  /** Bytes of frames after the snapshot. */
  logged: number;
  /** A damaged frame at the very end, never acknowledged: cut it before writing on. */
  torn?: { index: number; offset: number; bytes: number; reason: string };
  /** The first loss; records after it are not in `records`. */
  loss?: Loss;
  /** The newest segment holding anything ends with a graceful close. */
  clean: boolean;
  /** Files left by an interrupted segment preparation or compaction (hold nothing). */
  leftovers: string[];
  /** Segments an older snapshot covers (a crash between a compaction and its clean-up). */
  covered: string[];
}

/** A log being read: its directory and what has been read so far. */
interface Scan {
  dir: string;
  out: LogState;
}

/** Where a segment stands among those read: its index, the index of the last one holding
 *  anything (`tail`), and whether it is the last segment of the whole log. */
interface Position {
  index: number;
  tail: number;
  isLast: boolean;
}

/** Reads the log of `dir`; `below`: only the snapshot and segments numbered below it (compactor). */
export function readLog(dir: string, below = Infinity): LogState {
  const names = readdirSync(dir);
  const snaps = numbered(names, SNAP_RE, below).sort((a, b) => b - a);
  let segs = numbered(names, SEG_RE, below).sort((a, b) => a - b);
  const out: LogState = {
    snapshotBytes: 0,
    records: [],
    segments: [],
    lastN: 0,
    logged: 0,
    clean: false,
    leftovers: names.filter((n) => n.endsWith('.snap.tmp') || n.endsWith('.log.tmp')),
    covered: [],
  };
  const scan: Scan = { dir, out };
  let from = 1;
  if (snaps.length > 0) {
    from = snaps[0]!;
    readNewestSnapshot(scan, from);
    out.covered = segs.filter((s) => s < from).map(segmentName);
    segs = segs.filter((s) => s >= from);
  }
  const tail = lastHolding(dir, segs);
  for (let i = 0; i < segs.length; i++) {
    const want = i === 0 ? from : segs[i - 1]! + 1;
    if (segs[i] !== want) {
      return lossFrom(scan, want, `log segment ${segmentName(want)} is missing (the next one there is ${segmentName(segs[i]!)})`);
    }
    const r = readSegment(scan, segs[i]!, { index: i, tail, isLast: i === segs.length - 1 && below === Infinity });
    if (r) return r;
  }
  if (segs.length === 0 && out.snapshotSeq !== undefined && below === Infinity) {
    return lossFrom(scan, from, `log segment ${segmentName(from)}, where ${snapshotName(from)} continues, is missing`);
  }
  const newest = out.segments[tail];
  out.clean = newest?.last === 'close';
  return out;
}

/** The numbers of the files named like `re`, below `below`. */
function numbered(names: string[], re: RegExp, below: number): number[] {
  return names
    .flatMap((n) => {
      const m = re.exec(n);
      return m ? [Number(m[1])] : [];
    })
    .filter((s) => s < below);
}

/** Reads snapshot `seq`, where the log starts. */
function readNewestSnapshot(scan: Scan, seq: number): void {
  const path = join(scan.dir, snapshotName(seq));
  const snap = readSnapshot(path, seq);
  scan.out.snapshot = snap.snapshot;
  scan.out.snapshotSeq = seq;
  scan.out.snapshotBytes = statSync(path).size;
  scan.out.lastN = snap.lastRecord;
}

/** A loss inside segment `index` of those read, at `offset`: it is cut there on repair. */
function lossIn(scan: Scan, index: number, offset: number, msg: string): LogState {
  const seg = scan.out.segments[index]!;
  scan.out.loss = { file: seg.file, path: seg.path, offset, msg, cut: { index, offset }, dropFrom: seg.seq + 1 };
  return scan.out;
}

/** A loss of whole segments from number `seq` on. */
function lossFrom(scan: Scan, seq: number, msg: string): LogState {
  scan.out.loss = { file: segmentName(seq), path: join(scan.dir, segmentName(seq)), offset: 0, msg, dropFrom: seq };
  return scan.out;
}

/** Reads segment `seq` into the scan; returns the state when it found a loss (reading stops there). */
function readSegment(scan: Scan, seq: number, at: Position): LogState | undefined {
  const file = segmentName(seq);
  const path = join(scan.dir, file);
  const buf = readFileSync(path);
  const header = readSegmentHeader(buf);
  if ('problem' in header) return lossFrom(scan, seq, `${file}: ${header.problem}`);
  const seg: SegmentRead = {
    seq,
    file,
    path,
    buf,
    start: header.start,
    end: header.start,
    ...(header.declared !== undefined ? { declared: header.declared } : {}),
    legacy: header.legacy,
    last: 'none',
    holds: false,
  };
  scan.out.segments.push(seg);
  const dec = decodeFrames(buf, seg.start);
  // Zeros after the last frame are the preallocated end of the segment, not damage.
  if (dec.damage && zeroFrom(buf, dec.damage.offset)) delete dec.damage;
  seg.holds = dec.payloads.length > 0 || dec.damage !== undefined;
  const bad = readEntries(scan, seg, dec.payloads, at.index);
  if (bad) return bad;
  seg.end = dec.end;
  scan.out.logged += dec.end - seg.start;
  if (dec.damage) return judgeDamage(scan, seg, dec.damage, at);
  return judgeEnd(scan, seg, at);
}

/** Adds the records of a segment's good frames; a loss when one is not a record or does not follow. */
function readEntries(scan: Scan, seg: SegmentRead, payloads: Buffer[], index: number): LogState | undefined {
  const { out } = scan;
  let off = seg.start;
  for (const p of payloads) {
    let e: Entry;
    try {
      e = decodeEntry(p.toString('utf8'));
    } catch (err) {
      return lossIn(
        scan,
        index,
        off,
        `${seg.file}: the frame at offset ${off} has a valid CRC but is not a record (${(err as Error).message})`,
      );
    }
    const problem = follows(e, seg, out.lastN);
    if (problem) return lossIn(scan, index, off, `${seg.file}: ${problem} (frame at offset ${off})`);
    if (e.kind === 'ops') {
      out.records.push(e.ops);
      out.lastN = e.number;
      seg.last = 'ops';
    } else {
      out.lastN = e.after;
      seg.last = e.end;
    }
    off += 8 + p.length;
  }
  return undefined;
}

/** Whether the segment is shorter than it was created (only a graceful close trims one). */
const trimmed = (seg: SegmentRead): boolean => seg.declared !== undefined && seg.buf.length < seg.declared;

/**
 * A damaged frame: a torn tail (the write in flight at a crash, or at an interrupted seal)
 * when it ends the newest segment with nothing good after it; a loss otherwise.
 */
function judgeDamage(scan: Scan, seg: SegmentRead, damage: NonNullable<Decoded['damage']>, at: Position): LogState | undefined {
  const { offset, reason, laterFrames } = damage;
  const { buf, file } = seg;
  const isTail = at.index === at.tail;
  const bytes = lastNonZero(buf, offset) - offset;
  const sealing = seg.last === 'next' || seg.last === 'close';
  const crashed = seg.legacy || (!trimmed(seg) && bytes < buf.length - offset) || sealing;
  if (isTail && laterFrames === 0 && crashed) {
    scan.out.torn = { index: at.index, offset, bytes, reason };
    return undefined;
  }
  return lossIn(
    scan,
    at.index,
    offset,
    `${file}: damaged record at offset ${offset} (${reason}); ` +
      (laterFrames > 0
        ? `${laterFrames} good record(s) follow it`
        : !isTail
          ? 'records follow in a later segment'
          : 'the segment was closed after it, so it is not a write cut short by a crash'),
  );
}

/** How an undamaged segment ends: a loss when its end shows records are gone. */
function judgeEnd(scan: Scan, seg: SegmentRead, at: Position): LogState | undefined {
  if (seg.last === 'next' && at.isLast) {
    return lossFrom(
      scan,
      seg.seq + 1,
      `${seg.file} ends by naming ${segmentName(seg.seq + 1)} as the next segment, which is missing: the records written there are lost`,
    );
  }
  if (seg.legacy) return undefined; // written by an older version: its own checks only
  if (seg.last === 'none') return judgeEmpty(scan, seg, at);
  if (seg.last === 'ops') return judgeUnsealed(scan, seg, at);
  return undefined;
}

/** A segment without a frame: prepared and never written, unless it was cut or later ones hold records. */
function judgeEmpty(scan: Scan, seg: SegmentRead, at: Position): LogState | undefined {
  const { buf, file } = seg;
  if (trimmed(seg) || buf.length === seg.start)
    return lossIn(
      scan,
      at.index,
      seg.start,
      `${file}: cut to ${buf.length} bytes, it was created with ${seg.declared}; the records it held are lost`,
    );
  if (at.index < at.tail)
    return lossIn(scan, at.index, seg.start, `${file}: holds no records but later segments do; the records it held are lost`);
  return undefined;
}

/** A segment ending in records, without an end marker: only the newest, after a crash, with its zeros. */
function judgeUnsealed(scan: Scan, seg: SegmentRead, at: Position): LogState | undefined {
  const { buf, file } = seg;
  if (at.index !== at.tail)
    return lossIn(
      scan,
      at.index,
      seg.end,
      `${file}: ends at offset ${seg.end} without its end marker while later segments hold records: its last records are lost`,
    );
  if (trimmed(seg) || seg.end === buf.length) {
    return lossIn(
      scan,
      at.index,
      seg.end,
      `${file}: ends at offset ${seg.end} right after a record, ${buf.length} of the ${seg.declared} bytes it was created with: it was cut and the records after it are lost`,
    );
  }
  return undefined; // a crash: records, then the zeros the segment was created with
}

/** Whether entry `e` may follow record number `lastN` in segment `seg`; the problem otherwise. */
function follows(e: Entry, seg: SegmentRead, lastN: number | undefined): string | undefined {
  if (seg.last === 'next' || (seg.last === 'close' && !(e.kind === 'end' && e.end === 'next'))) {
    return `a frame after the segment's end marker`;
  }
  if (e.kind === 'ops' && e.number === undefined) {
    return seg.legacy ? undefined : 'a record without a number in a version-2 segment';
  }
  if (seg.legacy && e.kind === 'ops') return 'a numbered record in a version-1 segment';
  if (lastN === undefined) return undefined; // after records of an older format: nothing to compare
  const n = e.kind === 'end' ? e.after : e.number!;
  if (e.kind === 'end') return n === lastN ? undefined : `end marker after record ${n}, but the last record read is ${lastN}`;
  if (n === lastN + 1) return undefined;
  return n > lastN + 1
    ? `record ${n} follows record ${lastN}: records ${lastN + 1}..${n - 1} are missing`
    : `record ${n} follows record ${lastN}: out of order`;
}

/** Index of the last segment with anything after its header (-1: none). A frame's length is
 *  never zero, so the first bytes after the header tell (as do damage and a bad header). */
function lastHolding(dir: string, segs: number[]): number {
  let tail = -1;
  const b = Buffer.alloc(SEGMENT_HEADER + 8);
  segs.forEach((s, i) => {
    const fd = openSync(join(dir, segmentName(s)), 'r');
    let n: number;
    try {
      n = readSync(fd, b, 0, b.length, 0);
    } finally {
      closeSync(fd);
    }
    const h = readSegmentHeader(b.subarray(0, n));
    if ('problem' in h || b.subarray(h.start, Math.min(n, h.start + 8)).some((x) => x !== 0)) tail = i;
  });
  return tail;
}

export interface SnapshotRead {
  snapshot: Snapshot;
  /** Last record it holds (undefined: written before records were numbered). */
  lastRecord: number | undefined;
}

export function readSnapshot(path: string, seq: number): SnapshotRead {
  const buf = readFileSync(path);
  if (!buf.subarray(0, SNAP_MAGIC.length).equals(SNAP_MAGIC)) {
    throw new StoreCorruptError(`${path}: not an ipam-injector snapshot (bad magic)`, path, 0);
  }
  const dec = decodeFrames(buf, SNAP_MAGIC.length);
  if (dec.damage || dec.payloads.length !== 1) {
    throw new StoreCorruptError(
      `${path}: snapshot damaged (${dec.damage?.reason ?? 'wrong record count'}); the log it covers is gone, refusing to start (--repair cannot help: restore it from a backup)`,
      path,
      dec.damage?.offset ?? 0,
    );
  }
  const body = JSON.parse(dec.payloads[0]!.toString('utf8')) as { seq: number; n?: number; snapshot: Snapshot };
  if (body.seq !== seq) throw new StoreCorruptError(`${path}: names segment ${body.seq}, expected ${seq}`, path, 0);
  return { snapshot: body.snapshot, lastRecord: typeof body.n === 'number' ? body.n : undefined };
}

const ZEROS = Buffer.alloc(1024 * 1024);

/** Whether every byte of buf from `from` on is zero. */
export function zeroFrom(buf: Buffer, from: number): boolean {
  for (let off = from; off < buf.length; off += ZEROS.length) {
    const end = Math.min(buf.length, off + ZEROS.length);
    if (buf.compare(ZEROS, 0, end - off, off, end) !== 0) return false;
  }
  return true;
}

/** One past the last non-zero byte at or after `from` (`from` when there is none). */
export function lastNonZero(buf: Buffer, from: number): number {
  let i = buf.length;
  while (i > from && buf[i - 1] === 0) i--;
  return i;
}
