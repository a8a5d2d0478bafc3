// Serializes a snapshot into one CRC frame (frame.ts) without stopping the server for the
// whole state: the allocations, nearly all of a snapshot's bytes, are stringified in chunks
// with a turn of the event loop between chunks, so requests keep being answered while a
// large snapshot is written (one JSON.stringify of a large state blocks the event loop).
// The snapshot is a private copy, so nothing changes under it between chunks. The bytes are
// those of JSON.stringify({ seq, n, snapshot }): readers parse the frame as one JSON document.
// `n` is the number of the last log record the snapshot holds (record.ts); the first record
// after it must be n + 1 (undefined: records before it were not numbered, an older format).
import { close, fdatasync, openSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import type { Snapshot } from '../../ipam/types.js';
import { HEADER, SNAP_MAGIC } from './frame.js';
import { writeAll } from './write-all.js';

export const snapshotName = (seq: number) => `snap-${String(seq).padStart(10, '0')}.snap`;

/** Allocations per chunk: small enough that a chunk's stringify is one short pause. */
const CHUNK = 10_000;

export interface EncodedFrame {
  /** Frame header, then the payload in pieces (hand them to one writev). */
  buffers: Buffer[];
  /** Header + payload bytes. */
  bytes: number;
}

export async function encodeSnapshotFrame(seq: number, n: number | undefined, snapshot: Snapshot): Promise<EncodedFrame> {
  const { allocations, ...rest } = snapshot;
  // `rest` always has `version`, so its JSON is "{...}" and the allocations can be appended
  const restJson = JSON.stringify(rest);
  const parts: Buffer[] = [
    Buffer.from(`{"seq":${JSON.stringify(seq)},${n === undefined ? '' : `"n":${n},`}"snapshot":${restJson.slice(0, -1)},"allocations":[`),
  ];
  for (let i = 0; i < allocations.length; i += CHUNK) {
    await new Promise((r) => setImmediate(r));
    const json = JSON.stringify(allocations.slice(i, i + CHUNK));
    // drop the chunk's own brackets; chunks after the first start with a comma
    parts.push(Buffer.from(`${i > 0 ? ',' : ''}${json.slice(1, -1)}`));
  }
  parts.push(Buffer.from(']}}'));
  let length = 0;
  let crc = 0;
  for (const p of parts) {
    length += p.length;
    crc = crc32(p, crc);
  }
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32LE(length, 0);
  header.writeUInt32LE(crc, 4);
  return { buffers: [header, ...parts], bytes: HEADER + length };
}

/** Writes `snap-<seq>.snap.tmp` in dir and syncs it; the store renames it once it is whole. */
/** Written and synced this much at a time: one sync of a whole snapshot (tens of MB) held the
 *  log's own synced writes for tens of ms; a few MB at a time, they hardly notice. */
const SYNC_EVERY = 4 * 1024 * 1024;

export async function writeSnapshotTmp(dir: string, seq: number, frame: EncodedFrame): Promise<void> {
  const fd = openSync(join(dir, `${snapshotName(seq)}.tmp`), 'w');
  const sync = promisify(fdatasync);
  try {
    let pos = 0;
    let batch: Buffer[] = [];
    let bytes = 0;
    const flush = async () => {
      await writeAll(fd, batch, bytes, pos);
      await sync(fd);
      pos += bytes;
      batch = [];
      bytes = 0;
    };
    for (const b of [SNAP_MAGIC, ...frame.buffers]) {
      if (bytes > 0 && bytes + b.length > SYNC_EVERY) await flush();
      batch.push(b);
      bytes += b.length;
    }
    await flush();
  } finally {
    await promisify(close)(fd);
  }
}
