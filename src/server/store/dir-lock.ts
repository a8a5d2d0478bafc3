// One server per data directory: an exclusive flock(2) on `<dir>/LOCK`, held for as long as
// the store is open. The kernel keeps it on the file, so it holds across PID namespaces (two
// containers on one volume) where a pid written in the file means nothing, and it goes away
// with the process however that ends: there is no stale lock to guess about.
//
// Node has no flock, so util-linux's `flock` takes it for us on a descriptor we pass down:
// a flock belongs to the open file description, which the child shares with us, so the lock
// stays ours after the child exits and lasts until we close the descriptor (or die).
// The pid and host written into the file are for the person reading the refusal only.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreFailedError } from './store.js';

export const LOCK_FILE = 'LOCK';
/** flock's exit code when another open file description holds the lock. */
const HELD = 75;

export interface DirLock {
  /** Whether this lock created the LOCK file (a failed start removes it again). */
  readonly created: boolean;
  /** Writes who holds it into LOCK, for whoever is refused next (once the server writes). */
  sign(): void;
  /** Lets go of it; `remove`: and removes LOCK (before letting go, see lockDir). */
  release(remove: boolean): void;
}

/** Takes the directory's lock or throws StoreFailedError naming who holds it. */
export function lockDir(dir: string): DirLock {
  const path = join(dir, LOCK_FILE);
  for (;;) {
    let created = true;
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      created = false;
      try {
        fd = openSync(path, constants.O_RDWR);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'ENOENT') continue; // its holder just removed it
        throw e2;
      }
    }
    const r = spawnSync('flock', ['--nonblock', '--exclusive', '--conflict-exit-code', String(HELD), '3'], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    if (r.error || (r.status !== 0 && r.status !== HELD)) {
      closeSync(fd);
      if (created) unlinkSync(path);
      const why = r.error ? (r as { error: Error }).error.message : `exit ${r.status}: ${r.stderr.toString().trim()}`;
      throw new StoreFailedError(`cannot lock ${path}: the flock command (util-linux) failed (${why})`);
    }
    if (r.status === HELD) {
      const holder = readHolder(fd);
      closeSync(fd);
      throw new StoreFailedError(
        `data directory ${dir} is in use by another server (${path} is locked${holder ? `; it says ${holder}` : ''}); one directory serves one server`,
      );
    }
    // Locked: but the holder before us may have removed LOCK in between (release() unlinks
    // it while still holding it), and then we hold a file nobody else will ever look at.
    if (!sameFile(fd, path)) {
      closeSync(fd);
      continue;
    }
    let held = true;
    return {
      created,
      sign() {
        const text = Buffer.from(`pid ${process.pid} on ${hostname()}\n`);
        ftruncateSync(fd, 0);
        writeSync(fd, text, 0, text.length, 0);
      },
      release(remove) {
        if (!held) return;
        held = false;
        if (remove) unlinkSync(path); // while still locked: nobody locks this file and then finds it gone
        closeSync(fd);
      },
    };
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

function readHolder(fd: number): string {
  try {
    const buf = Buffer.alloc(200);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').trim();
  } catch {
    return '';
  }
}
