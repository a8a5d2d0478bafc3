// Prometheus text exposition (format 0.0.4), written by hand: a few counters, one latency
// histogram per method, and gauges computed at scrape time from the allocator.
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { IpamCore } from './core.js';
import { status } from '@grpc/grpc-js';
import { FLUSH_BUCKETS } from './store/store.js';

/** How often the event loop's delay is sampled (ms). */
const LOOP_RESOLUTION_MS = 10;
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Per-prefix utilization series are capped so a huge space cannot blow up a scrape. */
const MAX_PREFIX_SERIES = 1000;

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length + 1).fill(0);
  sum = 0;
  n = 0;
  observe(v: number): void {
    let i = 0;
    while (i < BUCKETS.length && v > BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.n++;
  }
}

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

class MethodStats {
  readonly codes = new Array<number>(17).fill(0); // gRPC status codes 0..16
  readonly latency = new Histogram();
}

export class Metrics {
  private readonly methods = new Map<string, MethodStats>();

  observe(method: string, code: number, seconds: number): void {
    let m = this.methods.get(method);
    if (!m) this.methods.set(method, (m = new MethodStats()));
    m.codes[code] = (m.codes[code] ?? 0) + 1;
    m.latency.observe(seconds);
  }

  /** The exposition text: the calls, then the store, then the allocator's state. */
  render(core: IpamCore, loop?: IntervalHistogram): string {
    const out: string[] = [];
    this.renderCalls(out);
    if (loop) renderLoopDelay(out, loop);
    renderCounters(out, core);
    renderStore(out, core);
    out.push('# HELP ipam_up 1 while the server can make changes durable.', '# TYPE ipam_up gauge', `ipam_up ${core.healthy ? 1 : 0}`);
    if (core.healthy && core.ipam) renderSpace(out, core.ipam);
    return `${out.join('\n')}\n`;
  }

  /** Requests by method and status code, and their latency. */
  private renderCalls(out: string[]): void {
    out.push('# HELP ipam_grpc_requests_total gRPC requests by method and status code.', '# TYPE ipam_grpc_requests_total counter');
    for (const [method, m] of this.methods) {
      m.codes.forEach((n, code) => {
        if (n > 0) out.push(`ipam_grpc_requests_total{method="${esc(method)}",code="${status[code] ?? code}"} ${n}`);
      });
    }
    out.push('# HELP ipam_grpc_request_duration_seconds gRPC request latency.', '# TYPE ipam_grpc_request_duration_seconds histogram');
    for (const [method, { latency: h }] of this.methods) {
      let cum = 0;
      BUCKETS.forEach((b, i) => {
        cum += h.counts[i]!;
        out.push(`ipam_grpc_request_duration_seconds_bucket{method="${esc(method)}",le="${b}"} ${cum}`);
      });
      out.push(`ipam_grpc_request_duration_seconds_bucket{method="${esc(method)}",le="+Inf"} ${h.n}`);
      out.push(`ipam_grpc_request_duration_seconds_sum{method="${esc(method)}"} ${h.sum}`);
      out.push(`ipam_grpc_request_duration_seconds_count{method="${esc(method)}"} ${h.n}`);
    }
  }

  /** Serves /metrics (and /healthz) on host:port; resolves with the bound port. */
  listen(address: string, core: IpamCore): Promise<{ server: Server; port: number }> {
    const { host, port } = splitHostPort(address);
    // what every call and every answer from the store waits for before it is handled
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loop.enable();
    const server = createServer((req, res) => {
      if (req.url === '/metrics') {
        let body: string;
        try {
          body = this.render(core, loop);
        } catch (e) {
          res.writeHead(500).end(String((e as Error).message));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
      } else if (req.url === '/healthz') {
        res.writeHead(core.healthy ? 200 : 503).end(core.healthy ? 'ok\n' : 'unavailable\n');
      } else {
        res.writeHead(404).end('not found\n');
      }
    });
    server.once('close', () => loop.disable());
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address();
        resolve({ server, port: typeof a === 'object' && a ? a.port : port });
      });
    });
  }
}

/** The event loop's delay since the metrics server started (a summary: quantiles, sum, count). */
function renderLoopDelay(out: string[], loop: IntervalHistogram): void {
  // a sample is the time between two timer ticks: the resolution plus the delay
  const secs = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS) / 1e3 : 0);
  out.push(
    "# HELP ipam_event_loop_delay_seconds Delay of the server's event loop: what each call and each answer from the store waits before it is handled.",
    '# TYPE ipam_event_loop_delay_seconds summary',
  );
  for (const q of [0.5, 0.9, 0.99]) out.push(`ipam_event_loop_delay_seconds{quantile="${q}"} ${secs(loop.percentile(q * 100))}`);
  out.push(`ipam_event_loop_delay_seconds_sum ${secs(loop.mean) * loop.count}`, `ipam_event_loop_delay_seconds_count ${loop.count}`);
}

/** What the allocator has done since the start. */
function renderCounters(out: string[], core: IpamCore): void {
  const c = core.counters;
  out.push(
    '# HELP ipam_allocations_made_total Allocations made (new, durable).',
    '# TYPE ipam_allocations_made_total counter',
    `ipam_allocations_made_total ${c.allocated}`,
  );
  out.push(
    '# HELP ipam_allocations_released_total Allocations released.',
    '# TYPE ipam_allocations_released_total counter',
    `ipam_allocations_released_total ${c.released}`,
  );
  out.push(
    '# HELP ipam_store_conflicts_total Transactions retried after a store conflict.',
    '# TYPE ipam_store_conflicts_total counter',
    `ipam_store_conflicts_total ${c.conflicts}`,
  );
  if (c.forwarded)
    out.push(
      "# HELP ipam_forwarded_total Allocations committed by the replica holding their network instance's write lease.",
      '# TYPE ipam_forwarded_total counter',
      `ipam_forwarded_total ${c.forwarded}`,
    );
}

/** What the store has done: commits, syncs, turns, compactions. */
function renderStore(out: string[], core: IpamCore): void {
  const s = core.stats();
  out.push('# TYPE ipam_store_commits_total counter', `ipam_store_commits_total{store="${core.storeKind}"} ${s.commits}`);
  out.push('# TYPE ipam_store_records_total counter', `ipam_store_records_total{store="${core.storeKind}"} ${s.records}`);
  out.push(
    '# HELP ipam_store_flushes_total Disk syncs (one per group commit).',
    '# TYPE ipam_store_flushes_total counter',
    `ipam_store_flushes_total{store="${core.storeKind}"} ${s.flushes}`,
  );
  if (s.turns) {
    out.push(
      '# HELP ipam_store_turns_asked_total Times this replica, losing races in a row, asked the others to hold back.',
      '# TYPE ipam_store_turns_asked_total counter',
      `ipam_store_turns_asked_total{store="${core.storeKind}"} ${s.turns.asked}`,
    );
    out.push(
      '# HELP ipam_store_turns_given_total Times this replica held back its transactions for another one.',
      '# TYPE ipam_store_turns_given_total counter',
      `ipam_store_turns_given_total{store="${core.storeKind}"} ${s.turns.given}`,
    );
  }
  if (s.flushSeconds) {
    out.push(
      '# HELP ipam_store_flush_duration_seconds Time of one group commit (a synced write).',
      '# TYPE ipam_store_flush_duration_seconds histogram',
    );
    let cum = 0;
    FLUSH_BUCKETS.forEach((b, i) => {
      cum += s.flushSeconds!.counts[i]!;
      out.push(`ipam_store_flush_duration_seconds_bucket{store="${core.storeKind}",le="${b}"} ${cum}`);
    });
    cum += s.flushSeconds.counts[FLUSH_BUCKETS.length]!;
    out.push(`ipam_store_flush_duration_seconds_bucket{store="${core.storeKind}",le="+Inf"} ${cum}`);
    out.push(`ipam_store_flush_duration_seconds_sum{store="${core.storeKind}"} ${s.flushSeconds.sum}`);
    out.push(`ipam_store_flush_duration_seconds_count{store="${core.storeKind}"} ${cum}`);
  }
  out.push('# TYPE ipam_store_bytes_total counter', `ipam_store_bytes_total{store="${core.storeKind}"} ${s.bytes}`);
  out.push('# TYPE ipam_store_compactions_total counter', `ipam_store_compactions_total{store="${core.storeKind}"} ${s.compactions}`);
}

/** What the allocator holds now, and how full each operator prefix is (capped). */
function renderSpace(out: string[], ipam: NonNullable<IpamCore['ipam']>): void {
  out.push(
    '# HELP ipam_allocations Allocations currently held.',
    '# TYPE ipam_allocations gauge',
    `ipam_allocations ${ipam.allocationCount()}`,
  );
  out.push(
    '# HELP ipam_prefix_addresses Addresses of an operator prefix, by state (used, free, total).',
    '# TYPE ipam_prefix_addresses gauge',
    '# HELP ipam_prefix_utilization_ratio Used / total addresses of an operator prefix.',
    '# TYPE ipam_prefix_utilization_ratio gauge',
  );
  let n = 0;
  for (const p of ipam.listPrefixes()) {
    if (n++ >= MAX_PREFIX_SERIES) break;
    let u;
    try {
      u = ipam.utilization(p.networkInstance, p.prefix);
    } catch {
      continue;
    }
    const l = `network_instance="${esc(`${p.networkInstance.namespace}/${p.networkInstance.name}`)}",prefix="${esc(p.prefix)}",kind="${p.kind}"`;
    out.push(`ipam_prefix_addresses{${l},state="used"} ${u.used}`);
    out.push(`ipam_prefix_addresses{${l},state="free"} ${u.free}`);
    out.push(`ipam_prefix_addresses{${l},state="total"} ${u.total}`);
    const total = BigInt(u.total);
    // ratio in parts per million, exact for any size, then as a float
    const ratio = total === 0n ? 0 : Number((BigInt(u.used) * 1_000_000n) / total) / 1_000_000;
    out.push(`ipam_prefix_utilization_ratio{${l}} ${ratio}`);
  }
}

export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`address "${address}" is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}
