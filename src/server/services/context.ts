// What every service handler needs, and the table that turns handlers into a grpc-js service.
// Authentication, metrics and the refusal log are the server's interceptors (interceptors.ts):
// a handler is only its logic, given the caller they authenticated.
import {
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type ServiceError,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Change, IpamCore } from '../core.js';
import type { Auth, Principal } from '../auth.js';
import { callerOf } from '../interceptors.js';
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

/** One unary rpc: the request and its authenticated caller in, the answer out (or an error thrown). */
export type UnaryHandler<Req, Res> = (ctx: ServiceContext, req: Req, caller: Principal) => Promise<Res>;

/** One server-streaming rpc: checks its request (throwing refuses the call), then streams. */
export type StreamHandler<Req, Res> = (ctx: ServiceContext, call: ServerWritableStream<Req, Res>, caller: Principal) => void;

/** A service's handlers by rpc name. */
export interface HandlerTable {
  unary?: Record<string, UnaryHandler<never, unknown>>;
  streams?: Record<string, StreamHandler<never, never>>;
}

/**
 * The grpc-js implementation of `service` (its full name, for the log): each handler gets the
 * caller; what it throws leaves as the status it maps to, and a failure (INTERNAL, UNAVAILABLE)
 * is logged with its stack, which only this side of the status still has.
 */
export function implement(ctx: ServiceContext, service: string, table: HandlerTable): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, fn] of Object.entries(table.unary ?? {})) out[name] = unaryCall(ctx, `${service}/${name}`, fn);
  for (const [name, fn] of Object.entries(table.streams ?? {})) out[name] = streamCall(ctx, fn);
  return out;
}

function unaryCall(ctx: ServiceContext, method: string, fn: UnaryHandler<never, unknown>): handleUnaryCall<unknown, unknown> {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const fail = (err: unknown) => {
      const se = toServiceError(err ?? new Error('unknown error'));
      if (se.code === status.INTERNAL || se.code === status.UNAVAILABLE) {
        ctx.log.error('request failed', { method, code: status[se.code], error: se.details, stack: (err as Error)?.stack });
      }
      callback(se as ServiceError);
    };
    try {
      fn(ctx, call.request as never, callerOf(call.metadata)).then((res) => callback(null, res), fail);
    } catch (e) {
      fail(e);
    }
  };
}

function streamCall(ctx: ServiceContext, fn: StreamHandler<never, never>): handleServerStreamingCall<unknown, unknown> {
  return (call: ServerWritableStream<unknown, unknown>) => {
    try {
      fn(ctx, call as ServerWritableStream<never, never>, callerOf(call.metadata));
    } catch (e) {
      call.emit('error', toServiceError(e));
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
