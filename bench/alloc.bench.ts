// Allocator benchmarks through the public API: every allocation by a distinct owner.
//   alloc-v4-host  aggregate 10.0.0.0/8, network 10.0.0.0/9, host addresses
//   alloc-v6-64    aggregate 2001:db8::/32, pool 2001:db8::/36, /64 prefixes
//   alloc-churn    after the n-allocation fill of alloc-v4-host (not timed): release 10% at
//                  random, then allocate 10%; ops = those 0.2n calls; bytes = retained heap
//                  (after gc) of the whole state / n
//   alloc-snapshot snapshot() of the alloc-v4-host state; ops = allocations listed;
//                  bytes = the snapshot data / n
//   alloc-restore  restoreIpam() of that snapshot (parsed back from JSON); ops = allocations
//                  placed; bytes = the restored allocator / n
//   alloc-vlan     a VLAN index filled by dynamic claims of distinct owners: n=4093 is every
//                  id that can be claimed (0, 1 and 4095 are reserved); always that size
// bytes_per_op = growth of V8 heap + external memory (typed arrays) after gc, divided by n:
// it counts everything the allocator keeps, owner strings included.
// Each figure is measured on fresh allocators after warm-up runs, so n=1000 is not a cold-JIT
// number. Small n is repeated on several fresh allocators (kept alive together): ns_per_op is
// the median run, bytes_per_op the total growth over all of them, so noise of a few kB does
// not dominate.
import { createIpam, restoreIpam } from '../src/ipam/index.js';
import type { Ipam, Snapshot } from '../src/ipam/index.js';
import { createVlans, FIRST_USABLE, LAST_USABLE } from '../src/vlan/index.js';
import type { Vlans } from '../src/vlan/index.js';

declare const gc: () => void;
const filter = (process.env.BENCH_FILTER ?? '').split(',').filter(Boolean);
const wanted = (name: string) => filter.length === 0 || filter.some((f) => name.includes(f));
const sizes = (process.env.BENCH_SIZES ?? '1000,1000000').split(',').map(Number);

const ni = { name: 'bench' };

function heap(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function v4Space(): Ipam {
  const ipam = createIpam();
  ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/8' }], 'ni');
  ipam.applyPrefix({
    networkInstance: ni,
    prefix: '10.0.0.0/9',
    kind: 'network',
    networkName: 'bench',
    labels: { 'bench.ipam/role': 'hosts' },
    owner: 'pfx',
  });
  return ipam;
}

function v6Space(): Ipam {
  const ipam = createIpam();
  ipam.applyNetworkInstance(ni, [{ prefix: '2001:db8::/32' }], 'ni');
  ipam.applyPrefix({ networkInstance: ni, prefix: '2001:db8::/36', kind: 'pool', labels: { 'bench.ipam/role': 'pool' }, owner: 'pfx' });
  return ipam;
}

function fillHosts(ipam: Ipam, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    ipam.allocate({ owner: 'host-' + i, networkInstance: ni, kind: 'network', selector: { matchLabels: { 'bench.ipam/role': 'hosts' } } });
  }
}

function fillV6(ipam: Ipam, n: number): void {
  for (let i = 0; i < n; i++) {
    ipam.allocate({
      owner: 'pool-' + i,
      networkInstance: ni,
      kind: 'pool',
      prefixLength: 64,
      selector: { matchLabels: { 'bench.ipam/role': 'pool' } },
    });
  }
}

/** nsPerOp: time per operation; bytes: retained growth for one allocator of n allocations. */
function report(name: string, n: number, _unused: number, nsPerOp: number, bytes: number): void {
  console.log(
    `BENCH ${name} n=${n} ops_per_s=${Math.round(1e9 / nsPerOp)} ns_per_op=${Math.round(nsPerOp)} bytes_per_op=${Math.round(bytes / n)}`,
  );
}

const repsFor = (n: number) => Math.max(1, Math.min(51, Math.floor(100000 / n)));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// The machine is shared: a short pause between repetitions keeps one burst of preemption from
// hitting many consecutive runs (the median then reflects the allocator, not the neighbours).
const pauseCell = new Int32Array(new SharedArrayBuffer(4));
const pause = () => Atomics.wait(pauseCell, 0, 0, 3);

function measureFill(name: string, space: () => Ipam, fill: (ipam: Ipam, n: number) => void): void {
  if (!wanted(name)) return;
  for (let w = 0; w < 3; w++) fill(space(), 50000); // warm-up
  for (let w = 0; w < 20; w++) fill(space(), 1000);
  for (const n of sizes) {
    const reps = repsFor(n);
    const kept: Ipam[] = [];
    const per: number[] = [];
    const before = heap();
    for (let r = 0; r < reps; r++) {
      if (reps > 1) pause();
      const ipam = space();
      const t0 = process.hrtime.bigint();
      fill(ipam, n);
      per.push(Number(process.hrtime.bigint() - t0) / n);
      kept.push(ipam);
    }
    const bytes = (heap() - before) / reps;
    report(name, n, 1, median(per), bytes);
    if (kept.some((k) => k.listNetworkInstances().length !== 1)) throw new Error('lost state');
  }
}

function measureChurn(): void {
  const name = 'alloc-churn';
  if (!wanted(name)) return;
  for (let w = 0; w < 3; w++) {
    const warm = v4Space();
    fillHosts(warm, 50000);
    churn(warm, 50000, 1);
  }
  for (const n of sizes) {
    const reps = repsFor(n);
    const kept: Ipam[] = [];
    const per: number[] = [];
    const before = heap();
    for (let r = 0; r < reps; r++) {
      const ipam = v4Space();
      fillHosts(ipam, n);
      if (reps > 1) pause();
      const t0 = process.hrtime.bigint();
      const ops = churn(ipam, n, 7 + r);
      per.push(Number(process.hrtime.bigint() - t0) / ops);
      kept.push(ipam);
    }
    const bytes = (heap() - before) / reps;
    report(name, n, 1, median(per), bytes);
  }
}

/** Releases 10% of the n owners at random, then allocates 10% new ones. */
function churn(ipam: Ipam, n: number, seed: number): number {
  const k = Math.max(1, Math.floor(n / 10));
  // deterministic shuffle (xorshift) of the owner indexes, first k taken
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let s = seed >>> 0 || 1;
  for (let i = 0; i < k; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = i + (s % (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
  for (let i = 0; i < k; i++) {
    if (ipam.release('host-' + idx[i]).length !== 1) throw new Error('release lost an allocation');
  }
  fillHosts(ipam, k, n);
  return 2 * k;
}

function measureRestore(): void {
  if (!wanted('alloc-snapshot') && !wanted('alloc-restore')) return;
  for (let w = 0; w < 3; w++) {
    const warm = v4Space();
    fillHosts(warm, 50000);
    restoreIpam(warm.snapshot());
  }
  for (const n of sizes) {
    const reps = repsFor(n);
    const snapNs: number[] = [];
    const restoreNs: number[] = [];
    let snapBytes = 0;
    let restoreBytes = 0;
    for (let r = 0; r < reps; r++) {
      let ipam: Ipam | undefined = v4Space();
      fillHosts(ipam, n);
      const base = heap();
      let t0 = process.hrtime.bigint();
      let snap: Snapshot | undefined = ipam.snapshot();
      snapNs.push(Number(process.hrtime.bigint() - t0) / n);
      snapBytes += heap() - base;
      ipam = undefined;
      snap = JSON.parse(JSON.stringify(snap)) as Snapshot; // what a store hands back
      t0 = process.hrtime.bigint();
      let copy: Ipam | undefined = restoreIpam(snap);
      restoreNs.push(Number(process.hrtime.bigint() - t0) / n);
      snap = undefined;
      if (copy.getAllocations('host-' + (n - 1)).length !== 1) throw new Error('restore lost an allocation');
      const withCopy = heap();
      copy = undefined;
      restoreBytes += withCopy - heap();
    }
    // snapshot bytes: the size of the snapshot data itself; restore bytes: the restored allocator
    if (wanted('alloc-snapshot')) report('alloc-snapshot', n, 1, median(snapNs), snapBytes / reps);
    if (wanted('alloc-restore')) report('alloc-restore', n, 1, median(restoreNs), restoreBytes / reps);
  }
}

function measureVlan(): void {
  const name = 'alloc-vlan';
  if (!wanted(name)) return;
  const n = LAST_USABLE - FIRST_USABLE + 1;
  const index = { name: 'cluster01' };
  const fill = (): Vlans => {
    const v = createVlans();
    v.applyIndex({ index, owner: 'ix' });
    for (let i = 0; i < n; i++) v.allocate({ owner: 'default/VLANClaim/c' + i, index });
    return v;
  };
  for (let w = 0; w < 20; w++) fill(); // warm-up
  const reps = 31;
  const kept: Vlans[] = [];
  const per: number[] = [];
  const before = heap();
  for (let r = 0; r < reps; r++) {
    pause();
    const t0 = process.hrtime.bigint();
    kept.push(fill());
    per.push(Number(process.hrtime.bigint() - t0) / n);
  }
  const bytes = (heap() - before) / reps;
  if (kept.some((v) => v.allocationCount() !== n)) throw new Error('lost state');
  report(name, n, 1, median(per), bytes);
}

measureFill('alloc-v4-host', v4Space, fillHosts);
measureFill('alloc-v6-64', v6Space, fillV6);
measureChurn();
measureRestore();
measureVlan();
