// The etcd store's key state without etcd: random request sequences run through the server's
// Tx (so the records are exactly what the server commits), each request's records turned
// into key writes by Mirror.derive and applied to an in-memory key space. After every
// sequence, the allocator restored from those keys (snapshotOf) must equal the live one, the
// mirror rebuilt from the keys must equal the one derive kept, and every write must be small.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { createIpam, IpamError, restoreIpam, type Ipam, type LabelSelector } from '../../src/ipam/index.js';
import { Tx } from '../../src/server/core.js';
import { Keys } from '../../src/server/store/etcd/keys.js';
import { snapshotOf } from '../../src/server/store/etcd/snapshot-of.js';
import type { Derived } from '../../src/server/store/etcd/derivation.js';
import { Mirror, type Kv } from '../../src/server/store/etcd/state.js';

const keys = new Keys('/ipam');
const vpc = { name: 'vpc' };
const lab = { name: 'lab', namespace: 'team' };

const SELECTORS: LabelSelector[] = [
  { matchLabels: { s: 'a' } },
  { matchLabels: { s: 'b' } },
  { matchLabels: { s: 'p' } },
  { matchLabels: { s: 'lo' } },
  { matchLabels: { role: 'n3' } },
  { matchLabels: { 'nephio.org/gateway': 'true' } },
  { matchLabels: { s: 'a', 'nephio.org/address-family': 'ipv6' } },
  { matchLabels: { 'nephio.org/network-name': 'n1' } },
  {},
];

const PREFIXES: { prefix: string; kind: 'network' | 'pool' | 'loopback'; labels: Record<string, string>; networkName?: string }[] = [
  { prefix: '10.0.1.1/28', kind: 'network', labels: { s: 'a', 'nephio.org/gateway': 'true' } },
  { prefix: '10.0.1.5/28', kind: 'network', labels: { s: 'a', role: 'n3' } },
  { prefix: '10.0.1.16/29', kind: 'network', labels: { s: 'a' } },
  { prefix: '10.0.2.0/30', kind: 'network', labels: { s: 'b' } },
  { prefix: '2001:db8:0:1::/126', kind: 'network', labels: { s: 'a' } },
  { prefix: '10.0.128.0/22', kind: 'pool', labels: { s: 'p' } },
  { prefix: '10.0.128.0/24', kind: 'pool', labels: { s: 'p' } },
  { prefix: '10.0.3.0/30', kind: 'loopback', labels: { s: 'lo' } },
];

type Step =
  | { t: 'alloc'; owner: number; kind: 'network' | 'pool' | 'loopback'; sel: number; len: number; ni: number }
  | { t: 'subnet'; owner: number; len: number }
  | { t: 'release'; owner: number; force: boolean }
  | { t: 'prefix'; i: number; relabel: boolean; owner: number }
  | { t: 'unprefix'; i: number; force: boolean }
  | { t: 'ni'; i: number; grow: boolean }
  | { t: 'unni'; force: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      owner: fc.nat(20),
      kind: fc.constantFrom('network' as const, 'pool' as const, 'loopback' as const),
      sel: fc.nat(SELECTORS.length - 1),
      len: fc.integer({ min: 25, max: 30 }),
      ni: fc.nat(3),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('subnet' as const), owner: fc.nat(20), len: fc.integer({ min: 26, max: 29 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('release' as const), owner: fc.nat(24), force: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('prefix' as const), i: fc.nat(PREFIXES.length - 1), relabel: fc.boolean(), owner: fc.nat(3) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unprefix' as const), i: fc.nat(PREFIXES.length - 1), force: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ni' as const), i: fc.nat(1), grow: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unni' as const), force: fc.boolean() }) },
);

const hotStepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      owner: fc.nat(20),
      kind: fc.constantFrom('network' as const, 'pool' as const, 'loopback' as const),
      sel: fc.nat(SELECTORS.length - 1),
      len: fc.integer({ min: 25, max: 30 }),
      ni: fc.nat(3),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('subnet' as const), owner: fc.nat(20), len: fc.integer({ min: 26, max: 29 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('release' as const), owner: fc.nat(20), force: fc.constant(false) }) },
);

function run(tx: Tx, s: Step): void {
  switch (s.t) {
    case 'alloc': {
      const r = {
        owner: `o${s.owner}`,
        networkInstance: s.ni === 3 ? lab : vpc,
        kind: s.kind,
        selector: SELECTORS[s.sel]!,
        labels: { app: `x${s.owner % 3}` },
      };
      tx.allocate(s.kind === 'pool' ? { ...r, prefixLength: s.len } : r);
      return;
    }
    case 'subnet':
      tx.allocate({
        owner: `o${s.owner}`,
        networkInstance: vpc,
        kind: 'network',
        prefixLength: s.len,
        createPrefix: true,
        selector: { matchLabels: { 'nephio.org/address-family': 'ipv4' } },
        labels: { 'nephio.org/network-name': 'n1' },
      });
      return;
    case 'release':
      // owners 21..24 are the prefix owners
      tx.release(s.owner > 20 ? `p${s.owner - 21}` : `o${s.owner}`, s.force ? { force: true } : {});
      return;
    case 'prefix': {
      const p = PREFIXES[s.i]!;
      tx.applyPrefix({
        networkInstance: vpc,
        prefix: p.prefix,
        kind: p.kind,
        labels: s.relabel ? { ...p.labels, extra: 'y' } : p.labels,
        owner: `p${s.owner}`,
      });
      return;
    }
    case 'unprefix':
      tx.removePrefix(vpc, PREFIXES[s.i]!.prefix, s.force ? { force: true } : {});
      return;
    case 'ni':
      tx.applyNetworkInstance(
        lab,
        s.grow
          ? [{ prefix: '192.168.0.0/24', labels: { s: 'a' } }, { prefix: '192.168.9.0/24' }]
          : [{ prefix: '192.168.0.0/24', labels: { s: 'a' } }],
        'p1',
      );
      return;
    case 'unni':
      tx.removeNetworkInstance(lab, s.force ? { force: true } : {});
      return;
  }
}

/** An in-memory stand-in for etcd's key space: values with create/mod revisions. */
class FakeKv {
  rev = 0;
  readonly kvs = new Map<string, Kv>();
  maxWriteBytes = 0;
  apply(writes: Map<string, Buffer | null>): void {
    this.rev++;
    for (const [key, v] of writes) {
      if (v === null) this.kvs.delete(key);
      else {
        this.maxWriteBytes = Math.max(this.maxWriteBytes, key.length + v.length);
        this.kvs.set(key, { key, value: v, createRevision: this.kvs.get(key)?.createRevision ?? this.rev, modRevision: this.rev });
      }
    }
  }
}

function start(): { ipam: Ipam; mirror: Mirror; follower: Mirror; kv: FakeKv } {
  const ipam = createIpam();
  const mirror = new Mirror(keys);
  const follower = new Mirror(keys);
  const kv = new FakeKv();
  const tx = new Tx(ipam);
  tx.applyNetworkInstance(vpc, [{ prefix: '10.0.0.0/16' }, { prefix: '2001:db8::/48' }], 'seed');
  PREFIXES.forEach((p, i) =>
    tx.applyPrefix({
      networkInstance: vpc,
      prefix: p.prefix,
      kind: p.kind,
      labels: p.labels,
      ...(p.networkName ? { networkName: p.networkName } : {}),
      owner: `p${i % 3}`,
    }),
  );
  kv.apply(mirror.derive(tx.ops, ipam).writes);
  follower.follow(tx.ops, ipam);
  return { ipam, mirror, follower, kv };
}

/** The mirror's index as plain data, for comparison. */
function indexOf(m: Mirror) {
  const owners = [...m.owners]
    .map(([o, s]) => [o, s.instance ?? '', [...(s.prefixIds ?? [])].sort(), [...(s.instanceIds ?? [])].sort()])
    .sort();
  const insts = [...m.insts]
    .map(([id, s]) => [id, [...s.owners].sort(), [...s.prefixes].sort(), s.niOwner ?? ''])
    .filter(([, o, p, n]) => (o as string[]).length || (p as string[]).length || n)
    .sort();
  return { owners, insts };
}

/** Which keys a derivation writes and which it deletes, and what it compares. */
function shapeOf(d: Derived) {
  const writes = [...d.writes].map(([k, v]) => [k, v === null ? 'delete' : 'write']);
  return { writes, instances: [...d.instances], owners: [...d.owners] };
}

test('keys written by derive restore exactly the live allocator, and index it as derive (and follow) did', () => {
  let steps = 0;
  let errors = 0;
  let maxWrite = 0;
  fc.assert(
    fc.property(fc.array(fc.array(stepArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 40 }), (commits) => {
      const { ipam, mirror, follower, kv } = start();
      for (const steps_ of commits) {
        const tx = new Tx(ipam);
        for (const s of steps_) {
          steps++;
          try {
            run(tx, s);
          } catch (e) {
            if (!(e instanceof IpamError)) throw e;
            errors++;
          }
        }
        // the server commits whatever was applied, also when a later op failed
        if (!tx.ops.length) continue;
        const d = mirror.derive(tx.ops, ipam);
        kv.apply(d.writes);
        // a replica replaying the same records learns the same keys, without their values
        const f = follower.follow(tx.ops, ipam);
        assert.equal(shapeOf(f), shapeOf(d));
      }
      const kvs = [...kv.kvs.values()];
      const restored = restoreIpam(snapshotOf(kvs, keys));
      assert.equal(restored.snapshot(), ipam.snapshot());
      const fresh = new Mirror(keys);
      for (const x of kvs) fresh.applyKv(x.key, x.value, x.modRevision);
      assert.equal(indexOf(fresh), indexOf(mirror));
      assert.equal(indexOf(follower), indexOf(mirror));
      maxWrite = Math.max(maxWrite, kv.maxWriteBytes);
    }),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
  );
  console.log(`# ${steps} steps (${errors} refused by the allocator), largest key write ${maxWrite} bytes`);
  assert.ok(errors < steps / 2, 'most steps do something');
});

test('an allocation writes one owner key of a few hundred bytes, whatever the pool size', () => {
  const ipam = createIpam();
  const mirror = new Mirror(keys);
  const tx0 = new Tx(ipam);
  tx0.applyNetworkInstance(vpc, [{ prefix: '10.0.0.0/8' }], 'seed');
  tx0.applyPrefix({ networkInstance: vpc, prefix: '10.0.0.0/12', kind: 'network', labels: { role: 'bench' }, owner: 'seed' });
  mirror.derive(tx0.ops, ipam);
  for (let i = 0; i < 20_000; i++) {
    const tx = new Tx(ipam);
    tx.allocate({
      owner: `pkg|default/IPClaim/c${i}`,
      networkInstance: vpc,
      kind: 'network',
      selector: { matchLabels: { role: 'bench' } },
    });
    const d = mirror.derive(tx.ops, ipam);
    if (i % 5000 !== 0 && i !== 19_999) continue;
    assert.equal([...d.writes.keys()], [keys.own(`pkg|default/IPClaim/c${i}`)]);
    assert.equal([...d.instances], ['default/vpc']);
    assert.equal([...d.owners], [`pkg|default/IPClaim/c${i}`]);
    const bytes = [...d.writes].reduce((n, [k, v]) => n + k.length + (v?.length ?? 0), 0);
    assert.ok(bytes < 300, `allocation ${i}: ${bytes} bytes`);
  }
});

test('releasing an owner this replica never saw still guards its key (a release must not miss a remote allocation)', () => {
  const { ipam, mirror } = start();
  const tx = new Tx(ipam);
  tx.release('somebody-else');
  const d = mirror.derive(tx.ops, ipam);
  assert.equal(d.writes.size, 0);
  assert.equal([...d.owners], ['somebody-else']);
  assert.equal(d.instances.size, 0);
});

test('moving an owner to another network instance touches both instances', () => {
  const { ipam, mirror } = start();
  const t1 = new Tx(ipam);
  t1.applyNetworkInstance(lab, [{ prefix: '192.168.0.0/24', labels: { s: 'a' } }], 'p1');
  t1.allocate({ owner: 'mover', networkInstance: vpc, kind: 'network', selector: { matchLabels: { s: 'b' } } });
  mirror.derive(t1.ops, ipam);
  const t2 = new Tx(ipam);
  t2.allocate({ owner: 'mover', networkInstance: lab, kind: 'pool', prefixLength: 28, selector: { matchLabels: { s: 'a' } } });
  const d = mirror.derive(t2.ops, ipam);
  assert.equal([...d.instances].sort(), ['default/vpc', 'team/lab']);
});

// A replica that loses a race undoes its losing commits (newest first) instead of reloading:
// the allocator and the mirror's index must come back exactly, or the undo must refuse.
test('undoing a run of commits restores the allocator and the index exactly, or refuses', () => {
  let undone = 0;
  let refused = 0;
  let releasesUndone = 0;
  fc.assert(
    fc.property(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 4 }), { maxLength: 25 }),
      // mostly what contended commits hold: allocations and releases
      fc.array(
        fc.array(fc.oneof({ weight: 4, arbitrary: hotStepArb }, { weight: 1, arbitrary: stepArb }), { minLength: 1, maxLength: 3 }),
        { minLength: 1, maxLength: 6 },
      ),
      (before, losing) => {
        const { ipam, mirror } = start();
        const apply = (steps_: Step[]): Tx => {
          const tx = new Tx(ipam);
          for (const s of steps_) {
            try {
              run(tx, s);
            } catch (e) {
              if (!(e instanceof IpamError)) throw e;
            }
          }
          if (tx.ops.length) mirror.derive(tx.ops, ipam);
          return tx;
        };
        for (const steps_ of before) apply(steps_);
        const snap = ipam.snapshot();
        const index = indexOf(mirror);
        const txs = losing.map(apply).filter((tx) => tx.ops.length > 0);
        for (let i = txs.length - 1; i >= 0; i--) {
          const inverse = txs[i]!.revert();
          if (inverse === null) {
            refused++;
            return;
          }
          if (inverse.length) mirror.derive(inverse, ipam);
          releasesUndone += inverse.filter((op) => op.op === 'allocate').length;
        }
        undone++;
        assert.equal(ipam.snapshot(), snap);
        assert.equal(indexOf(mirror), index);
      },
    ),
    { numRuns: Number(process.env.PROPERTY_RUNS ?? 300) },
  );
  console.log(
    `# ${undone} runs undone exactly (${releasesUndone} releases among them), ${refused} refused (prefix or instance changes, moves, cascades)`,
  );
  assert.ok(undone > 30 && releasesUndone > 10, 'allocations and releases are undone');
});

test.run();
