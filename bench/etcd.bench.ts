// Allocation throughput and latency of `ipam-injector serve --store etcd` against a 3-member
// etcd cluster (Debian etcd-server) on loopback, 64 concurrent unary Allocation clients over
// several client processes. The client processes are bench/grpc.bench.ts's own (`--role
// client`: same requests, warm-up and latency recording); this file starts etcd and the
// replicas and hands the clients their share.
//   grpc-noop-c64         the same clients against a no-op Allocation handler, in the same run
//                         (the transport's limit; etcd-alloc-c64 is compared with it)
//   etcd-alloc-c64        one replica, 64 clients: what one replica's group commit reaches
//   etcd-alloc-c64-2rep   two replicas, 32 clients each, all from the same subnet: with write
//                         leases one replica commits and the other forwards to it
//                         (BENCH_ETCD_PEERS=0: both commit, racing for the instance; calls that
//                         lose 6 races are counted, not retried)
//   etcd-alloc-c64-2rep-4ni  two replicas, 32 clients each, every client spreading its calls
//                         over four network instances (placement pack: one replica holds all)
//   etcd-alloc-c64-2rep-4ni-spread  the same with --lease-placement spread (each replica holds
//                         the leases of two instances and commits for them)
//   etcd-store-c64        the store without gRPC: IpamCore + EtcdStore in this process, 64
//                         allocations in flight (what the store and etcd can do by themselves)
//   etcd-lost-race-100k   two in-process replicas over 100,000 allocations: time and CPU of
//                         one lost race (the loser's call, from start to its answer)
// Lines: BENCH <name> n=<N> ops_per_s=<X> p50_ms=<A> p99_ms=<B>, plus `#` lines with context
// (transactions, commits per transaction, CPU of the server and of etcd per allocation).
// Env: BENCH_ETCD_N (allocations, default 20000), BENCH_ETCD_PROCS (client processes, default
// 2), BENCH_ETCD_PEERS (0: no write leases), BENCH_FILTER (substrings; `name$`: exactly). Run: npm run bench -- etcd
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricValue, scrapeMetrics } from '../test/support/metrics.js';
import { etcdMissing, etcdVersion, startEtcd, type EtcdCluster } from '../test/support/etcd.js';
import { startReplica, stopReplica, writeSeed, type Replica } from '../test/etcd/support.js';
import { createIpam, restoreIpam } from '../src/ipam/index.js';
import { IpamCore } from '../src/server/core.js';
import { EtcdStore } from '../src/server/store/etcd-store.js';
import { LiveIpam } from '../src/server/live.js';
import { BENCH_SEED, benchSeed } from './space.js';

const root = new URL('..', import.meta.url).pathname;
const CLIENT = join(root, 'bench/grpc.bench.ts');
const CONCURRENCY = 64;

interface Report {
  start: number;
  end: number;
  lat: number[];
  errors: number;
  firstError?: string;
}

function waitFor(c: ChildProcess, cmd: string): Promise<Record<string, unknown>> {
  return new Promise((ok) => {
    const on = (m: Record<string, unknown>) => {
      if (m.cmd !== cmd) return;
      c.off('message', on);
      ok(m);
    };
    c.on('message', on);
  });
}

/** Client process i sends its share of `calls` to targets[i % targets.length]. */
async function drive(children: ChildProcess[], targets: { address: string }[], calls: number, idBase: number, instances = 1) {
  const procs = children.length;
  const ready = children.map((c) => waitFor(c, 'ready'));
  children.forEach((c, i) =>
    c.send({
      cmd: 'run',
      id: idBase + i,
      address: targets[i % targets.length]!.address,
      mode: 'unary',
      service: 'alloc',
      calls: Math.floor(calls / procs) + (i < calls % procs ? 1 : 0),
      concurrency: CONCURRENCY / procs,
      warmup: 300,
      rate: 0,
      instances,
    }),
  );
  await Promise.all(ready);
  const done = children.map((c) => waitFor(c, 'done'));
  for (const c of children) c.send({ cmd: 'go' });
  const reports = (await Promise.all(done)).map((m) => m.report as Report);
  const start = Math.min(...reports.map((r) => r.start));
  const end = Math.max(...reports.map((r) => r.end));
  const lat = reports.flatMap((r) => r.lat).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return {
    ok: lat.length,
    errors: reports.reduce((n, r) => n + r.errors, 0),
    firstError: reports.find((r) => r.firstError)?.firstError,
    seconds: (end - start) / 1000,
    p50: q(0.5),
    p99: q(0.99),
  };
}

/** A quantile of a replica's event loop delay (ipam_event_loop_delay_seconds), in ms. */
const loopDelayMs = (text: string, quantile: string): number =>
  metricValue(text, 'ipam_event_loop_delay_seconds', `quantile="${quantile}"`) * 1000;

/** A replica's /metrics, or '' when it has none or does not answer. */
const metrics = (port: number | undefined): Promise<string> => (port ? scrapeMetrics(port).catch(() => '') : Promise.resolve(''));
const metric = metricValue;

function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds of these processes together. */
const cpuOfAll = (pids: (number | undefined)[]): number => pids.reduce((n: number, p) => n + cpuSeconds(p), 0);

/** Pids of this cluster's etcd processes (found by their data directories). */
function etcdPids(etcd: EtcdCluster): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (etcd.members.some((m) => cmd.includes(m.dataDir))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

const fmt = (x: number, d = 2) => x.toFixed(d);

/** name -> CPU seconds per call of the server(s), etcd and the client processes, and the cores
 *  all of them kept busy: where the machine's two cores went. Servers and etcd together are
 *  what the machine pays for one allocation, which the load of other processes changes far
 *  less than throughput. */
interface CallCpu {
  server: number;
  etcd: number;
  clients: number;
  cores: number;
}
const cpuPerCall: Record<string, CallCpu> = {};

const serversAndEtcd = (c: CallCpu | undefined): number | undefined => c && c.server + c.etcd;

/** The best etcd-alloc-c64 / grpc-noop-c64 this machine allows, when both are CPU bound: a
 *  replica that cost no more CPU than the no-op server, with etcd's and the clients' CPU per
 *  call measured in this run. */
function ceilingLine(): string | undefined {
  const noop = cpuPerCall['grpc-noop-c64'];
  const one = cpuPerCall['etcd-alloc-c64'];
  if (!noop || !one) return undefined;
  const best = (noop.server + noop.clients) / (noop.server + one.etcd + one.clients);
  return `# etcd-alloc-c64 / grpc-noop-c64 at most ${fmt(best)} here: a replica that cost only the no-op server's CPU (${fmt(noop.server * 1e6, 0)} us/call), with etcd's (${fmt(one.etcd * 1e6, 0)}) and the clients' (${fmt(one.clients * 1e6, 0)}) CPU per call of this run; cores busy: no-op ${fmt(noop.cores, 2)}, one replica ${fmt(one.cores, 2)} of 2`;
}

const PEERS = process.env.BENCH_ETCD_PEERS === '0' ? [] : ['--peer-listen', '127.0.0.1:0'];

async function run(
  name: string,
  replicas: number,
  N: number,
  children: ChildProcess[],
  idBase: number,
  dir: string,
  instances = 1,
  extra: string[] = [],
): Promise<number> {
  const etcd: EtcdCluster = await startEtcd({ members: 3 });
  const seed = writeSeed(dir, instances > 1 ? benchSeed(instances) : BENCH_SEED);
  let targets: Replica[] = [];
  try {
    targets = await Promise.all(
      Array.from({ length: replicas }, () =>
        startReplica(etcd.endpoints, ['--seed', seed, '--metrics', '127.0.0.1:0', ...PEERS, ...(PEERS.length ? extra : [])]),
      ),
    );
    const pids = etcdPids(etcd);
    const cpu0 = targets.map((t) => cpuSeconds(t.proc.pid));
    const etcd0 = cpuOfAll(pids);
    const clients0 = cpuOfAll(children.map((c) => c.pid));
    const r = await drive(children, targets, N, idBase, instances);
    const clients = cpuOfAll(children.map((c) => c.pid)) - clients0;
    const perReplica = targets.map((t, i) => cpuSeconds(t.proc.pid) - cpu0[i]!);
    const cpu = perReplica.reduce((n, c) => n + c, 0);
    const etcdCpu = cpuOfAll(pids) - etcd0;
    console.log(`BENCH ${name} n=${r.ok} ops_per_s=${Math.round(r.ok / r.seconds)} p50_ms=${fmt(r.p50)} p99_ms=${fmt(r.p99)}`);
    const notes: string[] = [
      `${replicas} replica${replicas > 1 ? 's' : ''}, ${children.length} client processes x ${CONCURRENCY / children.length} calls in flight, etcd ${etcdVersion()} x3`,
    ];
    let records = 0;
    let flushes = 0;
    let conflicts = 0;
    let turnsAsked = 0;
    let turnsGiven = 0;
    const forwardedBy: number[] = [];
    let txnSeconds = 0;
    const loopDelays: string[] = [];
    for (const t of targets) {
      const m = await metrics(t.metricsPort);
      loopDelays.push(`${fmt(loopDelayMs(m, '0.5'), 1)}/${fmt(loopDelayMs(m, '0.99'), 1)}`);
      txnSeconds += metric(m, 'ipam_store_flush_duration_seconds_sum');
      records += metric(m, 'ipam_store_records_total');
      flushes += metric(m, 'ipam_store_flushes_total');
      conflicts += metric(m, 'ipam_store_conflicts_total') || 0;
      turnsAsked += metric(m, 'ipam_store_turns_asked_total') || 0;
      turnsGiven += metric(m, 'ipam_store_turns_given_total') || 0;
      forwardedBy.push(metric(m, 'ipam_forwarded_total') || 0);
    }
    if (flushes > 0)
      notes.push(
        `${records} commits in ${flushes} etcd transactions (${fmt(records / flushes, 1)} per transaction, ${fmt((txnSeconds * 1000) / flushes, 1)} ms each on average, warm-up included)`,
      );
    if (r.errors) notes.push(`${r.errors} calls failed (${r.firstError})`);
    if (!Number.isNaN(cpu))
      notes.push(
        `server CPU ${fmt((cpu * 1e6) / r.ok, 0)} us/allocation${replicas > 1 ? ` (${perReplica.map((c) => fmt((c * 1e6) / r.ok, 0)).join(' + ')})` : ''}, etcd CPU (3 members) ${fmt((etcdCpu * 1e6) / r.ok, 0)} us/allocation, client processes ${fmt((clients * 1e6) / r.ok, 0)} us/call`,
      );
    notes.push(`event loop delay p50/p99 ${loopDelays.join(', ')} ms`);
    if (conflicts) notes.push(`${conflicts} lost races, ${turnsAsked} turns asked, ${turnsGiven} given`);
    if (replicas > 1)
      notes.push(
        `${forwardedBy.join(' + ')} allocations forwarded to a lease holder${PEERS.length ? '' : ' (no write leases: BENCH_ETCD_PEERS=0)'}`,
      );
    console.log(`# ${name}: ${notes.join('; ')}`);
    cpuPerCall[name] = { server: cpu / r.ok, etcd: etcdCpu / r.ok, clients: clients / r.ok, cores: (cpu + etcdCpu + clients) / r.seconds };
    return r.ok / r.seconds;
  } finally {
    await Promise.all(targets.map((t) => stopReplica(t)));
    await etcd.stop();
  }
}

/** The in-process benchmarks' space: one instance, one /11 subnet the requests select. */
async function seedSubnet(core: IpamCore): Promise<void> {
  await core.mutate((tx) => {
    tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/8' }], 'seed');
    tx.applyPrefix({ networkInstance: { name: 'vpc' }, prefix: '10.0.0.0/11', kind: 'network', owner: 'seed', labels: { role: 'bench' } });
  });
}

/** IpamCore + EtcdStore in process: `N` allocations, 64 in flight. */
async function storeOnly(N: number): Promise<void> {
  const etcd = await startEtcd({ members: 3 });
  const store = new EtcdStore({ endpoints: etcd.endpoints, live: new LiveIpam() });
  const core = new IpamCore({ store, createIpam: (s) => (s ? restoreIpam(s) : createIpam()) });
  try {
    await core.start();
    await seedSubnet(core);
    const one = (i: number) =>
      core.mutate((tx) =>
        tx.allocate({
          owner: `bench|default/IPClaim/s${i}`,
          networkInstance: { name: 'vpc' },
          kind: 'network',
          selector: { matchLabels: { role: 'bench' } },
          labels: { 'ipam-injector.dev/package': 'bench' },
        }),
      );
    for (let i = 0; i < 500; i++) await one(-1 - i); // warm-up
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          const t = performance.now();
          await one(i);
          lat.push(performance.now() - t);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
    console.log(`BENCH etcd-store-c64 n=${N} ops_per_s=${Math.round(N / secs)} p50_ms=${fmt(q(0.5))} p99_ms=${fmt(q(0.99))}`);
    const s = store.stats();
    console.log(
      `# etcd-store-c64: no gRPC; ${s.flushes} etcd transactions (${fmt(s.records / s.flushes, 1)} commits each, warm-up included), process CPU ${fmt((cpu.user + cpu.system) / N, 0)} us/allocation`,
    );
  } finally {
    await core.close();
    await etcd.stop();
  }
}

/** The same clients against grpc.bench.ts's no-op server. */
async function noop(N: number, children: ChildProcess[]): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLIENT, '--role', 'noop-server'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const address = await new Promise<string>((ok, ko) => {
      let log = '';
      proc.stderr!.on('data', (d: Buffer) => {
        log += d;
        const m = /"msg":"serving","address":"([^"]+)"/.exec(log);
        if (m) ok(m[1]!);
      });
      proc.on('exit', (code) => ko(new Error(`no-op server exited ${code}: ${log}`)));
    });
    const cpu0 = cpuSeconds(proc.pid);
    const clients0 = cpuOfAll(children.map((c) => c.pid));
    const r = await drive(children, [{ address }], N, 3000);
    const cpu = cpuSeconds(proc.pid) - cpu0;
    const clients = cpuOfAll(children.map((c) => c.pid)) - clients0;
    console.log(`BENCH grpc-noop-c64 n=${r.ok} ops_per_s=${Math.round(r.ok / r.seconds)} p50_ms=${fmt(r.p50)} p99_ms=${fmt(r.p99)}`);
    console.log(
      `# grpc-noop-c64: server CPU ${fmt((cpu * 1e6) / r.ok, 0)} us/call, client processes ${fmt((clients * 1e6) / r.ok, 0)} us/call`,
    );
    cpuPerCall['grpc-noop-c64'] = { server: cpu / r.ok, etcd: 0, clients: clients / r.ok, cores: (cpu + clients) / r.seconds };
    return r.ok / r.seconds;
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
}

/** Two replicas in this process over `size` allocations; they allocate at the same moment
 *  from the same view, so one loses: the time of the loser's call, and what it cost. */
async function lostRace(size: number): Promise<void> {
  const etcd = await startEtcd({ members: 1 });
  const make = async () => {
    const store = new EtcdStore({ endpoints: etcd.endpoints, live: new LiveIpam() });
    const core = new IpamCore({ store, createIpam: (s) => (s ? restoreIpam(s) : createIpam()) });
    await core.start();
    return { store, core };
  };
  const req = (owner: string) => ({
    owner,
    networkInstance: { name: 'vpc' },
    kind: 'network' as const,
    selector: { matchLabels: { role: 'bench' } },
  });
  const a = await make();
  const b = await make();
  try {
    await seedSubnet(a.core);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < size) {
          const base = next;
          next += 100;
          await a.core.mutate((tx) => {
            for (let i = base; i < Math.min(size, base + 100); i++) tx.allocate(req(`fill-${i}`));
          });
        }
      }),
    );
    while (b.core.ipam.allocationCount() < size) await new Promise((r) => setTimeout(r, 50));
    const times: number[] = [];
    const cpus: number[] = [];
    for (let round = 0; round < 5; round++) {
      const loads = a.store.extra.loads + b.store.extra.loads;
      const conflicts = a.core.counters.conflicts + b.core.counters.conflicts;
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const done = [0, 0];
      await Promise.all(
        [a, b].map((r, i) => r.core.mutate((tx) => tx.allocate(req(`race-${round}-${i}`))).then(() => (done[i] = performance.now() - t0))),
      );
      const cpu = process.cpuUsage(c0);
      if (a.core.counters.conflicts + b.core.counters.conflicts === conflicts) continue; // nobody lost
      times.push(Math.max(...done));
      cpus.push((cpu.user + cpu.system) / 1000);
      if (a.store.extra.loads + b.store.extra.loads !== loads) console.log(`# etcd-lost-race-100k: round ${round} reloaded the state`);
    }
    times.sort((x, y) => x - y);
    cpus.sort((x, y) => x - y);
    const med = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? NaN;
    console.log(`BENCH etcd-lost-race-100k n=${times.length} loser_ms=${fmt(med(times))} cpu_ms=${fmt(med(cpus))}`);
    console.log(
      `# etcd-lost-race-100k: ${size} allocations held; median over ${times.length} lost races of the loser's call (both replicas' CPU in this process), 1 etcd member; state reads: ${a.store.extra.loads + b.store.extra.loads}`,
    );
  } finally {
    await a.core.close();
    await b.core.close();
    await etcd.stop();
  }
}

async function main(): Promise<void> {
  const missing = etcdMissing();
  if (missing) {
    console.error(`etcd bench: ${missing}`);
    process.exit(1);
  }
  if (!existsSync(join(root, 'dist/ipam-injector.mjs')))
    spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  const N = Number(process.env.BENCH_ETCD_N ?? 20_000);
  const procs = Number(process.env.BENCH_ETCD_PROCS ?? 2);
  const filter = (process.env.BENCH_FILTER ?? '').split(',').filter((s) => s && !'etcd'.includes(s));
  // a filter ending in '$' names one benchmark exactly (etcd-alloc-c64$: one replica only)
  const want = (name: string) => filter.length === 0 || filter.some((f) => (f.endsWith('$') ? name === f.slice(0, -1) : name.includes(f)));
  const dir = mkdtempSync(join(tmpdir(), 'ipam-etcd-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true })); // also when stdout closes early
  const children = Array.from({ length: procs }, () =>
    fork(CLIENT, ['--role', 'client'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const rate: Record<string, number> = {};
  const ratio = (a: string, b: string, target: string) => {
    if (rate[a] && rate[b]) console.log(`# ${a} / ${b} = ${fmt(rate[a]! / rate[b]!)} (target ${target})`);
  };
  try {
    if (want('grpc-noop-c64')) rate['grpc-noop-c64'] = await noop(N, children);
    if (want('etcd-alloc-c64')) rate['etcd-alloc-c64'] = await run('etcd-alloc-c64', 1, N, children, 0, dir);
    // (substring filters: etcd-alloc-c64-2rep also picks -4ni)
    if (want('etcd-alloc-c64-2rep')) rate['etcd-alloc-c64-2rep'] = await run('etcd-alloc-c64-2rep', 2, N, children, 1000, dir);
    if (want('etcd-alloc-c64-2rep-4ni'))
      rate['etcd-alloc-c64-2rep-4ni'] = await run('etcd-alloc-c64-2rep-4ni', 2, N, children, 2000, dir, 4);
    if (want('etcd-alloc-c64-2rep-4ni-spread'))
      rate['etcd-alloc-c64-2rep-4ni-spread'] = await run('etcd-alloc-c64-2rep-4ni-spread', 2, N, children, 3000, dir, 4, [
        '--lease-placement',
        'spread',
      ]);
    ratio('etcd-alloc-c64', 'grpc-noop-c64', '>= 0.70');
    const ceiling = ceilingLine();
    if (ceiling) console.log(ceiling);
    ratio('etcd-alloc-c64-2rep', 'etcd-alloc-c64', '>= 0.90');
    ratio('etcd-alloc-c64-2rep-4ni', 'etcd-alloc-c64', '>= 1.00');
    ratio('etcd-alloc-c64-2rep-4ni-spread', 'etcd-alloc-c64', '>= 1.00');
    for (const name of ['etcd-alloc-c64-2rep', 'etcd-alloc-c64-2rep-4ni', 'etcd-alloc-c64-2rep-4ni-spread']) {
      const one = serversAndEtcd(cpuPerCall['etcd-alloc-c64']);
      const it = serversAndEtcd(cpuPerCall[name]);
      if (one && it) console.log(`# CPU per allocation (servers + etcd): ${name} / etcd-alloc-c64 = ${fmt(it / one)}`);
    }
    if (want('etcd-store-c64')) await storeOnly(N);
    if (want('etcd-lost-race-100k')) await lostRace(Number(process.env.BENCH_ETCD_STATE ?? 100_000));
  } finally {
    for (const c of children) c.send({ cmd: 'exit' });
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
