import { writev, writeSync } from 'node:fs';

/** One writev for the whole batch at `position`; a short write (rare) is finished synchronously. */
export function writeAll(fd: number, bufs: Buffer[], total: number, position: number | null = null): Promise<void> {
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
