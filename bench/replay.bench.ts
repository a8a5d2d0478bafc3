// What a replica that follows another one pays per replayed allocation, without etcd or gRPC:
// the writer's journals (etcd/journal.ts, as its transactions write them) are handed to the
// follower as the etcd watch delivers them, and the follower decodes them, replays their
// records into the server's allocator (IpamCore, through the store's watch) and updates its
// mirror. The etcd client's own decoding of the watch stream is not included.
//   replay-follow   N allocations (the gRPC bench's requests: a host address each, owner
//                   labels as the alloc service stores them), 30 commits per transaction
// Lines: BENCH <name> n=<N> us_per_op=<median over runs> cpu_us_per_op=<median>.
// Env: BENCH_REPLAY_N (allocations, default 20000), BENCH_REPLAY_RUNS (default 7).
// Run: npm run bench -- replay
import type { IWatchResponse } from 'etcd3';
import { createIpam, ownerLabels, restoreIpam } from '../src/ipam/index.js';
import type { AllocationRequest } from '../src/ipam/index.js';
import { IpamCore } from '../src/server/core.js';
import { LiveIpam } from '../src/server/live.js';
import { encodeJournal, type JournalEntry } from '../src/server/store/etcd/journal.js';
import { Follower } from '../src/server/store/etcd/follower.js';
import { Keys } from '../src/server/store/etcd/keys.js';
import { Mirror } from '../src/server/store/etcd/state.js';
import { Turns } from '../src/server/store/etcd/turns.js';
import type { Op } from '../src/server/store/ops.js';
import type { Store } from '../src/server/store/store.js';

const N = Number(process.env.BENCH_REPLAY_N ?? 20000);
const RUNS = Number(process.env.BENCH_REPLAY_RUNS ?? 7);
const PER_TXN = 30;
const NI = { name: 'vpc', namespace: 'default' };
const INSTANCE = 'default/vpc';

const SEED: Op[] = [
  { op: 'applyNetworkInstance', ref: NI, prefixes: [{ prefix: '10.0.0.0/8' }], owner: 'seed' },
  { op: 'applyPrefix', spec: { networkInstance: NI, prefix: '10.0.0.0/11', kind: 'network', owner: 'seed', labels: { role: 'bench' } } },
];

/** Request i as the alloc service builds it from the gRPC bench's IPClaim. */
function request(i: number): AllocationRequest {
  const name = `w1-${i}`;
  const labels: Record<string, string> = {
    'nephio.org/gvk': 'IPClaim.v1alpha1.ipam.resource.nephio.org',
    'nephio.org/nsn-name': name,
    'nephio.org/nsn-namespace': 'default',
    'nephio.org/owner-gvk': 'IPClaim.v1alpha1.ipam.resource.nephio.org',
    'nephio.org/owner-nsn-name': name,
    'nephio.org/owner-nsn-namespace': 'default',
  };
  const own = ownerLabels({ apiVersion: 'ipam.nephio.org/v1alpha1', kind: 'IPAllocation', name, namespace: 'default', labels });
  for (const [k, v] of Object.entries(own)) if (!(k in labels)) labels[k] = v;
  return {
    owner: `bench|default/IPClaim/${name}`,
    networkInstance: NI,
    kind: 'network',
    selector: { matchLabels: { role: 'bench' } },
    labels,
  };
}

/** The writer's transactions as watch responses: one journal (one event) per transaction. */
function journals(keys: Keys): IWatchResponse[] {
  const writer = createIpam();
  for (const op of SEED) replaySeed(writer, op);
  const out: IWatchResponse[] = [];
  let basis = '';
  for (let i = 0, rev = 10; i < N; rev++) {
    const entries: JournalEntry[] = [];
    for (let k = 0; k < PER_TXN && i < N; k++, i++) {
      const req = request(i);
      const ops: Op[] = [{ op: 'allocate', req, prefix: writer.allocate(req).prefix }];
      entries.push({ seq: i, opsJson: JSON.stringify(ops) });
    }
    const txn = `writer-${rev}`;
    const value = encodeJournal('writer', txn, basis, entries);
    basis = txn;
    const kv = { key: Buffer.from(keys.jr(INSTANCE)), value, mod_revision: String(rev), create_revision: '1', version: '1', lease: '0' };
    out.push({ events: [{ type: 'Put', kv }] } as unknown as IWatchResponse);
  }
  return out;
}

function replaySeed(ipam: ReturnType<typeof createIpam>, op: Op): void {
  if (op.op === 'applyNetworkInstance') ipam.applyNetworkInstance(op.ref, op.prefixes, op.owner);
  else if (op.op === 'applyPrefix') ipam.applyPrefix(op.spec);
}

/** A store that only hands the core its seed and the follower's records. */
function followingStore(live: LiveIpam): { store: Store; apply: () => (records: Op[][]) => void } {
  let apply: ((records: Op[][]) => void) | undefined;
  const store: Store = {
    kind: 'bench',
    live,
    open: () => Promise.resolve({ records: [SEED], report: [] }),
    load: () => Promise.resolve({ records: [SEED], report: [] }),
    commit: () => Promise.resolve(),
    watch: (onChange) => {
      apply = onChange;
      return () => undefined;
    },
    close: () => Promise.resolve(),
    stats: () => ({ commits: 0, records: 0, flushes: 0, bytes: 0, compactions: 0 }),
  };
  return { store, apply: () => apply! };
}

/** One fresh follower replays every response; returns [wall us, cpu us] per allocation. */
async function once(keys: Keys, responses: IWatchResponse[]): Promise<[number, number]> {
  const live = new LiveIpam();
  const { store, apply } = followingStore(live);
  const core = new IpamCore({ store, createIpam: (s) => (s ? restoreIpam(s) : createIpam()) });
  await core.start();
  const mirror = new Mirror(keys);
  let lost = '';
  const follower = new Follower({
    keys,
    mirror,
    writer: 'reader',
    turns: new Turns({ keys, writer: 'reader', turnAfter: 2, wake: () => undefined }),
    gate: { blocks: () => false, blocksOwner: () => false, followed: (id, txn) => mirror.rev.set(id, txn) },
    onNote: () => undefined,
    lostTrack: (why) => (lost ||= why),
    counters: { remoteRecords: 0 },
  });
  follower.attach({ live: () => live.get(), apply: apply(), failed: () => false });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const res of responses) follower.onWatch(res);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (lost) throw new Error(`the follower lost track: ${lost}`);
  if (live.get().allocationCount() !== N) throw new Error(`replayed ${live.get().allocationCount()} allocations, want ${N}`);
  await core.close();
  return [(wall * 1000) / N, (cpu.user + cpu.system) / N];
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const filter = (process.env.BENCH_FILTER ?? '').split(',').filter(Boolean);
  if (filter.length && !filter.some((f) => 'replay-follow'.includes(f.replace(/\$$/, '')))) return;
  const keys = new Keys();
  const responses = journals(keys);
  await once(keys, responses); // warm-up
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const [w, c] = await once(keys, responses);
    walls.push(w);
    cpus.push(c);
  }
  console.log(`BENCH replay-follow n=${N} us_per_op=${med(walls).toFixed(2)} cpu_us_per_op=${med(cpus).toFixed(2)}`);
  console.log(
    `# replay-follow: ${RUNS} fresh followers, ${PER_TXN} commits per journal; runs ${walls.map((w) => w.toFixed(2)).join(' ')} us/allocation`,
  );
}

await main();
