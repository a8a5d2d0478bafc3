// What every service handler needs, and the wrapper that gives each unary call the same
// authentication, status mapping, metrics and error logging.
import {
  status,
  type handleUnaryCall,
  type ServiceError,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { Change, IpamCore } from '../core.js';
import type { Auth, Principal } from '../auth.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Limits } from '../../protocol/validate.js';
import { toServiceError } from '../../protocol/status.js';
import { WatchStream } from './watch-stream.js';

export interface ServiceContext {
  core: IpamCore;
  auth: Auth;
  limits: Limits;
  metrics: Metrics;
  log: Logger;
  /** Streams to end on shutdown. */
  streams: Set<{ end(): void }>;
}

export function unary<Req, Res>(
  ctx: ServiceContext,
  method: string,
  fn: (req: Req, principal: Principal) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const t0 = performance.now();
    const done = (err: unknown, res?: Res) => {
      const seconds = (performance.now() - t0) / 1000;
      if (err === undefined) {
        ctx.metrics.observe(method, status.OK, seconds);
        callback(null, res);
        return;
      }
      const se = toServiceError(err);
      ctx.metrics.observe(method, se.code, seconds);
      if (se.code === status.INTERNAL || se.code === status.UNAVAILABLE) {
        ctx.log.error('request failed', { method, code: status[se.code], error: se.details, stack: (err as Error)?.stack });
      } else if (ctx.log.enabled('debug')) {
        ctx.log.debug('request refused', { method, code: status[se.code], error: se.details });
      }
      callback(se as ServiceError);
    };
    let p: Principal;
    try {
      p = ctx.auth.authenticate(call.metadata, call);
      fn(call.request, p).then((res) => done(undefined, res), done);
    } catch (e) {
      done(e ?? new Error('unknown error'));
    }
  };
}

/**
 * Streams the allocator's changes to a watcher until it leaves or the server shuts down.
 * `toMessage` picks and shapes what this watcher gets (undefined: nothing). A watcher that
 * stops reading is cut off (WatchStream), since it would make the server buffer without
 * bound. Subscribes at once, so a listing sent after this call (sendListing) misses no change.
 */
export function follow<T>(
  ctx: ServiceContext,
  call: ServerWritableStream<unknown, T>,
  toMessage: (c: Change) => T | undefined,
  resyncHint: string,
): WatchStream<T> {
  const out = new WatchStream(call, ctx.limits, resyncHint);
  const unsubscribe = ctx.core.subscribe((c) => {
    const msg = toMessage(c);
    if (msg !== undefined) out.send(msg);
  });
  ctx.streams.add(out);
  out.onClose(() => {
    unsubscribe();
    ctx.streams.delete(out);
  });
  return out;
}
