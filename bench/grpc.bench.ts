// gRPC server throughput and latency on loopback, 64 concurrent clients spread over several
// client processes (so the client is not the bottleneck), each run against a fresh server
// process:
//   grpc-noop-c64        alloc.Allocation/Allocation answered by a no-op handler (transport limit)
//   grpc-alloc-c64       the real server, unary Allocation, durable file store (synced writes)
//   grpc-alloc-c64-mem   the real server, unary Allocation, memory store
//   grpc-resource-claim-c64 the real server, unary resource.Resource/Claim with a whole
//                        IPClaim as the original client sends it, durable file store
//   grpc-batch-c64       admin Batch of 100 allocations per call, durable file store, closed loop
//   grpc-batch-c64-paced the same at a fixed offered load (BENCH_GRPC_RATE allocations/s,
//                        default 50,000) with latency measured from the scheduled send time
// Lines: BENCH <name> n=<N> ops_per_s=<X> p50_ms=<A> p99_ms=<B> (N = allocations; for batch
// runs latency is per Batch call), plus `#` lines with context (group commit sizes).
// Env: BENCH_GRPC_N (default 100000), BENCH_GRPC_PROCS (client processes, default 2),
// BENCH_FILTER (names, comma separated substrings), BENCH_SERVER_NODE_ARGS (node flags for the servers),
// BENCH_COMPACT_BYTES (the servers' --compact-bytes).
// Run: npm run bench -- grpc   (or node --import tsx bench/grpc.bench.ts)
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, ServerCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { clientConstructor, serviceDefinition } from '../src/protocol/load.js';
import { serverOptions } from '../src/server/server.js';
import { ProtobufReader } from '../src/protocol/batch-decoder.js';
import { BENCH_SEED, benchInstance } from './space.js';

const root = new URL('..', import.meta.url).pathname;
const self = new URL(import.meta.url).pathname;
const CONCURRENCY = 64;
const BATCH = 100;

type Mode = 'unary' | 'claim' | 'batch';
interface RunCmd {
  cmd: 'run';
  id: number;
  address: string;
  mode: Mode;
  service: 'alloc' | 'admin' | 'resource';
  calls: number;
  concurrency: number;
  warmup: number;
  /** Open loop: calls per second for this process (0: closed loop). */
  rate: number;
  /** Unary: spread the calls over this many network instances (benchInstance(k)); default 1. */
  instances?: number;
}
interface Report {
  start: number;
  end: number;
  lat: number[];
  /** Latencies during warm-up (a fresh server's first second, for paced runs). */
  warmLat: number[];
  errors: number;
  firstError?: string;
}

// ---------------- client process ----------------

function request(mode: Mode, id: number, i: number, instances = 1): unknown {
  if (mode === 'unary') {
    return {
      name: `w${id}-${i}`,
      kind: 'IPClaim',
      labels: { 'ipam-injector.dev/package': 'bench' },
      spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': benchInstance(i % instances), role: 'bench' } },
    };
  }
  if (mode === 'claim') {
    // an IPClaim as the original client marshals it, owner labels in spec.labels
    const name = `w${id}-${i}`;
    return {
      header: CLAIM_HEADER(name),
      spec: `{"apiVersion":"ipam.resource.nephio.org/v1alpha1","kind":"IPClaim","metadata":{"name":"${name}","namespace":"default","creationTimestamp":null},"spec":{"kind":"network","networkInstance":{"name":"vpc","namespace":"default"},"labels":{"nephio.org/gvk":"IPClaim.v1alpha1.ipam.resource.nephio.org","nephio.org/nsn-name":"${name}","nephio.org/nsn-namespace":"default","nephio.org/owner-gvk":"IPClaim.v1alpha1.ipam.resource.nephio.org","nephio.org/owner-nsn-name":"${name}","nephio.org/owner-nsn-namespace":"default"},"selector":{"matchLabels":{"role":"bench"}}},"status":{}}`,
      expiryTime: 'never',
    };
  }
  const requests = [];
  for (let k = 0; k < BATCH; k++) {
    requests.push({
      owner: `default/IPClaim/w${id}-${i}-${k}`,
      networkInstance: { name: 'vpc' },
      kind: 'network',
      selector: { matchLabels: { role: 'bench' } },
    });
  }
  return { package: `bench-${id}`, requests, compact: true };
}

const CLAIM_HEADER = (name: string) => ({
  gvk: { group: 'ipam.resource.nephio.org', version: 'v1alpha1', kind: 'IPClaim' },
  nsn: { namespace: 'default', name },
  ownerGvk: { group: 'ipam-injector.dev', version: 'v1', kind: 'Package' },
  ownerNsn: { namespace: '', name: 'bench' },
});

/** How many outcomes of a BatchResponse are allocations (-1 if any is an error). */
function allAllocations(buf: Buffer): number {
  const r = new ProtobufReader(buf);
  let n = 0;
  while (r.pos < buf.length) {
    const tag = r.varint();
    if (tag >>> 3 !== 1) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.limit(); // an Outcome: allocation = 1, error = 2
    while (r.pos < end) {
      const t = r.varint();
      if (t >>> 3 === 2) return -1;
      r.skip(t & 7);
    }
    n++;
  }
  return n;
}

async function clientMain(): Promise<void> {
  const clients = new Map<string, Client>();
  let go: (() => void) | undefined;
  process.on('message', async (m: RunCmd | { cmd: 'go' } | { cmd: 'exit' }) => {
    if (m.cmd === 'exit') {
      for (const c of clients.values()) c.close();
      process.exit(0);
    }
    if (m.cmd === 'go') return go?.();
    const key = `${m.service} ${m.address}`;
    let client = clients.get(key);
    if (!client) {
      const Ctor = clientConstructor(m.service);
      client = new Ctor(m.address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 });
      clients.set(key, client);
    }
    const answered =
      (ok: () => void, ko: (e: Error) => void) => (e: ServiceError | null, r?: { outcomes?: { error?: { message: string } }[] }) => {
        if (e) return ko(e);
        const bad = r?.outcomes?.find((o) => o.error);
        return bad ? ko(new Error(bad.error!.message)) : ok();
      };
    let one: () => Promise<void>;
    if (m.mode === 'unary' || m.mode === 'claim') {
      const rpc = m.mode === 'claim' ? 'Claim' : 'Allocation';
      const method = (client as unknown as Record<string, (req: unknown, cb: ReturnType<typeof answered>) => void>)[rpc]!.bind(client);
      one = () => new Promise((ok, ko) => method(request(m.mode, m.id, seq++, m.instances), answered(ok, ko)));
    } else {
      // Batches are encoded before the run: encoding 100 requests per call would otherwise
      // take CPU from the server on this machine, which a real client elsewhere would not.
      // The server still decodes, allocates, logs and answers each one in full.
      // Answers are checked without decoding them into objects (the same CPU argument): every
      // outcome must be an allocation; an answer that is not is decoded in full to report it.
      const def = serviceDefinition('admin').Batch!;
      const encoded = Array.from({ length: m.warmup + m.calls }, () => def.requestSerialize(request(m.mode, m.id, seq++)));
      let next = 0;
      const c = client;
      const check = (b: Buffer) => (allAllocations(b) === BATCH ? { outcomes: [] } : def.responseDeserialize(b));
      one = () =>
        new Promise((ok, ko) => c.makeUnaryRequest(def.path, (b: Buffer) => b, check as never, encoded[next++]!, answered(ok, ko)));
    }
    // warm up (JIT, connection, heap), unmeasured; paced runs warm up at their own rate
    const warmLat: number[] = [];
    if (m.rate > 0) await runOpen(one, m.warmup, m.rate, warmLat);
    else await runClosed(one, m.warmup, Math.min(m.concurrency, 8), warmLat);
    const started = new Promise<void>((r) => (go = r));
    process.send!({ cmd: 'ready' });
    await started;
    const lat: number[] = [];
    const start = performance.timeOrigin + performance.now();
    const errors = m.rate > 0 ? await runOpen(one, m.calls, m.rate, lat) : await runClosed(one, m.calls, m.concurrency, lat);
    const end = performance.timeOrigin + performance.now();
    const report: Report = { start, end, lat, warmLat, errors: errors.count, ...(errors.first ? { firstError: errors.first } : {}) };
    process.send!({ cmd: 'done', report });
  });
}
/** Unique owner names across runs of one client process. */
let seq = 0;

async function runClosed(one: () => Promise<void>, calls: number, concurrency: number, lat: number[]) {
  let next = 0;
  const errors = { count: 0, first: undefined as string | undefined };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        next++;
        const t = performance.now();
        try {
          await one();
          lat.push(performance.now() - t);
        } catch (e) {
          errors.count++;
          errors.first ??= (e as Error).message;
        }
      }
    }),
  );
  return errors;
}

/** Fires calls on a fixed schedule, whether or not earlier ones finished; latency counts
 *  from the scheduled time, so a stalled server cannot hide behind fewer sends. */
async function runOpen(one: () => Promise<void>, calls: number, rate: number, lat: number[]) {
  const errors = { count: 0, first: undefined as string | undefined };
  const t0 = performance.now() + 5;
  const pending: Promise<void>[] = [];
  for (let j = 0; j < calls; j++) {
    const at = t0 + (j * 1000) / rate;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      one().then(
        () => void lat.push(performance.now() - at),
        (e) => {
          errors.count++;
          errors.first ??= (e as Error).message;
        },
      ),
    );
  }
  await Promise.all(pending);
  return errors;
}

// ---------------- no-op server process ----------------

async function noopServerMain(): Promise<void> {
  const server = new Server(serverOptions());
  const answer = { allocatedPrefix: '10.0.0.2/11' };
  server.addService(serviceDefinition('alloc'), {
    Allocation: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, answer),
    DeAllocation: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, {}),
  });
  const port = await new Promise<number>((ok, ko) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  process.stderr.write(`{"msg":"serving","address":"127.0.0.1:${port}"}\n`);
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

// ---------------- orchestration ----------------

interface Target {
  proc: ChildProcess;
  address: string;
  metricsPort?: number;
  /** Server histograms summed over measured runs only (scraped after warm-up and at the end). */
  seen: Map<string, Hist>;
}

/** A Prometheus histogram: bucket bounds, cumulative counts, sum. */
interface Hist {
  bounds: string[];
  counts: number[];
  sum: number;
}

function startTarget(args: string[]): Promise<Target> {
  // BENCH_SERVER_NODE_ARGS: extra node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((ok, ko) => {
    proc.stderr!.on('data', (d: Buffer) => {
      log += d;
      const m = /"msg":"serving","address":"([^"]+)"(?:.*"metrics":"[^"]*:(\d+)")?/.exec(log);
      if (m) ok({ proc, address: m[1]!, ...(m[2] ? { metricsPort: Number(m[2]) } : {}), seen: new Map() });
    });
    proc.on('exit', (code) => ko(new Error(`server exited ${code}: ${log}`)));
  });
}

async function stopTarget(t: Target): Promise<void> {
  const exited = new Promise((r) => t.proc.once('exit', r));
  t.proc.kill('SIGTERM');
  await exited;
}

function metrics(port: number): Promise<string> {
  return new Promise((ok, ko) =>
    get(`http://127.0.0.1:${port}/metrics`, (r) => {
      let s = '';
      r.on('data', (d) => (s += d));
      r.on('end', () => ok(s));
    }).on('error', ko),
  );
}

/** The histograms the report reads, as `name` or `name method`. */
const HISTOGRAMS = [
  'ipam_store_flush_duration_seconds',
  'ipam_grpc_request_duration_seconds alloc.Allocation/Allocation',
  'ipam_grpc_request_duration_seconds resource.Resource/Claim',
  'ipam_grpc_request_duration_seconds ipaminjector.admin.v1.Admin/Batch',
];

function parseHist(text: string, key: string): Hist | undefined {
  const [name, method] = key.split(' ');
  const sel = method ? `method="${method}"` : '';
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{${sel}[^}]*le="([^"]+)"\\} (\\d+)$`, 'gm'))];
  if (buckets.length === 0) return undefined;
  const sum = Number(new RegExp(`^${name}_sum(?:\\{${sel}[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { bounds: buckets.map((b) => b[1]!), counts: buckets.map((b) => Number(b[2])), sum };
}

/** Adds what each histogram gained between two scrapes to the target's totals. */
function accumulate(t: Target, before: string, after: string): void {
  for (const key of HISTOGRAMS) {
    const a = parseHist(after, key);
    if (!a) continue;
    const b = parseHist(before, key);
    const acc = t.seen.get(key) ?? { bounds: a.bounds, counts: a.counts.map(() => 0), sum: 0 };
    a.counts.forEach((c, i) => (acc.counts[i]! += c - (b?.counts[i] ?? 0)));
    acc.sum += a.sum - (b?.sum ?? 0);
    t.seen.set(key, acc);
  }
}

/** Mean and p99 (the first bucket bound holding 99%) of an accumulated histogram. */
function quantiles(h: Hist | undefined): { mean: number; p99: string } | undefined {
  const total = h?.counts.at(-1) ?? 0;
  if (!h || !total) return undefined;
  const p99 = h.bounds[h.counts.findIndex((c) => c >= 0.99 * total)]!;
  return { mean: h.sum / total, p99: p99 === '+Inf' ? 'the largest bucket' : `${Number(p99) * 1000} ms` };
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

interface Measured {
  ops: number;
  seconds: number;
  lat: number[];
  warmLat: number[];
}

async function drive(
  children: ChildProcess[],
  target: Target,
  mode: Mode,
  service: 'alloc' | 'admin' | 'resource',
  allocations: number,
  rate: number,
): Promise<Measured> {
  const procs = children.length;
  const perCall = mode === 'batch' ? BATCH : 1;
  const calls = Math.ceil(allocations / perCall);
  const waitFor = (c: ChildProcess, cmd: string) =>
    new Promise<Record<string, unknown>>((ok) => {
      const on = (m: Record<string, unknown>) => {
        if (m.cmd !== cmd) return;
        c.off('message', on);
        ok(m);
      };
      c.on('message', on);
    });
  const ready = children.map((c) => waitFor(c, 'ready'));
  children.forEach((c, id) =>
    c.send({
      cmd: 'run',
      id,
      address: target.address,
      mode,
      service,
      calls: Math.floor(calls / procs) + (id < calls % procs ? 1 : 0),
      concurrency: CONCURRENCY / procs,
      // paced: one second at the offered rate, so the server is measured warm (its first
      // second, JIT and heap growth, is reported apart); closed loops: a fixed number of calls
      warmup: rate > 0 ? Math.ceil(rate / perCall / procs) : mode === 'batch' ? 20 : 500,
      rate: rate / perCall / procs,
    } satisfies RunCmd),
  );
  await Promise.all(ready);
  const before = target.metricsPort ? await metrics(target.metricsPort) : '';
  const done = children.map((c) => waitFor(c, 'done'));
  for (const c of children) c.send({ cmd: 'go' });
  const reports = (await Promise.all(done)).map((m) => m.report as Report);
  if (target.metricsPort) accumulate(target, before, await metrics(target.metricsPort));
  const errors = reports.reduce((n, r) => n + r.errors, 0);
  if (errors) throw new Error(`${errors} calls failed, first: ${reports.find((r) => r.firstError)?.firstError}`);
  const start = Math.min(...reports.map((r) => r.start));
  const end = Math.max(...reports.map((r) => r.end));
  return {
    ops: calls * perCall,
    seconds: (end - start) / 1000,
    lat: reports.flatMap((r) => r.lat),
    warmLat: reports.flatMap((r) => r.warmLat),
  };
}

function summarize(ms: Measured[]): { opsPerSec: number; p50: number; p99: number } {
  const ops = ms.reduce((n, m) => n + m.ops, 0);
  const seconds = ms.reduce((n, m) => n + m.seconds, 0);
  const lat = ms.flatMap((m) => m.lat).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { opsPerSec: ops / seconds, p50: q(0.5), p99: q(0.99) };
}

const fmt = (x: number, d = 2) => x.toFixed(d);

/** CPU seconds (user + system) a process has used so far; NaN where /proc is missing. */
function cpuSeconds(pid: number | undefined, which: 'all' | 'sys' = 'all'): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime, stime in clock ticks (USER_HZ 100)
    return (which === 'sys' ? Number(f[12]) : Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const N = Number(process.env.BENCH_GRPC_N ?? 100_000);
  const procs = Number(process.env.BENCH_GRPC_PROCS ?? 2);
  const rate = Number(process.env.BENCH_GRPC_RATE ?? 50_000);
  const rounds = Number(process.env.BENCH_GRPC_ROUNDS ?? 4);
  const filter = (process.env.BENCH_FILTER ?? '').split(',').filter((s) => s && !'grpc'.includes(s));
  const want = (name: string) => filter.length === 0 || filter.some((f) => name.includes(f));
  const dir = mkdtempSync(join(tmpdir(), 'ipam-bench-'));
  const seed = join(dir, 'seed.yaml');
  writeFileSync(seed, BENCH_SEED);
  // The server as shipped (the esbuild bundle) when it is built, else from source.
  const entry = existsSync(join(root, 'dist/ipam-injector.mjs'))
    ? [join(root, 'dist/ipam-injector.mjs'), 'serve']
    : ['--import', 'tsx', 'src/cli/serve.ts'];
  // BENCH_COMPACT_BYTES: a smaller compaction threshold, so that a run crosses compactions
  const compact = process.env.BENCH_COMPACT_BYTES ? ['--compact-bytes', process.env.BENCH_COMPACT_BYTES] : [];
  const serve = (store: string, data: string) => [
    ...entry,
    '--listen',
    '127.0.0.1:0',
    '--store',
    store,
    '--data',
    data,
    '--seed',
    seed,
    '--metrics',
    '127.0.0.1:0',
    '--log-level',
    'info',
    ...compact,
  ];
  const children = Array.from({ length: procs }, () =>
    fork(self, ['--role', 'client'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const results: Record<string, number> = {};
  const report = async (name: string, method: string, target: Target, ms: Measured[], cpu: number, sys: number) => {
    const r = summarize(ms);
    results[name] = r.opsPerSec;
    console.log(`BENCH ${name} n=${N} ops_per_s=${Math.round(r.opsPerSec)} p50_ms=${fmt(r.p50)} p99_ms=${fmt(r.p99)}`);
    const notes: string[] = [];
    if (!Number.isNaN(cpu))
      notes.push(`server CPU ${fmt((cpu * 1e6) / N, 1)} us/allocation, of which kernel ${fmt((sys * 1e6) / N, 1)} (warm-up included)`);
    if (target.metricsPort) {
      const m = await metrics(target.metricsPort);
      const records = metric(m, 'ipam_store_records_total');
      const compactions = metric(m, 'ipam_store_compactions_total');
      if (compactions > 0) notes.push(`${compactions} compaction(s)`);
      const flushes = metric(m, 'ipam_store_flushes_total');
      if (flushes > 0) {
        notes.push(`${records} records in ${flushes} synced group commits (${fmt(records / flushes, 1)} per flush)`);
        const h = quantiles(target.seen.get('ipam_store_flush_duration_seconds'));
        if (h) notes.push(`flush (synced write) mean ${fmt(h.mean * 1000)} ms, p99 <= ${h.p99}`);
      }
      // The server's own view (handler start to answer): what the client sees beyond it is
      // transport, queueing in front of the handler, and the clients themselves.
      const h = quantiles(target.seen.get(`ipam_grpc_request_duration_seconds ${method}`));
      if (h) notes.push(`server-side latency mean ${fmt(h.mean * 1000)} ms, p99 <= ${h.p99}`);
    }
    if (notes.length) console.log(`# ${name}: ${notes.join('; ')}`);
  };
  try {
    // Unary: the three servers run side by side and are measured in interleaved rounds
    // (rotating order), so that load from anything else on the machine falls on all three
    // alike; each figure sums its rounds.
    const unary = [
      {
        name: 'grpc-noop-c64',
        args: ['--import', 'tsx', self, '--role', 'noop-server'],
        mode: 'unary',
        service: 'alloc',
        method: 'alloc.Allocation/Allocation',
      },
      {
        name: 'grpc-alloc-c64',
        args: serve('file', join(dir, 'alloc')),
        mode: 'unary',
        service: 'alloc',
        method: 'alloc.Allocation/Allocation',
      },
      {
        name: 'grpc-alloc-c64-mem',
        args: serve('memory', join(dir, 'mem')),
        mode: 'unary',
        service: 'alloc',
        method: 'alloc.Allocation/Allocation',
      },
      {
        name: 'grpc-resource-claim-c64',
        args: serve('file', join(dir, 'claim')),
        mode: 'claim',
        service: 'resource',
        method: 'resource.Resource/Claim',
      },
    ].filter((u) => want(u.name)) as { name: string; args: string[]; mode: Mode; service: 'alloc' | 'resource'; method: string }[];
    const targets = await Promise.all(unary.map((u) => startTarget(u.args)));
    try {
      const measured = unary.map(() => [] as Measured[]);
      const cpu = unary.map(() => 0);
      const sys = unary.map(() => 0);
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < unary.length; k++) {
          const i = (k + r) % unary.length;
          const pid = targets[i]!.proc.pid;
          const c0 = cpuSeconds(pid);
          const s0 = cpuSeconds(pid, 'sys');
          measured[i]!.push(await drive(children, targets[i]!, unary[i]!.mode, unary[i]!.service, Math.ceil(N / rounds), 0));
          cpu[i]! += cpuSeconds(pid) - c0;
          sys[i]! += cpuSeconds(pid, 'sys') - s0;
        }
      }
      for (let i = 0; i < unary.length; i++) await report(unary[i]!.name, unary[i]!.method, targets[i]!, measured[i]!, cpu[i]!, sys[i]!);
    } finally {
      await Promise.all(targets.map(stopTarget));
    }
    if (results['grpc-alloc-c64'] && results['grpc-noop-c64']) {
      console.log(
        `# grpc-alloc-c64 / grpc-noop-c64 = ${fmt((100 * results['grpc-alloc-c64']) / results['grpc-noop-c64'], 1)}% (target >= 80%); ${procs} client processes x ${CONCURRENCY / procs} calls in flight, ${rounds} interleaved rounds`,
      );
    }
    if (results['grpc-resource-claim-c64'] && results['grpc-noop-c64']) {
      console.log(
        `# grpc-resource-claim-c64 / grpc-noop-c64 = ${fmt((100 * results['grpc-resource-claim-c64']) / results['grpc-noop-c64'], 1)}% (target >= 80%)`,
      );
    }
    // Batches of 100 on the durable store: closed loop (throughput), then paced (latency at
    // a fixed offered load; with 64 clients in a closed loop, latency is 64 batches of
    // queueing by Little's law whatever the server does).
    for (const b of [
      { name: 'grpc-batch-c64', rate: 0 },
      { name: 'grpc-batch-c64-paced', rate },
    ]) {
      if (!want(b.name)) continue;
      const target = await startTarget(serve('file', join(dir, b.name)));
      try {
        const pid = target.proc.pid;
        const c0 = cpuSeconds(pid);
        const s0 = cpuSeconds(pid, 'sys');
        const m = await drive(children, target, 'batch', 'admin', N, b.rate);
        await report(b.name, 'ipaminjector.admin.v1.Admin/Batch', target, [m], cpuSeconds(pid) - c0, cpuSeconds(pid, 'sys') - s0);
        if (b.rate) {
          const cold = m.warmLat.sort((x, y) => x - y);
          const q = (p: number) => fmt(cold[Math.min(cold.length - 1, Math.floor(p * cold.length))] ?? NaN);
          console.log(
            `# ${b.name}: offered ${b.rate} allocations/s as ${b.rate / BATCH} batches/s from ${CONCURRENCY} clients; latency from the scheduled send time, after 1 s of the same load to warm the fresh server (that first second: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms)`,
          );
        }
      } finally {
        await stopTarget(target);
      }
    }
  } finally {
    for (const c of children) c.send({ cmd: 'exit' });
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv.indexOf('--role') >= 0 ? process.argv[process.argv.indexOf('--role') + 1] : undefined;
if (role === 'client') void clientMain();
else if (role === 'noop-server') void noopServerMain();
else await main();
