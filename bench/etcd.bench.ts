// Allocation throughput and latency of `ipam-injector serve --store etcd` against a 3-member
// etcd cluster (Debian etcd-server) on loopback, 64 concurrent unary Allocation clients over
// several client processes. The client processes are bench/grpc.bench.ts's own (`--role
// client`: same requests, warm-up and latency recording); this file starts etcd and the
// replicas and hands the clients their share.
//   etcd-alloc-c64        one replica, 64 clients: what one replica's group commit reaches
//   etcd-alloc-c64-2rep   two replicas, 32 clients each, all from the same subnet: the cost of
//                         two replicas racing for one network instance (lost races reload and
//                         retry; calls that still lose are counted, not retried)
//   etcd-store-c64        the store without gRPC: IpamCore + EtcdStore in this process, 64
//                         allocations in flight (what the store and etcd can do by themselves)
// Lines: BENCH <name> n=<N> ops_per_s=<X> p50_ms=<A> p99_ms=<B>, plus `#` lines with context
// (transactions, commits per transaction, CPU of the server and of etcd per allocation).
// Env: BENCH_ETCD_N (allocations, default 20000), BENCH_ETCD_PROCS (client processes, default
// 2), BENCH_FILTER. Run: npm run bench -- etcd
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdMissing, etcdVersion, startEtcd, type EtcdCluster } from '../test/support/etcd.js';
import { startReplica, stopReplica, writeSeed, type Replica } from '../test/etcd/support.js';
import { createIpam, restoreIpam } from '../src/ipam/index.js';
import { IpamCore } from '../src/server/core.js';
import { EtcdStore } from '../src/server/store/etcd-store.js';
import { LiveIpam } from '../src/server/live.js';
import { BENCH_SEED } from './space.js';

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
async function drive(children: ChildProcess[], targets: Replica[], calls: number, idBase: number) {
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

function metrics(port: number | undefined): Promise<string> {
  if (!port) return Promise.resolve('');
  return new Promise((ok) =>
    get(`http://127.0.0.1:${port}/metrics`, (r) => {
      let s = '';
      r.on('data', (d) => (s += d));
      r.on('end', () => ok(s));
    }).on('error', () => ok('')),
  );
}
const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
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

async function run(name: string, replicas: number, N: number, children: ChildProcess[], idBase: number, dir: string): Promise<void> {
  const etcd: EtcdCluster = await startEtcd({ members: 3 });
  const seed = writeSeed(dir, BENCH_SEED);
  let targets: Replica[] = [];
  try {
    targets = await Promise.all(Array.from({ length: replicas }, () => startReplica(etcd.endpoints, ['--seed', seed, '--metrics', '127.0.0.1:0'])));
    const pids = etcdPids(etcd);
    const cpu0 = targets.map((t) => cpuSeconds(t.proc.pid));
    const etcd0 = pids.reduce((n, p) => n + cpuSeconds(p), 0);
    const r = await drive(children, targets, N, idBase);
    const cpu = targets.reduce((n, t, i) => n + cpuSeconds(t.proc.pid) - cpu0[i]!, 0);
    const etcdCpu = pids.reduce((n, p) => n + cpuSeconds(p), 0) - etcd0;
    console.log(`BENCH ${name} n=${r.ok} ops_per_s=${Math.round(r.ok / r.seconds)} p50_ms=${fmt(r.p50)} p99_ms=${fmt(r.p99)}`);
    const notes: string[] = [`${replicas} replica${replicas > 1 ? 's' : ''}, ${children.length} client processes x ${CONCURRENCY / children.length} calls in flight, etcd ${etcdVersion()} x3`];
    let records = 0;
    let flushes = 0;
    let conflicts = 0;
    let turnsAsked = 0;
    let turnsGiven = 0;
    let txnSeconds = 0;
    for (const t of targets) {
      const m = await metrics(t.metricsPort);
      txnSeconds += metric(m, 'ipam_store_flush_duration_seconds_sum');
      records += metric(m, 'ipam_store_records_total');
      flushes += metric(m, 'ipam_store_flushes_total');
      conflicts += metric(m, 'ipam_store_conflicts_total') || 0;
      turnsAsked += metric(m, 'ipam_store_turns_asked_total') || 0;
      turnsGiven += metric(m, 'ipam_store_turns_given_total') || 0;
    }
    if (flushes > 0) notes.push(`${records} commits in ${flushes} etcd transactions (${fmt(records / flushes, 1)} per transaction, ${fmt((txnSeconds * 1000) / flushes, 1)} ms each on average, warm-up included)`);
    if (r.errors) notes.push(`${r.errors} calls failed (${r.firstError})`);
    if (!Number.isNaN(cpu)) notes.push(`server CPU ${fmt((cpu * 1e6) / r.ok, 0)} us/allocation, etcd CPU (3 members) ${fmt((etcdCpu * 1e6) / r.ok, 0)} us/allocation`);
    if (conflicts) notes.push(`${conflicts} lost races, ${turnsAsked} turns asked, ${turnsGiven} given`);
    console.log(`# ${name}: ${notes.join('; ')}`);
  } finally {
    await Promise.all(targets.map((t) => stopReplica(t)));
    await etcd.stop();
  }
}

/** IpamCore + EtcdStore in process: `N` allocations, 64 in flight. */
async function storeOnly(N: number): Promise<void> {
  const etcd = await startEtcd({ members: 3 });
  const store = new EtcdStore({ endpoints: etcd.endpoints, live: new LiveIpam() });
  const core = new IpamCore({ store, createIpam: (s) => (s ? restoreIpam(s) : createIpam()) });
  try {
    await core.start();
    await core.mutate((tx) => {
      tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/8' }], 'seed');
      tx.applyPrefix({ networkInstance: { name: 'vpc' }, prefix: '10.0.0.0/11', kind: 'network', owner: 'seed', labels: { role: 'bench' } });
    });
    const one = (i: number) => core.mutate((tx) => tx.allocate({ owner: `bench|default/IPClaim/s${i}`, networkInstance: { name: 'vpc' }, kind: 'network', selector: { matchLabels: { role: 'bench' } }, labels: { 'ipam-injector.dev/package': 'bench' } }));
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
    console.log(`# etcd-store-c64: no gRPC; ${s.flushes} etcd transactions (${fmt(s.records / s.flushes, 1)} commits each, warm-up included), process CPU ${fmt((cpu.user + cpu.system) / N, 0)} us/allocation`);
  } finally {
    await core.close();
    await etcd.stop();
  }
}

async function main(): Promise<void> {
  const missing = etcdMissing();
  if (missing) {
    console.error(`etcd bench: ${missing}`);
    process.exit(1);
  }
  if (!existsSync(join(root, 'dist/ipam-injector.mjs'))) spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  const N = Number(process.env.BENCH_ETCD_N ?? 20_000);
  const procs = Number(process.env.BENCH_ETCD_PROCS ?? 2);
  const filter = (process.env.BENCH_FILTER ?? '').split(',').filter((s) => s && !'etcd'.includes(s));
  const want = (name: string) => filter.length === 0 || filter.some((f) => name.includes(f));
  const dir = mkdtempSync(join(tmpdir(), 'ipam-etcd-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true })); // also when stdout closes early
  const children = Array.from({ length: procs }, () => fork(CLIENT, ['--role', 'client'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  try {
    if (want('etcd-alloc-c64')) await run('etcd-alloc-c64', 1, N, children, 0, dir);
    if (want('etcd-alloc-c64-2rep')) await run('etcd-alloc-c64-2rep', 2, Math.min(N, Number(process.env.BENCH_ETCD_2REP_N ?? 5000)), children, 1000, dir);
    if (want('etcd-store-c64')) await storeOnly(N);
  } finally {
    for (const c of children) c.send({ cmd: 'exit' });
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
