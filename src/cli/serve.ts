// `ipam-injector serve`: the shared IPAM server (alloc + resource + admin protocols, health,
// reflection, metrics) over the embedded durable store, or over etcd shared by replicas.
import { readFileSync } from 'node:fs';
import { setLogger as setGrpcLogger } from '@grpc/grpc-js';
import { createIpam, restoreIpam } from '../ipam/index.js';
import { parseTokenFile } from '../server/auth.js';
import { createLogger, type Level, type Logger } from '../server/log.js';
import { parseSeed } from '../server/seed.js';
import { startServer, type RunningServer, type ServerOptions } from '../server/server.js';
import { FileStore } from '../server/store/file-store.js';
import { processCompactor } from '../server/store/compactor.js';
import { MemoryStore } from '../server/store/memory-store.js';
import type { Store } from '../server/store/store.js';
import { LiveIpam } from '../server/live.js';
import type { Forwarding } from '../server/forwarding.js';
import { PLACEMENTS, type Placement } from '../server/store/etcd/leases.js';
import type { PeerTls } from '../server/peers.js';
import { flagUsage, parseFlags, type Flag, type FlagValues } from './flags.js';

const FLAGS = [
  {
    name: 'listen',
    type: 'string',
    default: '127.0.0.1:9090',
    arg: 'HOST:PORT',
    help: 'gRPC address (default 127.0.0.1:9090; port 0 picks one)',
  },
  { name: 'data', type: 'string', default: './ipam-data', arg: 'DIR', help: 'data directory of the file store (default ./ipam-data)' },
  {
    name: 'store',
    type: 'string',
    default: 'file',
    arg: 'file|memory|etcd',
    help: 'file: durable log + snapshots (default); memory: nothing survives;\netcd: state in an etcd cluster shared by several replicas',
  },
  { name: 'etcd-endpoints', type: 'string', arg: 'URL,...', help: 'etcd client URLs (http:// or https://), for --store etcd' },
  {
    name: 'etcd-ca',
    type: 'string',
    usage: '--etcd-ca F --etcd-cert F --etcd-key F',
    help: 'etcd over TLS: CA of the members; client certificate and key',
  },
  { name: 'etcd-cert', type: 'string' },
  { name: 'etcd-key', type: 'string' },
  { name: 'etcd-prefix', type: 'string', arg: 'P', help: "key prefix of this deployment's state (default /ipam)" },
  {
    name: 'peer-listen',
    type: 'string',
    arg: 'HOST:PORT',
    help: 'etcd replicas: take part in write leases (one replica commits per\nnetwork instance; the others forward allocations to it here)',
  },
  {
    name: 'peer-advertise',
    type: 'string',
    arg: 'HOST:PORT',
    help: 'the address other replicas dial (default: the --peer-listen address;\nrequired when that listens on 0.0.0.0 or ::)',
  },
  {
    name: 'peer-cert',
    type: 'string',
    usage: '--peer-cert F --peer-key F --peer-ca F',
    help:
      "peer traffic over mutual TLS: this replica's certificate and key, and\n" +
      "the CA that signs every replica's (without them peer traffic is\n" +
      'plaintext: keep the peer port on the cluster network)',
  },
  { name: 'peer-key', type: 'string' },
  { name: 'peer-ca', type: 'string' },
  {
    name: 'lease-placement',
    type: 'string',
    arg: 'pack|spread',
    help:
      'which replica takes a network instance nobody holds: the one holding\n' +
      'the most (pack, default: one replica commits for all) or the fewest\n' +
      '(spread: each commits for its share); docs/etcd.md, "Placement"',
  },
  {
    name: 'seed',
    type: 'string',
    arg: 'FILE',
    help:
      'space definitions applied at start (owner package "seed"): NetworkInstance,\n' +
      'IPPrefix, and Nephio Network + WorkloadCluster (their derived space)',
  },
  { name: 'tls-cert', type: 'string', usage: '--tls-cert F --tls-key F', help: 'serve TLS' },
  { name: 'tls-key', type: 'string' },
  { name: 'client-ca', type: 'string', arg: 'F', help: 'require client certificates signed by this CA (mTLS)' },
  { name: 'token-file', type: 'string', arg: 'F', help: 'require a bearer token from this file ("TOKEN [PACKAGE]" per line)' },
  { name: 'metrics', type: 'string', arg: 'HOST:PORT', help: 'Prometheus /metrics and /healthz over HTTP' },
  {
    name: 'http',
    type: 'string',
    arg: 'HOST:PORT',
    help: 'read-only web view of the address space (HTTPS with --tls-cert;\nsign-in with a token when --token-file is given)',
  },
  {
    name: 'log-level',
    type: 'string',
    default: 'info',
    arg: 'L',
    help: 'debug|info|warn|error (default info); JSON lines on stderr',
  },
  {
    name: 'repair',
    type: 'boolean',
    default: false,
    help: 'open a log that lost records: keep it up to the loss, set aside what\nfollows (reported at error level)',
  },
  {
    name: 'compact-bytes',
    type: 'string',
    arg: 'N',
    help: 'snapshot + compact when a log segment passes N bytes (default 64 MiB)',
  },
  { name: 'max-message-bytes', type: 'string', arg: 'N', help: 'largest gRPC message (default 4 MiB)' },
  { name: 'max-labels', type: 'string', arg: 'N', help: 'labels per map (default 64)' },
  { name: 'max-batch', type: 'string', arg: 'N', help: 'items per admin Batch (default 10000)' },
  { name: 'help', short: 'h', type: 'boolean', default: false },
] as const satisfies readonly Flag[];

type Flags = FlagValues<typeof FLAGS>;

const USAGE = `ipam-injector serve: the shared IPAM server. One allocator behind the alloc.Allocation,
resource.Resource and admin gRPC APIs, with health checking, reflection and metrics; state in a
durable log (--data), in memory, or in etcd shared by several replicas.

usage: ipam-injector serve [flags]
${flagUsage(FLAGS, 28)}`;

const LEVELS = ['debug', 'info', 'warn', 'error'];

export async function main(argv: string[]): Promise<number> {
  const flags = readCommandLine(argv);
  if (typeof flags === 'number') return flags;
  if (!LEVELS.includes(flags['log-level']!)) {
    process.stderr.write(`serve: --log-level must be debug, info, warn or error\n`);
    return 2;
  }
  const log = createLogger(flags['log-level'] as Level);
  routeGrpcLog(log);
  const lifetime = new Lifetime(log);
  try {
    checkFlags(flags);
    const store = await openStore(flags, lifetime);
    lifetime.running = await startServer(serverOptions(flags, store, lifetime));
  } catch (e) {
    await lifetime.forwarding?.close();
    log.error('cannot start', {
      error: (e as Error).message,
      ...((e as { file?: string }).file ? { file: (e as { file?: string }).file } : {}),
    });
    return 1;
  }
  return lifetime.untilSignal();
}

/** The flags, or the exit code when there is nothing to serve (--help, a usage error). */
function readCommandLine(argv: string[]): Flags | number {
  let flags: Flags;
  try {
    flags = parseFlags(FLAGS, argv, { allowPositionals: false }).values;
  } catch (e) {
    process.stderr.write(`serve: ${(e as Error).message} (ipam-injector serve --help lists the flags)\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return flags;
}

/**
 * grpc-js prints its own "E ..." lines to stderr (a port conflict: "E No address added ...")
 * ahead of ours; what they say reaches us as errors too, so they go to the JSON log at debug.
 */
function routeGrpcLog(log: Logger): void {
  const grpcLine = (m: unknown, ...rest: unknown[]) => log.debug('grpc-js', { message: [m, ...rest].map(String).join(' ') });
  setGrpcLogger({ error: grpcLine, info: grpcLine, debug: grpcLine });
}

/** The server's life after it starts: the running server, peer forwarding, and stopping once. */
class Lifetime {
  running: RunningServer | undefined;
  forwarding: Forwarding | undefined;
  exitCode = 0;
  private stopping = false;
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(readonly log: Logger) {}

  /** A store failure after start (the store may call it while starting: stop then does nothing). */
  fatal(): void {
    this.exitCode = 1;
    void this.stop('store failure');
  }

  async stop(why: string): Promise<void> {
    if (this.stopping || !this.running) return;
    this.stopping = true;
    this.log.info('shutting down', { reason: why });
    try {
      await this.running.shutdown();
      await this.forwarding?.close();
    } catch (e) {
      this.exitCode = 1;
      this.log.error('shutdown failed', { error: (e as Error).message });
    }
    this.resolveDone();
  }

  /** Serves until SIGTERM or SIGINT (or a store failure) has stopped the server; the exit code. */
  async untilSignal(): Promise<number> {
    const onTerm = () => void this.stop('SIGTERM');
    const onInt = () => void this.stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    await this.done;
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    return this.exitCode;
  }
}

/** Flags that make no sense together (or a --store that does not exist): refused before anything opens. */
function checkFlags(flags: Flags): void {
  if (!!flags['tls-cert'] !== !!flags['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  if (flags['client-ca'] && !flags['tls-cert']) throw new Error('--client-ca needs --tls-cert and --tls-key');
  if (!['file', 'memory', 'etcd'].includes(flags.store!)) throw new Error(`--store must be file, memory or etcd, not "${flags.store}"`);
  checkReplicaFlags(flags);
}

/** The etcd and peer flags: only with --store etcd, and the peer ones only with --peer-listen. */
function checkReplicaFlags(flags: Flags): void {
  if (flags.store === 'etcd' && !flags['etcd-endpoints']) throw new Error('--store etcd needs --etcd-endpoints URL,...');
  const etcd = flags['etcd-endpoints'] || flags['etcd-ca'] || flags['etcd-cert'] || flags['etcd-key'] || flags['etcd-prefix'];
  if (flags.store !== 'etcd' && etcd) throw new Error('--etcd-* flags need --store etcd');
  if (flags.store !== 'etcd' && (flags['peer-listen'] || flags['peer-advertise'])) throw new Error('--peer-* flags need --store etcd');
  if (flags['peer-advertise'] && !flags['peer-listen']) throw new Error('--peer-advertise needs --peer-listen');
  if (flags['lease-placement'] && !flags['peer-listen']) throw new Error('--lease-placement needs --peer-listen');
  if ((flags['peer-cert'] || flags['peer-key'] || flags['peer-ca']) && !flags['peer-listen'])
    throw new Error('--peer-cert, --peer-key and --peer-ca need --peer-listen');
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not "${v}"`);
  return n;
}

async function openStore(flags: Flags, lifetime: Lifetime): Promise<Store> {
  if (flags.store === 'memory') return new MemoryStore();
  if (flags.store === 'etcd') return openEtcdStore(flags, lifetime);
  return new FileStore({
    dir: flags.data!,
    repair: flags.repair!,
    compactor: processCompactor(),
    // what happens after start (compactions, segments); recovery notes come with the state
    onNote: (n) => lifetime.running && lifetime.log[n.level](n.msg),
    ...(flags['compact-bytes'] ? { compactBytes: positiveInt('compact-bytes', flags['compact-bytes']) } : {}),
  });
}

/** The etcd store, and with --peer-listen the forwarding endpoint other replicas call. */
async function openEtcdStore(flags: Flags, lifetime: Lifetime): Promise<Store> {
  // loaded only here: the etcd client reads its .proto files when imported
  const { EtcdStore } = await import('../server/store/etcd-store.js');
  // the forwarding endpoint starts first (its address is the store's), and reaches the store once it exists
  const opened: { store?: InstanceType<typeof EtcdStore> } = {};
  if (flags['peer-listen']) {
    const { startForwarding } = await import('../server/forwarding.js');
    lifetime.forwarding = await startForwarding(
      flags['peer-listen'],
      () => opened.store,
      () => lifetime.running?.core,
      peerTls(flags),
    );
    lifetime.log.info('forwarding', { peer: lifetime.forwarding.address });
  }
  const advertise = flags['peer-advertise'] ?? lifetime.forwarding?.address;
  if (advertise && /^(0\.0\.0\.0|\[?::\]?):/.test(advertise))
    throw new Error('--peer-listen on every interface needs --peer-advertise HOST:PORT (the address other replicas dial)');
  opened.store = new EtcdStore({
    endpoints: flags['etcd-endpoints']!.split(',')
      .map((e) => e.trim())
      .filter(Boolean),
    ...(flags['etcd-ca'] ? { caFile: flags['etcd-ca'] } : {}),
    ...(flags['etcd-cert'] ? { certFile: flags['etcd-cert'] } : {}),
    ...(flags['etcd-key'] ? { keyFile: flags['etcd-key'] } : {}),
    ...(flags['etcd-prefix'] ? { prefix: flags['etcd-prefix'] } : {}),
    live: new LiveIpam(),
    ...(advertise ? { peerAddress: advertise } : {}),
    ...(flags['lease-placement'] ? { leasePlacement: placementOf(flags['lease-placement']) } : {}),
    onNote: (n) => lifetime.log[n.level](n.msg),
  });
  return opened.store;
}

function serverOptions(flags: Flags, store: Store, lifetime: Lifetime): ServerOptions {
  return {
    listen: flags.listen!,
    store,
    createIpam: (snapshot) => (snapshot ? restoreIpam(snapshot) : createIpam()),
    log: lifetime.log,
    limits: limitsOf(flags),
    ...(flags.seed ? { seed: parseSeed(readFileSync(flags.seed, 'utf8'), flags.seed) } : {}),
    ...(flags['tls-cert'] ? { tls: serverTls(flags) } : {}),
    ...(flags['token-file'] ? { tokens: parseTokenFile(readFileSync(flags['token-file'], 'utf8')) } : {}),
    ...(flags.metrics ? { metrics: flags.metrics } : {}),
    ...(flags.http ? { http: flags.http } : {}),
    ...(lifetime.forwarding ? { forward: lifetime.forwarding.forward } : {}),
    onFatal: () => lifetime.fatal(),
  };
}

function limitsOf(flags: Flags): ServerOptions['limits'] {
  return {
    ...(flags['max-message-bytes'] ? { maxMessageBytes: positiveInt('max-message-bytes', flags['max-message-bytes']) } : {}),
    ...(flags['max-labels'] ? { maxLabels: positiveInt('max-labels', flags['max-labels']) } : {}),
    ...(flags['max-batch'] ? { maxBatch: positiveInt('max-batch', flags['max-batch']) } : {}),
  };
}

function serverTls(flags: Flags): ServerOptions['tls'] {
  return {
    cert: readFileSync(flags['tls-cert']!),
    key: readFileSync(flags['tls-key']!),
    ...(flags['client-ca'] ? { clientCa: readFileSync(flags['client-ca']) } : {}),
  };
}

// Run directly (`node --import tsx src/cli/serve.ts ...`, as the tests and bench do).
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}

function placementOf(v: string): Placement {
  const p = PLACEMENTS.find((x) => x === v);
  if (!p) throw new Error(`--lease-placement must be ${PLACEMENTS.join(' or ')}, not "${v}"`);
  return p;
}

/** The peer TLS files, read now: all three or none. */
function peerTls(args: { 'peer-cert'?: string; 'peer-key'?: string; 'peer-ca'?: string }): PeerTls | undefined {
  const files = [args['peer-cert'], args['peer-key'], args['peer-ca']];
  if (files.every((f) => !f)) return undefined;
  if (files.some((f) => !f)) throw new Error('--peer-cert, --peer-key and --peer-ca go together');
  const read = (flag: string, f: string) => {
    try {
      return readFileSync(f);
    } catch (e) {
      throw new Error(`${flag} ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  };
  return {
    cert: read('--peer-cert', args['peer-cert']!),
    key: read('--peer-key', args['peer-key']!),
    ca: read('--peer-ca', args['peer-ca']!),
  };
}
