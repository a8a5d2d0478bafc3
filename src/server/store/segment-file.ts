// Log segment files made ready before they are needed: header, then zeros to the segment's
// full size, synced, and only then given their final name (wal-<seq>.log).
//
// Header (16 bytes): "IPAMWAL2" | u32 LE size the segment was created at | u32 LE CRC-32 of
// the 12 bytes before it. The size tells a segment a crash left at its full size from one
// that was cut (log-reader.ts). Version-1 segments ("IPAMWAL1", 8 bytes, no size) still read. Records are later
// written in place over the zeros, so a flush never changes the file's size and its O_DSYNC
// write has no metadata to journal.
//
// Why a whole file ahead, and not "extend the current segment when it fills": on ext4 a
// zero-filling write holds the inode, and an in-place record write on the same file waits
// behind it, and every acknowledgement in that window waits too. Filling a *different* file
// in 1 MiB steps, each synced, leaves the record writes of the current segment undisturbed (a
// single large sync stalls them). Figures: docs/performance.md, "Measurements behind the design".
import {
  close,
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fsync,
  fsyncSync,
  open,
  openSync,
  rename,
  renameSync,
  rmSync,
  write,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { WAL_MAGIC } from './frame.js';

export const WAL2_MAGIC = Buffer.from('IPAMWAL2', 'latin1');
export const SEGMENT_HEADER = 16;

export function segmentHeader(size: number): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER);
  WAL2_MAGIC.copy(h, 0);
  h.writeUInt32LE(size, 8);
  h.writeUInt32LE(crc32(h.subarray(0, 12)), 12);
  return h;
}

export type SegmentHeader = { start: number; declared?: number; legacy: boolean } | { problem: string };

/** What a segment's first bytes say: where frames start and the size it was created at. */
export function readSegmentHeader(buf: Buffer): SegmentHeader {
  if (buf.length >= WAL_MAGIC.length && buf.subarray(0, WAL_MAGIC.length).equals(WAL_MAGIC))
    return { start: WAL_MAGIC.length, legacy: true };
  if (buf.length >= 8 && buf.subarray(0, 8).equals(WAL2_MAGIC)) {
    if (buf.length < SEGMENT_HEADER) return { problem: `cut inside its header (${buf.length} bytes)` };
    if (buf.readUInt32LE(12) !== crc32(buf.subarray(0, 12))) return { problem: 'damaged header (CRC mismatch)' };
    return { start: SEGMENT_HEADER, declared: buf.readUInt32LE(8), legacy: false };
  }
  if (buf.length < 8) return { problem: `shorter than its header (${buf.length} bytes)` };
  return { problem: 'not an ipam-injector log segment (bad magic)' };
}

/** Extra open flag for log segments: writes are durable when they return (0: not available). */
export const DSYNC: number = constants.O_DSYNC ?? 0;

export const segmentName = (seq: number) => `wal-${String(seq).padStart(10, '0')}.log`;
const STEP = 1024 * 1024;
const ZEROS = Buffer.alloc(STEP);

const openP = promisify(open);
const writeP = (fd: number, buf: Buffer, off: number, len: number, pos: number) =>
  new Promise<number>((ok, ko) => write(fd, buf, off, len, pos, (e, n) => (e ? ko(e) : ok(n))));
const fdatasyncP = promisify(fdatasync);
const closeP = promisify(close);
const renameP = promisify(rename);
const fsyncP = promisify(fsync);

/** Writes zeros over [from, to) of fd in STEP pieces, syncing each (see the header). */
export function zeroFillSync(fd: number, from: number, to: number): void {
  for (let at = from; at < to;) {
    at += writeSync(fd, ZEROS, 0, Math.min(STEP, to - at), at);
    fdatasyncSync(fd);
  }
}

export async function zeroFill(fd: number, from: number, to: number): Promise<void> {
  for (let at = from; at < to;) {
    at += await writeP(fd, ZEROS, 0, Math.min(STEP, to - at), at);
    await fdatasyncP(fd);
  }
}

/** Makes a directory's entries (a create, rename or unlink) durable. */
export function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The same from the thread pool: a directory sync is a journal commit, milliseconds the
 *  event loop would otherwise stand still for. */
export async function syncDir(dir: string): Promise<void> {
  const fd = await openP(dir, 'r');
  try {
    await fsyncP(fd);
  } finally {
    await closeP(fd);
  }
}

/** Creates segment `seq` of `size` bytes now (at open: nothing else is running). Returns its fd, open for O_DSYNC writes. */
export function createSegmentSync(dir: string, seq: number, size: number): number {
  const path = join(dir, segmentName(seq));
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
  try {
    writeSync(fd, segmentHeader(size), 0, SEGMENT_HEADER, 0);
    zeroFillSync(fd, SEGMENT_HEADER, size);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDirSync(dir);
  return openSync(path, constants.O_WRONLY | DSYNC);
}

/** The same in the background, a synced step at a time, while the current segment takes records. */
export async function prepareSegment(dir: string, seq: number, size: number): Promise<number> {
  const path = join(dir, segmentName(seq));
  const tmp = `${path}.tmp`;
  const fd = await openP(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC);
  try {
    await writeP(fd, segmentHeader(size), 0, SEGMENT_HEADER, 0);
    await zeroFill(fd, SEGMENT_HEADER, size);
  } catch (e) {
    await closeP(fd).catch(() => {});
    rmSync(tmp, { force: true });
    throw e;
  }
  await closeP(fd);
  await renameP(tmp, path);
  await syncDir(dir);
  return openP(path, constants.O_WRONLY | DSYNC);
}
