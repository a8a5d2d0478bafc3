// Changes recovery makes to a log before writing on, from what log-reader.ts found: cutting a
// torn tail (never acknowledged), and, with --repair only, keeping the log up to a loss. Bytes
// cut are saved beside their segment and whole segments are renamed, never deleted, so a
// person can still look at them.
import { closeSync, fdatasyncSync, openSync, readdirSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { lastNonZero, SEG_RE, type LogState } from './log-reader.js';
import type { RecoveryNote } from './ops.js';
import { syncDirSync } from './segment-file.js';

/** Cuts segment `path` at `offset`: the non-zero bytes after it are saved to `saved` and
 *  zeroed in place. The file keeps its size, so a crash before the seal that follows leaves
 *  a crash's shape (records, then zeros), not a cut (log-reader.ts). */
function cut(dir: string, buf: Buffer, path: string, offset: number, saved: string): number {
  const bytes = lastNonZero(buf, offset) - offset;
  if (bytes === 0) return 0;
  writeFileSync(join(dir, saved), buf.subarray(offset, offset + bytes));
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(bytes), 0, bytes, offset);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return bytes;
}

/** Applies what the reader found: the repair of a loss (when there is one) and a torn tail. */
export function repairLog(dir: string, log: LogState, note: (n: RecoveryNote) => void): void {
  const loss = log.loss;
  if (loss) {
    if (loss.cut) {
      const seg = log.segments[loss.cut.index]!;
      seg.end = loss.cut.offset;
      const saved = `${seg.file}.dropped-${loss.cut.offset}`;
      const bytes = cut(dir, seg.buf, seg.path, loss.cut.offset, saved);
      if (bytes > 0)
        note({
          level: 'error',
          msg: `REPAIR dropped ${bytes} byte(s) of ${seg.file} from offset ${loss.cut.offset}, saved to ${saved}`,
          file: seg.file,
          offset: loss.cut.offset,
          bytes,
        });
    }
    for (const name of readdirSync(dir).sort()) {
      const m = SEG_RE.exec(name);
      if (!m || Number(m[1]) < loss.dropFrom) continue;
      renameSync(join(dir, name), join(dir, `${name}.dropped`));
      note({ level: 'error', msg: `REPAIR set aside ${name} (renamed ${name}.dropped): the log no longer continues there`, file: name });
    }
    log.segments = log.segments.filter((s) => s.seq < loss.dropFrom);
    syncDirSync(dir);
  }
  if (log.torn) {
    const seg = log.segments[log.torn.index]!;
    seg.end = log.torn.offset;
    cut(dir, seg.buf, seg.path, log.torn.offset, `${seg.file}.torn-${log.torn.offset}`);
  }
}
