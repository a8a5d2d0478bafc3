// Calls to etcd that must eventually answer: retried while they fail to reach a member that
// can answer (dead member, no leader, deadline), with jittered backoff, for a bounded time;
// then the store fails (the server exits for a restart rather than acknowledge anything
// it cannot make durable).
import type { RecoveryNote } from '../ops.js';
import { StoreFailedError } from '../store.js';
import { backoffDelay, ETCD_BACKOFF, sleep } from '../../../protocol/backoff.js';
import { isPermanent } from './client.js';

export interface RetryPolicy {
  /** How long one call may keep failing (ms). */
  timeoutMs: number;
  onNote: (n: RecoveryNote) => void;
  /** Why to stop at once: the store failed or closed meanwhile. */
  stopped: () => { failed?: StoreFailedError; closed: boolean };
  /** Counts retries (for the benchmark and tests). */
  counted: () => void;
}

export async function withRetry<T>(p: RetryPolicy, what: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + p.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const s = p.stopped();
    if (s.failed) throw s.failed;
    try {
      return await fn();
    } catch (e) {
      if (isPermanent(e) || Date.now() + 50 > deadline || p.stopped().closed) {
        throw new StoreFailedError(`etcd ${what} failed${attempt ? ` after ${attempt + 1} attempts` : ''}: ${(e as Error).message}`, e);
      }
      p.counted();
      if (attempt === 0 || attempt % 10 === 0) p.onNote({ level: 'warn', msg: `etcd ${what}: ${(e as Error).message}; retrying` });
      await sleep(backoffDelay(ETCD_BACKOFF, attempt));
    }
  }
}
