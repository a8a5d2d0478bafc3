// What every call shares, as a grpc-js server interceptor, so that a handler is only its logic:
// who is calling (authenticate), what each call ended with (observer: metrics and the refusal
// log), and a status text HTTP/2 trailers can carry (clipStatusText). The three are one
// interceptor, one layer per call: every layer of interception costs on every call.
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Auth, PeerCall, Principal } from './auth.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { SERVICE_NAMES } from '../protocol/load.js';
import { clip, StatusError, toServiceError } from '../protocol/status.js';

/** The interceptors of the IPAM server. */
export function serverInterceptors(o: { auth: Auth; metrics: Metrics; log: Logger }): ServerInterceptor[] {
  return [
    (method, call) => {
      if (!ownMethod(method.path)) return new ServerInterceptingCall(call, { sendStatus: clipStatusText });
      const observe = method.requestStream || method.responseStream ? undefined : observer(o.metrics, o.log, method.path.slice(1));
      const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (md, pass) => {
              const refused = authenticate(o.auth, md, call);
              // through this call's own sendStatus: a refusal is observed and clipped too
              if (refused) intercepted.sendStatus(refused);
              else pass(md);
            },
          }),
        sendStatus: (st, next) => {
          observe?.(st);
          clipStatusText(st, next);
        },
      });
      return intercepted;
    },
  ];
}

/** The status a call ends with (grpc-js's PartialStatusObject, not exported from its root). */
type PartialStatusObject = Parameters<ServerInterceptingCall['sendStatus']>[0];

const OWN_SERVICES: ReadonlySet<string> = new Set(Object.values(SERVICE_NAMES));

/** Whether `path` ("/package.Service/Method") is an rpc of alloc, resource or admin (not health or reflection). */
const ownMethod = (path: string): boolean => OWN_SERVICES.has(path.slice(1, path.lastIndexOf('/')));

/** The caller of each call the interceptor let through, by the metadata object its handler gets. */
const callers = new WeakMap<Metadata, Principal>();

/** Who makes the call with this metadata. Fails closed: a call the interceptor did not authenticate is refused. */
export function callerOf(md: Metadata): Principal {
  const p = callers.get(md);
  if (!p) throw new StatusError(status.UNAUTHENTICATED, 'the call was not authenticated');
  return p;
}

/** Authenticates a call of our services from its metadata (bearer token) and connection
 *  (client certificate) before its handler runs: the status that refuses it, or undefined. */
function authenticate(auth: Auth, md: Metadata, call: PeerCall): PartialStatusObject | undefined {
  try {
    callers.set(md, auth.authenticate(md, call));
    return undefined;
  } catch (e) {
    const se = toServiceError(e);
    return { code: se.code, details: se.details ?? '', metadata: se.metadata ?? null };
  }
}

/** Counts a unary call of our services by status code, with its latency, and logs its refusal
 *  (failures, INTERNAL and UNAVAILABLE, are logged with their stack where they are thrown). */
function observer(metrics: Metrics, log: Logger, method: string): (st: PartialStatusObject) => void {
  const t0 = performance.now();
  return (st) => {
    metrics.observe(method, st.code, (performance.now() - t0) / 1000);
    if (refusal(st.code) && log.enabled('debug')) log.debug('request refused', { method, code: status[st.code], error: st.details });
  };
}

const refusal = (code: status): boolean => code !== status.OK && code !== status.INTERNAL && code !== status.UNAVAILABLE;

/** Every status leaves with a text HTTP/2 trailers can carry, whichever service sends it (the
 *  health service echoes the service name it was asked about, of any length). */
function clipStatusText(st: PartialStatusObject, next: (st: PartialStatusObject) => void): void {
  next(st.details === undefined ? st : { ...st, details: clip(st.details) });
}
