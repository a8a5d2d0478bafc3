// Assembles the IPAM server: one IpamCore (allocator + store) behind alloc.Allocation,
// resource.Resource and the admin service, plus grpc.health.v1, reflection and metrics.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Server as HttpServer } from 'node:http';
import { Auth, type TokenEntry } from './auth.js';
import { IpamCore, type CoreOptions, type IpamFactory } from './core.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { serverInterceptors } from './interceptors.js';
import { packageDefinition, serviceDefinition, SERVICE_NAMES } from '../protocol/load.js';
import type { SeedSpace } from './seed.js';
import { vlanSpaceOf } from '../space/vlan.js';
import { applyNetworkSpace } from './networks.js';
import { adminService } from './services/admin.js';
import { decodeBatchRequest } from '../protocol/batch-decoder.js';
import { encodeBatchResponse } from '../protocol/batch-encoder.js';
import { allocService } from './services/alloc.js';
import type { ServiceContext } from './services/context.js';
import { ALLOC2023_RPCS, claimService, RESOURCE_RPCS } from './services/resource.js';
import { claimBackends } from './services/claims.js';
import { startWebView } from './web/web-server.js';
import type { TlsFiles } from './tls-files.js';
import type { Store } from './store/store.js';
import { DEFAULT_LIMITS, type Limits } from '../protocol/validate.js';

export type { TlsFiles };

export interface ServerOptions {
  /** HOST:PORT; port 0 picks a free one (see RunningServer.port). */
  listen: string;
  store: Store;
  createIpam: IpamFactory;
  tls?: TlsFiles;
  tokens?: Map<string, TokenEntry>;
  /** HOST:PORT for Prometheus /metrics. */
  metrics?: string;
  /** HOST:PORT for the read-only web view (same TLS and tokens as the gRPC API). */
  http?: string;
  seed?: SeedSpace;
  limits?: Partial<Limits>;
  log?: Logger;
  /** Called when the store fails for good (the CLI exits non-zero). */
  onFatal?: (e: Error) => void;
  /** How long a graceful shutdown waits for calls in flight. */
  drainMs?: number;
  /** Replicated stores with write leases: see CoreOptions.forward. */
  forward?: CoreOptions['forward'];
}

export interface RunningServer {
  port: number;
  address: string;
  metricsPort?: number;
  /** Port of the web view, when `http` was given. */
  httpPort?: number;
  core: IpamCore;
  /** Graceful: NOT_SERVING, end streams, finish calls in flight, flush the store. */
  shutdown(): Promise<void>;
}

/** grpc-js server options (the benchmark's no-op server uses the same). Channelz is off: its
 *  per-call bookkeeping costs more than everything our unary handlers do. */
export function serverOptions(limits: Pick<Limits, 'maxMessageBytes'> = DEFAULT_LIMITS): Record<string, number> {
  return {
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    'grpc.max_send_message_length': limits.maxMessageBytes,
    'grpc.max_concurrent_streams': 1000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.enable_channelz': 0,
  };
}

const ALL_SERVICES = ['', ...Object.values(SERVICE_NAMES)];

/** Applies the seed to the allocator now; the promise settles once it is durable. A seed the
 *  allocator refuses throws here, before the store has written anything. */
function applySeed(core: IpamCore, seed: SeedSpace): Promise<void> {
  let refused: { error: unknown } | undefined;
  const done = core.mutate((tx) => {
    try {
      for (const ni of seed.networkInstances) tx.applyNetworkInstance(ni.ref, ni.prefixes, ni.owner);
      for (const p of seed.prefixes) tx.applyPrefix(p);
      const problems = applyNetworkSpace(tx, seed.networks, seed.clusters);
      if (problems.length) throw new Error(`--seed: ${problems.map((e) => `${e.owner}: ${e.error.message}`).join('; ')}`);
      // VLANIndex and VLAN resources, and the index each WorkloadCluster implies (explicit first,
      // as the function's backends apply them)
      const vlan = vlanSpaceOf(seed);
      const named = (owner: string, apply: () => unknown) => {
        try {
          apply();
        } catch (e) {
          throw new Error(`--seed: ${owner}: ${(e as Error).message}`);
        }
      };
      for (const x of vlan.indexes.sort((a, b) => Number(!!a.implied) - Number(!!b.implied))) named(x.owner, () => tx.applyVlanIndex(x));
      for (const d of vlan.definitions) named(d.owner, () => tx.applyVlanDefinition(d));
    } catch (e) {
      refused = { error: e };
      throw e;
    }
  });
  done.catch(() => {}); // awaited by the caller once the store writes, or dropped with it
  if (refused) throw refused.error;
  return done;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? createLogger();
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const health = new HealthImplementation(Object.fromEntries(ALL_SERVICES.map((s) => [s, 'NOT_SERVING' as const])));
  const setHealth = (s: 'SERVING' | 'NOT_SERVING') => ALL_SERVICES.forEach((name) => health.setStatus(name, s));

  // A failure before the server is up is the start's own error, not a store failure later.
  let up = false;
  const core = new IpamCore({
    store: opts.store,
    createIpam: opts.createIpam,
    ...(opts.forward ? { forward: opts.forward } : {}),
    onFatal: (e) => {
      if (!up) return;
      setHealth('NOT_SERVING');
      log.error('store failed: no further changes can be made durable', { error: e.message });
      opts.onFatal?.(e);
    },
  });
  await recover(core, opts.store, log);
  const ctx: ServiceContext = {
    core,
    auth: new Auth(opts.tokens, opts.tls?.clientCa !== undefined),
    limits,
    metrics: new Metrics(),
    log,
    streams: new Set(),
  };
  const server = grpcServer(ctx, health);
  const bound = await bindAndBegin(server, ctx, opts, () => (up = true));
  const web = opts.http
    ? await startWebView({ listen: opts.http, core, auth: ctx.auth, log, ...(opts.tls ? { tls: opts.tls } : {}) })
    : undefined;
  setHealth('SERVING');
  logServing(log, opts, bound, web?.port);

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      const t = performance.now();
      setHealth('NOT_SERVING');
      await web?.close();
      for (const s of ctx.streams) s.end();
      await drain(server, opts.drainMs ?? 10_000, log);
      await core.close();
      await closeHttp(bound.metricsServer);
      log.info('stopped', { ms: Math.round(performance.now() - t) });
    })());

  const host = hostOf(opts.listen);
  return {
    port: bound.port,
    address: `${host}:${bound.port}`,
    ...(bound.metricsPort !== undefined ? { metricsPort: bound.metricsPort } : {}),
    ...(web ? { httpPort: web.port } : {}),
    core,
    shutdown,
  };
}

/** HOST of HOST:PORT. */
const hostOf = (address: string): string => address.replace(/:\d+$/, '');

/** Reads the store into the allocator, holding back any write (see bindAndBegin), and logs
 *  what the store noticed on the way. */
async function recover(core: IpamCore, store: Store, log: Logger): Promise<void> {
  const t0 = performance.now();
  const notes = await core.start({ hold: true });
  for (const n of notes)
    log[n.level](n.msg, {
      ...(n.file ? { file: n.file } : {}),
      ...(n.offset !== undefined ? { offset: n.offset } : {}),
      ...(n.bytes !== undefined ? { bytes: n.bytes } : {}),
    });
  log.info('state recovered', { store: store.kind, ms: Math.round(performance.now() - t0) });
}

/** The gRPC server with every service: alloc, resource and admin behind the interceptors
 *  (authentication, metrics), health and reflection. */
function grpcServer(ctx: ServiceContext, health: HealthImplementation): Server {
  const server = new Server({ ...serverOptions(ctx.limits), interceptors: serverInterceptors(ctx) });
  // claim backends by API group: resource and the 2023 alloc rpcs route by header.gvk
  const backends = claimBackends(ctx);
  server.addService(serviceDefinition('alloc'), { ...allocService(ctx), ...claimService(ctx, backends, ALLOC2023_RPCS) });
  server.addService(serviceDefinition('resource'), claimService(ctx, backends, RESOURCE_RPCS));
  // Batch, the largest messages in both directions, has its own decoder and encoder
  // (src/protocol/batch-decoder.ts, batch-encoder.ts); everything else goes through proto-loader.
  const admin = serviceDefinition('admin');
  server.addService(
    { ...admin, Batch: { ...admin.Batch!, requestDeserialize: decodeBatchRequest, responseSerialize: encodeBatchResponse } },
    adminService(ctx),
  );
  health.addToServer(server);
  new ReflectionService(packageDefinition()).addToServer(server);
  return server;
}

interface Bound {
  port: number;
  metricsServer?: HttpServer;
  metricsPort?: number;
}

/**
 * Applies the seed, binds the ports and lets the store write. The store changes nothing on
 * disk until core.begin(), once the ports are bound: a start that fails (port taken, bad
 * seed) leaves the data directory as it found it, and closes what it opened. `begun`: the
 * store writes (a store failure from then on is the running server's).
 */
async function bindAndBegin(server: Server, ctx: ServiceContext, opts: ServerOptions, begun: () => void): Promise<Bound> {
  const bound: Bound = { port: 0 };
  try {
    // Applied to the allocator now (before any client can ask), durable once the store writes.
    const seeding = opts.seed ? applySeed(ctx.core, opts.seed) : undefined;
    bound.port = await bindGrpc(server, opts.listen, credentials(opts.tls));
    if (opts.metrics) {
      const m = await ctx.metrics.listen(opts.metrics, ctx.core);
      bound.metricsServer = m.server;
      bound.metricsPort = m.port;
    }
    await ctx.core.begin();
    begun();
    if (seeding && opts.seed) {
      await seeding;
      logSeed(ctx.log, opts.seed);
    }
    return bound;
  } catch (e) {
    server.forceShutdown();
    await closeHttp(bound.metricsServer);
    await ctx.core.close().catch(() => {});
    throw e;
  }
}

function credentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined);
}

function bindGrpc(server: Server, listen: string, creds: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    server.bindAsync(listen, creds, (err, p) => (err ? reject(listenError(listen, err)) : resolve(p))),
  );
}

function closeHttp(server: HttpServer | undefined): Promise<void> {
  return server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
}

/** Lets calls in flight finish, for at most `ms`; then cancels the rest. */
function drain(server: Server, ms: number, log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn('drain timeout: cancelling calls still in flight');
      server.forceShutdown();
      resolve();
    }, ms);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function logSeed(log: Logger, seed: SeedSpace): void {
  log.info('seed applied', {
    networkInstances: seed.networkInstances.length,
    prefixes: seed.prefixes.length,
    networks: seed.networks.length,
    clusters: seed.clusters.length,
    skipped: seed.skipped,
  });
}

function logServing(log: Logger, opts: ServerOptions, bound: Bound, webPort: number | undefined): void {
  log.info('serving', {
    address: `${hostOf(opts.listen)}:${bound.port}`,
    tls: opts.tls ? (opts.tls.clientCa ? 'mtls' : 'tls') : 'none',
    tokens: opts.tokens ? opts.tokens.size : 0,
    store: opts.store.kind,
    ...(bound.metricsPort !== undefined ? { metrics: `${hostOf(opts.metrics!)}:${bound.metricsPort}` } : {}),
    ...(webPort !== undefined ? { web: `${opts.tls ? 'https' : 'http'}://${hostOf(opts.http!)}:${webPort}/` } : {}),
  });
}

/** grpc-js's bind failure ("No address added out of total 1 resolved errors: [listen
 *  EADDRINUSE: address already in use 127.0.0.1:9090]") as one line that names the address. */
function listenError(listen: string, err: Error): Error {
  let cause = /errors: \[(.*)\]$/s.exec(err.message)?.[1]?.replace(/^listen \w+: /, '') || err.message;
  if (cause.endsWith(` ${listen}`)) cause = cause.slice(0, -listen.length - 1);
  return new Error(`cannot listen on ${listen}: ${cause}`, { cause: err });
}
