// Opening a recovered log for writing (the file store's begin()): repair what the reader
// found (log-repair.ts), remove what holds nothing (leftovers of an interrupted preparation
// or compaction, segments a snapshot covers, prepared segments never written), then start a
// new segment after the newest one holding records and seal that one with a `next` end
// marker naming it. The new segment exists (synced, in a synced directory) before the marker
// is written, so a marker always names a segment that was there; from then on the segment
// sealed can only be missing its successor if that was deleted (log-reader.ts).
import { closeSync, constants, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeTextFrame } from './frame.js';
import type { LogState } from './log-reader.js';
import { repairLog } from './log-repair.js';
import type { RecoveryNote } from './ops.js';
import { encodeEnd } from './record.js';
import { createSegmentSync, syncDirSync } from './segment-file.js';

export interface Writer {
  dir: string;
  segmentSize: number;
  /** Number of the last record in the log (0: none). */
  lastN: number;
  note: (n: RecoveryNote) => void;
  /** Writing goes on at the start of segment `seq`, open as `fd`. */
  start: (seq: number, fd: number) => void;
}

export async function startWriting(log: LogState, w: Writer): Promise<void> {
  const { dir } = w;
  repairLog(dir, log, w.note);
  let removed = 0;
  for (const name of [...log.leftovers, ...log.covered]) {
    rmSync(join(dir, name), { force: true });
    removed++;
  }
  // The newest segment holding records; the ones after it were prepared and never written.
  let tail = -1;
  log.segments.forEach((s, i) => s.last !== 'none' && (tail = i));
  const last = tail >= 0 ? log.segments[tail]! : undefined;
  const seq = last ? last.seq + 1 : (log.snapshotSeq ?? 1);
  // (segment `seq` itself is replaced by a rename below: a `next` marker may name it already)
  for (const s of log.segments.slice(tail + 1).filter((s) => s.seq !== seq)) {
    rmSync(s.path);
    removed++;
  }
  if (removed > 0) syncDirSync(dir);
  const fd = createSegmentSync(dir, seq, w.segmentSize);
  if (last && last.last !== 'next') seal(last.path, last.end, w.lastN);
  w.start(seq, fd);
}

/** Writes a `next` end marker at `offset` of segment `path` and syncs it. */
function seal(path: string, offset: number, lastN: number): void {
  const frame = encodeTextFrame(encodeEnd({ after: lastN, end: 'next' }));
  const fd = openSync(path, constants.O_WRONLY);
  try {
    writeSync(fd, frame, 0, frame.length, offset);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
