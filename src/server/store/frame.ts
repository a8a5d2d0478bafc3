// Record framing shared by log segments and snapshot files:
//   file  = MAGIC (8 bytes) frame*
//   frame = payload length (u32 LE) | CRC-32 of payload (u32 LE) | payload (UTF-8 JSON)
// A zero length is never written, so a zero-filled tail (a crash after the file grew but
// before its data reached the disk) reads as damage, not as empty records.
import { crc32 } from 'node:zlib';

export const WAL_MAGIC = Buffer.from('IPAMWAL1', 'latin1');
export const SNAP_MAGIC = Buffer.from('IPAMSNP1', 'latin1');
export const HEADER = 8;
/** Larger than any frame we write, the snapshot of a large state included (parsing a payload
 *  is bounded anyway by V8's limit on a string's length, about 512 MiB). */
export const MAX_RECORD = 1024 * 1024 * 1024;

/** A frame around UTF-8 text, written straight into the frame (no intermediate buffer). */
export function encodeTextFrame(text: string): Buffer {
  const len = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(HEADER + len);
  out.write(text, HEADER);
  out.writeUInt32LE(len, 0);
  out.writeUInt32LE(crc32(out.subarray(HEADER)), 4);
  return out;
}

export function encodeFrame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER);
  return out;
}

export interface Decoded {
  payloads: Buffer[];
  /** Offset just past the last good frame. */
  end: number;
  /** Set when bytes after `end` are not a good frame. */
  damage?: { offset: number; reason: string; laterFrames: number };
}

/** Reads frames from `start`; stops at the first damaged one and looks past it. */
export function decodeFrames(buf: Buffer, start: number): Decoded {
  const payloads: Buffer[] = [];
  let off = start;
  while (off < buf.length) {
    const reason = frameProblem(buf, off);
    if (reason) {
      return { payloads, end: off, damage: { offset: off, reason, laterFrames: countLaterFrames(buf, off + 1) } };
    }
    const len = buf.readUInt32LE(off);
    payloads.push(buf.subarray(off + HEADER, off + HEADER + len));
    off += HEADER + len;
  }
  return { payloads, end: off };
}

function frameProblem(buf: Buffer, off: number): string | undefined {
  if (buf.length - off < HEADER) return `partial frame header (${buf.length - off} bytes)`;
  const len = buf.readUInt32LE(off);
  if (len === 0) return 'zero-length frame (zero-filled tail?)';
  if (len > MAX_RECORD) return `implausible frame length ${len}`;
  if (off + HEADER + len > buf.length) return `frame of ${len} bytes runs past end of file (torn write)`;
  const want = buf.readUInt32LE(off + 4);
  const got = crc32(buf.subarray(off + HEADER, off + HEADER + len));
  if (want !== got) return `CRC mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`;
  return undefined;
}

/**
 * Counts good frames anywhere after a damaged one. Zero means the damage is a torn tail
 * (only the last, never-acknowledged write is incomplete); more means the middle of the log
 * is damaged and records after it would be lost by truncating. Payloads are JSON arrays,
 * which makes a cheap pre-filter ('[' after the header).
 */
function countLaterFrames(buf: Buffer, from: number): number {
  let n = 0;
  for (let off = from; off + HEADER < buf.length; off++) {
    if (buf[off + HEADER] !== 0x5b /* [ */ && buf[off + HEADER] !== 0x7b /* { */) continue;
    if (frameProblem(buf, off) === undefined) {
      n++;
      off += HEADER + buf.readUInt32LE(off) - 1;
    }
  }
  return n;
}
