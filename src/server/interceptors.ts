// What every call of our services shares, as grpc-js server interceptors, so that a handler is
// only its logic: who is calling (authenticateCalls), what each call ended with (observeCalls:
// metrics and the refusal log), and a status text HTTP/2 trailers can carry (clipStatusText).
// The order of the list matters: an interceptor sees the statuses of those after it.
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor, type StatusObject } from '@grpc/grpc-js';
import type { Auth, Principal } from './auth.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { SERVICE_NAMES } from '../protocol/load.js';
import { clip, StatusError, toServiceError } from '../protocol/status.js';

/** The interceptors of the IPAM server, innermost first. */
export function serverInterceptors(o: { auth: Auth; metrics: Metrics; log: Logger }): ServerInterceptor[] {
  return [clipStatusText, observeCalls(o.metrics, o.log), authenticateCalls(o.auth)];
}

const OWN_SERVICES: ReadonlySet<string> = new Set(Object.values(SERVICE_NAMES));

/** Whether `path` ("/package.Service/Method") is an rpc of alloc, resource or admin (not health or reflection). */
const ownMethod = (path: string): boolean => OWN_SERVICES.has(path.slice(1, path.lastIndexOf('/')));

/** The caller of each call authenticateCalls let through, by the metadata object its handler gets. */
const callers = new WeakMap<Metadata, Principal>();

/** Who makes the call with this metadata. Fails closed: a call no interceptor authenticated is refused. */
export function callerOf(md: Metadata): Principal {
  const p = callers.get(md);
  if (!p) throw new StatusError(status.UNAUTHENTICATED, 'the call was not authenticated');
  return p;
}

/** Authenticates every call of our services from its metadata (bearer token) and connection
 *  (client certificate) before its handler runs; a refused call never reaches it. */
export function authenticateCalls(auth: Auth): ServerInterceptor {
  return (method, call) => {
    if (!ownMethod(method.path)) return new ServerInterceptingCall(call);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, pass) => {
            let caller: Principal;
            try {
              caller = auth.authenticate(md, call);
            } catch (e) {
              const se = toServiceError(e);
              call.sendStatus({ code: se.code, details: se.details ?? '', metadata: se.metadata ?? null });
              return;
            }
            callers.set(md, caller);
            pass(md);
          },
        }),
    });
  };
}

/** Counts each unary call of our services by status code, with its latency, and logs its refusal
 *  (failures, INTERNAL and UNAVAILABLE, are logged with their stack where they are thrown). */
export function observeCalls(metrics: Metrics, log: Logger): ServerInterceptor {
  return (method, call) => {
    if (method.requestStream || method.responseStream || !ownMethod(method.path)) return new ServerInterceptingCall(call);
    const name = method.path.slice(1);
    const t0 = performance.now();
    return new ServerInterceptingCall(call, {
      sendStatus: (st, next) => {
        metrics.observe(name, st.code, (performance.now() - t0) / 1000);
        if (refusal(st.code) && log.enabled('debug'))
          log.debug('request refused', { method: name, code: status[st.code], error: st.details });
        next(st);
      },
    });
  };
}

const refusal = (code: status): boolean => code !== status.OK && code !== status.INTERNAL && code !== status.UNAVAILABLE;

/** Every status leaves with a text HTTP/2 trailers can carry, whichever service sends it (the
 *  health service echoes the service name it was asked about, of any length). */
export const clipStatusText: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    sendStatus: (st, next) => next(st.details === undefined ? st : ({ ...st, details: clip(st.details) } as StatusObject)),
  });
