// The one backoff of the project: capped exponential with full jitter. Retry n (0-based)
// waits a random time below min(max, initial * multiplier^n), so retries that failed together
// spread out instead of colliding again. grpc-js's service-config retryPolicy computes its
// delays the same way, so the client's UNAVAILABLE retries (connection.ts) use this policy
// through grpcRetryPolicy.

export interface Backoff {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

/** etcd calls and the watch stream's reconnects (src/server/store/etcd). */
export const ETCD_BACKOFF: Backoff = { initialMs: 50, maxMs: 1000, multiplier: 2 };
/** A request that lost a race with another replica: short, the winner's journal is replayed first. */
export const RACE_BACKOFF: Backoff = { initialMs: 5, maxMs: 100, multiplier: 2 };
/** The gRPC client's retries on UNAVAILABLE. */
export const CLIENT_BACKOFF: Backoff = { initialMs: 100, maxMs: 1000, multiplier: 2 };

/** The delay before retry `retry` (0 for the first retry), in ms. */
export function backoffDelay(b: Backoff, retry: number): number {
  return Math.random() * Math.min(b.maxMs, b.initialMs * b.multiplier ** retry);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A gRPC service config retryPolicy with this backoff (grpc-js applies it per call). */
export function grpcRetryPolicy(b: Backoff, maxAttempts: number, retryableStatusCodes: string[]) {
  return {
    maxAttempts,
    initialBackoff: `${b.initialMs / 1000}s`,
    maxBackoff: `${b.maxMs / 1000}s`,
    backoffMultiplier: b.multiplier,
    retryableStatusCodes,
  };
}
