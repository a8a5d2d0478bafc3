// `ipam-injector serve`: the shared IPAM server (alloc + resource + admin protocols, health,
// reflection, metrics) over the embedded durable store, or over etcd shared by replicas.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setLogger as setGrpcLogger } from '@grpc/grpc-js';
import { createIpam, restoreIpam } from '../ipam/index.js';
import { parseTokenFile } from '../server/auth.js';
import { createLogger, type Level } from '../server/log.js';
import { parseSeed } from '../server/seed.js';
import { startServer, type RunningServer } from '../server/server.js';
import { FileStore } from '../server/store/file-store.js';
import { processCompactor } from '../server/store/compactor.js';
import { MemoryStore } from '../server/store/memory-store.js';
import type { Store } from '../server/store/store.js';
import { LiveIpam } from '../server/live.js';
import type { Forwarding } from '../server/forwarding.js';
import { PLACEMENTS, type Placement } from '../server/store/etcd/leases.js';
import type { PeerTls } from '../server/peers.js';

const USAGE = `ipam-injector serve: the shared IPAM server. One allocator behind the alloc.Allocation,
resource.Resource and admin gRPC APIs, with health checking, reflection and metrics; state in a
durable log (--data), in memory, or in etcd shared by several replicas.

usage: ipam-injector serve [flags]
  --listen HOST:PORT        gRPC address (default 127.0.0.1:9090; port 0 picks one)
  --data DIR                data directory of the file store (default ./ipam-data)
  --store file|memory|etcd  file: durable log + snapshots (default); memory: nothing survives;
                            etcd: state in an etcd cluster shared by several replicas
  --etcd-endpoints URL,...  etcd client URLs (http:// or https://), for --store etcd
  --etcd-ca F --etcd-cert F --etcd-key F
                            etcd over TLS: CA of the members; client certificate and key
  --etcd-prefix P           key prefix of this deployment's state (default /ipam)
  --peer-listen HOST:PORT   etcd replicas: take part in write leases (one replica commits per
                            network instance; the others forward allocations to it here)
  --peer-advertise HOST:PORT
                            the address other replicas dial (default: the --peer-listen address;
                            required when that listens on 0.0.0.0 or ::)
  --peer-cert F --peer-key F --peer-ca F
                            peer traffic over mutual TLS: this replica's certificate and key, and
                            the CA that signs every replica's (without them peer traffic is
                            plaintext: keep the peer port on the cluster network)
  --lease-placement pack|spread
                            which replica takes a network instance nobody holds: the one holding
                            the most (pack, default: one replica commits for all) or the fewest
                            (spread: each commits for its share); docs/etcd.md, "Placement"
  --seed FILE               space definitions applied at start (owner package "seed"): NetworkInstance,
                            IPPrefix, and Nephio Network + WorkloadCluster (their derived space)
  --tls-cert F --tls-key F  serve TLS
  --client-ca F             require client certificates signed by this CA (mTLS)
  --token-file F            require a bearer token from this file ("TOKEN [PACKAGE]" per line)
  --metrics HOST:PORT       Prometheus /metrics and /healthz over HTTP
  --http HOST:PORT          read-only web view of the address space (HTTPS with --tls-cert;
                            sign-in with a token when --token-file is given)
  --log-level L             debug|info|warn|error (default info); JSON lines on stderr
  --repair                  open a log that lost records: keep it up to the loss, set aside what
                            follows (reported at error level)
  --compact-bytes N         snapshot + compact when a log segment passes N bytes (default 64 MiB)
  --max-message-bytes N     largest gRPC message (default 4 MiB)
  --max-labels N            labels per map (default 64)
  --max-batch N             items per admin Batch (default 10000)`;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', default: '127.0.0.1:9090' },
        data: { type: 'string', default: './ipam-data' },
        store: { type: 'string', default: 'file' },
        'etcd-endpoints': { type: 'string' },
        'etcd-ca': { type: 'string' },
        'etcd-cert': { type: 'string' },
        'etcd-key': { type: 'string' },
        'etcd-prefix': { type: 'string' },
        'peer-listen': { type: 'string' },
        'peer-advertise': { type: 'string' },
        'lease-placement': { type: 'string' },
        'peer-cert': { type: 'string' },
        'peer-key': { type: 'string' },
        'peer-ca': { type: 'string' },
        seed: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'client-ca': { type: 'string' },
        'token-file': { type: 'string' },
        metrics: { type: 'string' },
        http: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        repair: { type: 'boolean', default: false },
        'compact-bytes': { type: 'string' },
        'max-message-bytes': { type: 'string' },
        'max-labels': { type: 'string' },
        'max-batch': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    process.stderr.write(`serve: ${(e as Error).message} (ipam-injector serve --help lists the flags)\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const level = args['log-level'] as Level;
  if (!['debug', 'info', 'warn', 'error'].includes(level)) {
    process.stderr.write(`serve: --log-level must be debug, info, warn or error\n`);
    return 2;
  }
  const log = createLogger(level);
  // grpc-js prints its own "E ..." lines to stderr (a port conflict: "E No address added ...")
  // ahead of ours; what they say reaches us as errors too, so they go to the JSON log at debug.
  const grpcLine = (m: unknown, ...rest: unknown[]) => log.debug('grpc-js', { message: [m, ...rest].map(String).join(' ') });
  setGrpcLogger({ error: grpcLine, info: grpcLine, debug: grpcLine });
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, not "${v}"`);
    return n;
  };

  let running: RunningServer | undefined;
  let forwarding: Forwarding | undefined;
  // (before startServer: a store failure while starting calls onFatal -> stop)
  let stopping = false;
  let exitCode = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  try {
    if (!!args['tls-cert'] !== !!args['tls-key']) throw new Error('--tls-cert and --tls-key go together');
    if (args['client-ca'] && !args['tls-cert']) throw new Error('--client-ca needs --tls-cert and --tls-key');
    let store: Store;
    if (args.store === 'file') {
      store = new FileStore({
        dir: args.data!,
        repair: args.repair!,
        compactor: processCompactor(),
        // what happens after start (compactions, segments); recovery notes come with the state
        onNote: (n) => running && log[n.level](n.msg),
        ...(args['compact-bytes'] ? { compactBytes: int('compact-bytes', args['compact-bytes'])! } : {}),
      });
    } else if (args.store === 'memory') {
      store = new MemoryStore();
    } else if (args.store === 'etcd') {
      if (!args['etcd-endpoints']) throw new Error('--store etcd needs --etcd-endpoints URL,...');
      // loaded only here: the etcd client reads its .proto files when imported
      const { EtcdStore } = await import('../server/store/etcd-store.js');
      let etcdStore: InstanceType<typeof EtcdStore> | undefined;
      if (args['peer-listen']) {
        const { startForwarding } = await import('../server/forwarding.js');
        forwarding = await startForwarding(
          args['peer-listen'],
          () => etcdStore,
          () => running?.core,
          peerTls(args),
        );
        log.info('forwarding', { peer: forwarding.address });
      }
      const advertise = args['peer-advertise'] ?? forwarding?.address;
      if (advertise && /^(0\.0\.0\.0|\[?::\]?):/.test(advertise))
        throw new Error('--peer-listen on every interface needs --peer-advertise HOST:PORT (the address other replicas dial)');
      store = etcdStore = new EtcdStore({
        endpoints: args['etcd-endpoints']
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean),
        ...(args['etcd-ca'] ? { caFile: args['etcd-ca'] } : {}),
        ...(args['etcd-cert'] ? { certFile: args['etcd-cert'] } : {}),
        ...(args['etcd-key'] ? { keyFile: args['etcd-key'] } : {}),
        ...(args['etcd-prefix'] ? { prefix: args['etcd-prefix'] } : {}),
        live: new LiveIpam(),
        ...(advertise ? { peerAddress: advertise } : {}),
        ...(args['lease-placement'] ? { leasePlacement: placementOf(args['lease-placement']) } : {}),
        onNote: (n) => log[n.level](n.msg),
      });
    } else {
      throw new Error(`--store must be file, memory or etcd, not "${args.store}"`);
    }
    if (
      args.store !== 'etcd' &&
      (args['etcd-endpoints'] || args['etcd-ca'] || args['etcd-cert'] || args['etcd-key'] || args['etcd-prefix'])
    ) {
      throw new Error('--etcd-* flags need --store etcd');
    }
    if (args.store !== 'etcd' && (args['peer-listen'] || args['peer-advertise'])) throw new Error('--peer-* flags need --store etcd');
    if (args['peer-advertise'] && !args['peer-listen']) throw new Error('--peer-advertise needs --peer-listen');
    if (args['lease-placement'] && !args['peer-listen']) throw new Error('--lease-placement needs --peer-listen');
    if ((args['peer-cert'] || args['peer-key'] || args['peer-ca']) && !args['peer-listen'])
      throw new Error('--peer-cert, --peer-key and --peer-ca need --peer-listen');
    const limits = {
      ...(args['max-message-bytes'] ? { maxMessageBytes: int('max-message-bytes', args['max-message-bytes'])! } : {}),
      ...(args['max-labels'] ? { maxLabels: int('max-labels', args['max-labels'])! } : {}),
      ...(args['max-batch'] ? { maxBatch: int('max-batch', args['max-batch'])! } : {}),
    };
    running = await startServer({
      listen: args.listen!,
      store,
      createIpam: (snapshot) => (snapshot ? restoreIpam(snapshot) : createIpam()),
      log,
      limits,
      ...(args.seed ? { seed: parseSeed(readFileSync(args.seed, 'utf8'), args.seed) } : {}),
      ...(args['tls-cert']
        ? {
            tls: {
              cert: readFileSync(args['tls-cert']),
              key: readFileSync(args['tls-key']!),
              ...(args['client-ca'] ? { clientCa: readFileSync(args['client-ca']) } : {}),
            },
          }
        : {}),
      ...(args['token-file'] ? { tokens: parseTokenFile(readFileSync(args['token-file'], 'utf8')) } : {}),
      ...(args.metrics ? { metrics: args.metrics } : {}),
      ...(args.http ? { http: args.http } : {}),
      ...(forwarding ? { forward: forwarding.forward } : {}),
      onFatal: () => {
        exitCode = 1;
        void stop('store failure');
      },
    });
  } catch (e) {
    await forwarding?.close();
    log.error('cannot start', {
      error: (e as Error).message,
      ...((e as { file?: string }).file ? { file: (e as { file?: string }).file } : {}),
    });
    return 1;
  }

  async function stop(why: string): Promise<void> {
    if (stopping || !running) return;
    stopping = true;
    log.info('shutting down', { reason: why });
    try {
      await running.shutdown();
      await forwarding?.close();
    } catch (e) {
      exitCode = 1;
      log.error('shutdown failed', { error: (e as Error).message });
    }
    resolveDone();
  }
  const onTerm = () => void stop('SIGTERM');
  const onInt = () => void stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  await done;
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  return exitCode;
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
