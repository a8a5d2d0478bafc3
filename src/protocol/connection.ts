// A channel to one IPAM server with credentials, bearer token, per-call deadline and retries
// on UNAVAILABLE; one grpc-js client per service, all sharing the channel. Used by the
// function's grpc backend and by `get` (through the typed clients built on it).
// The shared concerns are grpc-js's own mechanisms, not code around each call: interceptors
// add the token and the deadline to every call (unary and streaming), and the channel's
// service config retries UNAVAILABLE (every call of these services is idempotent per owner:
// a retry after a lost answer gets the same answer).
import { readFileSync } from 'node:fs';
import {
  credentials,
  InterceptingCall,
  Metadata,
  type ChannelCredentials,
  type Client,
  type Interceptor,
  type ServiceError,
} from '@grpc/grpc-js';
import { CLIENT_BACKOFF, grpcRetryPolicy } from './backoff.js';
import { clientConstructor, SERVICE_NAMES } from './load.js';

export type ServiceName = keyof typeof SERVICE_NAMES;

export interface ConnectionOptions {
  /** HOST:PORT (or any grpc-js target). Env IPAM_INJECTOR_ADDRESS. */
  address?: string;
  /** Use TLS (implied by tlsCa / tlsCert). Env IPAM_INJECTOR_TLS=true. */
  tls?: boolean | string;
  /** CA bundle to verify the server: a file path or PEM text. Env IPAM_INJECTOR_TLS_CA. */
  tlsCa?: string;
  /** Client certificate and key for mTLS: file paths or PEM text. Env IPAM_INJECTOR_TLS_CERT / _KEY. */
  tlsCert?: string;
  tlsKey?: string;
  /** Name to verify in the server certificate when it differs from the address host. */
  tlsServerName?: string;
  /** Bearer token, or a file holding it. Env IPAM_INJECTOR_TOKEN / IPAM_INJECTOR_TOKEN_FILE. */
  token?: string;
  tokenFile?: string;
  /** Per-call deadline, retries included: ms as a number, or "500ms", "10s", "1m". Default 10s. Env IPAM_INJECTOR_TIMEOUT. */
  timeout?: number | string;
  /** Attempts after the first on UNAVAILABLE (default 4; backoff from 100ms doubling to 1s, jittered). */
  retries?: number | string;
  /** Told of every finished call (its method, final status and time, retries included). */
  onCall?: (call: CallRecord) => void;
  env?: NodeJS.ProcessEnv;
}

export interface CallRecord {
  /** `/package.Service/Method` */
  method: string;
  /** The final status code (0: OK). */
  code: number;
  details: string;
  ms: number;
}

type Unary = (req: unknown, md: Metadata, cb: (e: ServiceError | null, res: unknown) => void) => void;

/** Adds `authorization: Bearer <token>` to every call's metadata. */
export function tokenInterceptor(token: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

/** Reports every call when it ends, with its final status (one record per call, not per attempt). */
export function callLogInterceptor(log: (call: CallRecord) => void): Interceptor {
  return (options, nextCall) => {
    const started = performance.now();
    const method = options.method_definition.path;
    return new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        next(metadata, {
          onReceiveStatus(s, nextStatus) {
            log({ method, code: s.code, details: s.details, ms: performance.now() - started });
            nextStatus(s);
          },
        });
      },
    });
  };
}

/** Gives every unary call that has none a deadline `ms` from its start (streams run until cancelled). */
export function deadlineInterceptor(ms: number): Interceptor {
  return (options, nextCall) => {
    const unary = !options.method_definition.responseStream;
    return new InterceptingCall(nextCall(unary && options.deadline === undefined ? { ...options, deadline: Date.now() + ms } : options));
  };
}

/**
 * The channel's service config: UNAVAILABLE is retried `retries` times, backing off as
 * CLIENT_BACKOFF says, within the call's deadline. Undefined when there are no retries.
 */
export function retryServiceConfig(retries: number): string | undefined {
  if (!(retries >= 1)) return undefined;
  const name = Object.values(SERVICE_NAMES).map((service) => ({ service }));
  return JSON.stringify({ methodConfig: [{ name, retryPolicy: grpcRetryPolicy(CLIENT_BACKOFF, retries + 1, ['UNAVAILABLE']) }] });
}

/** A file an option names; one that cannot be read is an error naming the option and the path. */
function readOptionFile(option: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (e as Error).message;
    throw new Error(`${option}: cannot read ${JSON.stringify(path)}: ${why}${code ? ` (${code})` : ''}`);
  }
}

/** PEM text as given, or read from the file the option names. */
const readPem = (option: string, v: string) => Buffer.from(v.includes('-----BEGIN') ? v : readOptionFile(option, v));

/** The option's value and the name it was given under (config key, else environment variable). */
function option(
  configKey: string,
  value: string | undefined,
  envKey: string,
  env: NodeJS.ProcessEnv,
): { name: string; value: string } | undefined {
  if (value) return { name: configKey, value };
  const v = env[envKey];
  return v ? { name: envKey, value: v } : undefined;
}
export const bool = (v: boolean | string | undefined) => v === true || v === 'true' || v === '1' || v === 'yes';

export function parseDuration(v: number | string | undefined, fallback: number): number {
  if (v === undefined || v === '') return fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`timeout "${v}" is not a duration (e.g. 500ms, 10s, 1m)`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n;
}

/** A channel to one server with deadline, token and retry handling; one client per service. */
export class GrpcConnection {
  readonly address: string;
  private readonly creds: ChannelCredentials;
  private readonly clients = new Map<string, Client>();
  readonly timeoutMs: number;
  private readonly channelOptions: Record<string, unknown>;

  constructor(o: ConnectionOptions) {
    const env = o.env ?? process.env;
    const address = o.address || env.IPAM_INJECTOR_ADDRESS;
    if (!address) throw new Error('backend grpc needs an address (address=HOST:PORT)');
    this.address = address;
    const ca = option('tlsCa', o.tlsCa, 'IPAM_INJECTOR_TLS_CA', env);
    const cert = option('tlsCert', o.tlsCert, 'IPAM_INJECTOR_TLS_CERT', env);
    const key = option('tlsKey', o.tlsKey, 'IPAM_INJECTOR_TLS_KEY', env);
    if (!!cert !== !!key) throw new Error('tlsCert and tlsKey go together');
    const tls = bool(o.tls ?? env.IPAM_INJECTOR_TLS) || !!ca || !!cert;
    const pem = (x: { name: string; value: string } | undefined) => (x ? readPem(x.name, x.value) : null);
    this.creds = tls ? credentials.createSsl(pem(ca), pem(key), pem(cert)) : credentials.createInsecure();
    const tokenFile = option('tokenFile', o.tokenFile, 'IPAM_INJECTOR_TOKEN_FILE', env);
    const token = o.token || env.IPAM_INJECTOR_TOKEN || (tokenFile ? readOptionFile(tokenFile.name, tokenFile.value).trim() : undefined);
    this.timeoutMs = parseDuration(o.timeout ?? env.IPAM_INJECTOR_TIMEOUT, 10_000);
    const retries = Number(o.retries ?? 4);
    const serviceConfig = retryServiceConfig(retries);
    this.channelOptions = {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      ...(serviceConfig
        ? {
            'grpc.service_config': serviceConfig,
            'grpc-node.retry_max_attempts_limit': retries + 1,
            // A server that is down is tried again as often as the retries come, not after
            // the channel's default reconnect backoff (1 s and growing).
            'grpc.initial_reconnect_backoff_ms': CLIENT_BACKOFF.initialMs,
            'grpc.max_reconnect_backoff_ms': CLIENT_BACKOFF.maxMs,
          }
        : {}),
      ...(o.tlsServerName ? { 'grpc.ssl_target_name_override': o.tlsServerName, 'grpc.default_authority': o.tlsServerName } : {}),
      interceptors: [
        ...(o.onCall ? [callLogInterceptor(o.onCall)] : []),
        deadlineInterceptor(this.timeoutMs),
        ...(token ? [tokenInterceptor(token)] : []),
      ],
    };
  }

  private client(service: ServiceName): Client {
    let c = this.clients.get(service);
    if (!c) {
      // One channel for all services: grpc-js shares subchannels between clients with the
      // same target, credentials and options.
      const Ctor = clientConstructor(service);
      c = new Ctor(this.address, this.creds, this.channelOptions);
      this.clients.set(service, c);
    }
    return c;
  }

  /** One unary call (the interceptors and the service config add token, deadline and retries); rejects with the raw ServiceError. */
  call<Res>(service: ServiceName, method: string, req: unknown): Promise<Res> {
    const c = this.client(service) as unknown as Record<string, Unary>;
    const fn = c[method];
    if (!fn) return Promise.reject(new Error(`no method ${service}.${method}`));
    return new Promise<Res>((resolve, reject) => fn.call(c, req, new Metadata(), (e, res) => (e ? reject(e) : resolve(res as Res))));
  }

  /** A server-streaming call (Watch); the caller consumes and cancels it. */
  stream(service: ServiceName, method: string, req: unknown) {
    const c = this.client(service) as unknown as Record<string, (req: unknown, md: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
    return c[method]!.call(c, req, new Metadata());
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
