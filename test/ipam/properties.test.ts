// Property tests (fast-check) over random request/release sequences on a small space that
// runs out often: no overlap, never a reserved address, results inside a matching candidate,
// release restores the space, snapshot/restore answers identically, requests are idempotent.
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { createIpam, IpamError, restoreIpam } from '../../src/ipam/index.js';
import type { Allocation, AllocationFilter, AllocationRequest, Ipam, LabelSelector } from '../../src/ipam/index.js';
import { range, test } from './helpers.js';

const ni = { name: 'prop' };

function space(): Ipam {
  const ipam = createIpam();
  ipam.applyNetworkInstance(ni, [{ prefix: '10.0.0.0/16' }, { prefix: '2001:db8::/48' }], 'ni');
  const p = (prefix: string, kind: 'network' | 'pool' | 'loopback', labels: Record<string, string>, owner = `p/${prefix}`) =>
    ipam.applyPrefix({ networkInstance: ni, prefix, kind, labels, owner });
  p('10.0.1.1/28', 'network', { s: 'a', 'nephio.org/gateway': 'true' });
  p('10.0.1.5/28', 'network', { s: 'a', role: 'n3' });
  p('10.0.1.16/29', 'network', { s: 'a' });
  p('10.0.2.0/30', 'network', { s: 'b' });
  p('10.0.2.4/31', 'network', { s: 'b' });
  p('2001:db8:0:1::/126', 'network', { s: 'a' });
  p('2001:db8:0:2::/127', 'network', { s: 'b' });
  p('10.0.128.0/22', 'pool', { s: 'p' });
  p('10.0.128.0/24', 'pool', { s: 'p' });
  p('2001:db8:0:8000::/60', 'pool', { s: 'p' });
  p('10.0.3.0/30', 'loopback', { s: 'lo' });
  return ipam;
}

const SELECTORS: LabelSelector[] = [
  { matchLabels: { s: 'a' } },
  { matchLabels: { s: 'b' } },
  { matchLabels: { s: 'p' } },
  { matchLabels: { s: 'lo' } },
  { matchLabels: { role: 'n3' } },
  { matchExpressions: [{ key: 's', operator: 'In', values: ['a', 'b'] }] },
  { matchLabels: { s: 'a', 'nephio.org/address-family': 'ipv6' } },
  { matchLabels: { s: 'zzz' } },
  {},
  { matchLabels: { 'nephio.org/network-name': 'n1' } },
  { matchLabels: { 'nephio.org/network-name': 'n2', 'nephio.org/address-family': 'ipv4' } },
];

type Op =
  | { t: 'alloc'; owner: number; kind: 'network' | 'pool' | 'loopback'; sel: number; len: number; fam: number }
  | { t: 'release'; owner: number }
  | { t: 'subnet'; owner: number; len: number; nn: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      owner: fc.nat(24),
      kind: fc.constantFrom('network' as const, 'pool' as const, 'loopback' as const),
      sel: fc.nat(SELECTORS.length - 1),
      len: fc.integer({ min: 23, max: 30 }),
      fam: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), owner: fc.nat(24) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('subnet' as const),
      owner: fc.nat(24),
      len: fc.integer({ min: 26, max: 30 }),
      nn: fc.integer({ min: 1, max: 2 }),
    }),
  },
);

function request(op: Exclude<Op, { t: 'release' }>): AllocationRequest {
  if (op.t === 'subnet') {
    return {
      owner: `o${op.owner}`,
      networkInstance: ni,
      kind: 'network',
      prefixLength: op.len,
      selector: { matchLabels: { 'nephio.org/network-name': `n${op.nn}`, 'nephio.org/address-family': 'ipv4' } },
    };
  }
  const r: AllocationRequest = { owner: `o${op.owner}`, networkInstance: ni, kind: op.kind, selector: SELECTORS[op.sel] };
  if (op.kind === 'pool') r.prefixLength = op.fam === 1 ? op.len + 40 : op.len;
  if (op.fam === 1) r.addressFamily = 'ipv6';
  if (op.fam === 2 && op.kind !== 'pool') r.addressFamily = 'ipv4';
  return r;
}

type Answer = { ok: Allocation } | { err: string };
function apply(ipam: Ipam, op: Op): Answer {
  try {
    if (op.t === 'release') {
      const freed = ipam.release(`o${op.owner}`);
      return { ok: freed[0] ?? (null as never) };
    }
    return { ok: ipam.allocate(request(op)) };
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    return { err: `${e.code}: ${e.message}` };
  }
}

const isHost = (a: Allocation) => a.kind === 'loopback' || (a.kind === 'network' && a.prefix.split('/')[1] === a.parent.split('/')[1]);
function blockOf(a: Allocation): [bigint, bigint] {
  if (!isHost(a)) return range(a.prefix);
  const addr = a.prefix.split('/')[0];
  return range(`${addr}/${addr.includes(':') ? 128 : 32}`);
}
const labelsMatch = (s: LabelSelector, l: Record<string, string>) =>
  Object.entries(s.matchLabels ?? {}).every(([k, v]) => l[k] === v) &&
  (s.matchExpressions ?? []).every((e) => (e.operator === 'In' ? e.values!.includes(l[e.key]) : true));

function checkInvariants(ipam: Ipam, refs: Set<string>): void {
  const all = ipam.listAllocations();
  assert.is(ipam.allocationCount(), all.length, 'allocationCount() counts what listAllocations() lists');
  const exclusive = all.filter((a) => !refs.has(a.owner));
  const blocks = exclusive.map((a) => [a, blockOf(a)] as const);
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      const [a, [a0, a1]] = blocks[i];
      const [b, [b0, b1]] = blocks[j];
      if (a.addressFamily !== b.addressFamily) continue;
      if (a1 < b0 || b1 < a0) continue;
      // the only overlap allowed: an allocation inside a prefix another allocation created (its parent)
      const nested = (x: Allocation, [x0, x1]: [bigint, bigint], y: Allocation, [y0, y1]: [bigint, bigint]) =>
        x.parent === y.prefix && y0 <= x0 && x1 <= y1;
      assert.ok(
        nested(a, [a0, a1], b, [b0, b1]) || nested(b, [b0, b1], a, [a0, a1]),
        `${a.owner} ${a.prefix} overlaps ${b.owner} ${b.prefix}`,
      );
    }
  }
  const prefixes = ipam.listPrefixes(ni);
  const reserved = new Set(prefixes.flatMap((p) => p.reserved ?? []));
  for (const a of exclusive) {
    if (!isHost(a)) continue;
    const addr = a.prefix.split('/')[0];
    assert.not.ok(reserved.has(addr), `${a.owner} got reserved ${addr}`);
    const [p0, p1] = range(a.parent);
    const [x] = range(`${addr}/${addr.includes(':') ? 128 : 32}`);
    const len = Number(a.parent.split('/')[1]);
    const W = addr.includes(':') ? 128 : 32;
    if (a.kind === 'network' && len < W - 1) assert.ok(x !== p0 && x !== p1, `${a.owner} got the first/last address ${a.prefix}`);
  }
}

test('property: live allocations never overlap and never take a reserved address', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
      const ipam = space();
      const refs = new Set<string>();
      for (const op of ops) {
        const owner = `o${op.owner}`;
        const wasRef = refs.delete(owner);
        const ans = apply(ipam, op);
        // a new request replaces a lookup; a failed one keeps what the owner held; release drops it
        if (op.t === 'alloc' && 'ok' in ans && op.sel === 4 && op.kind === 'network') refs.add(owner);
        if (op.t !== 'release' && 'err' in ans && wasRef) refs.add(owner);
      }
      checkInvariants(ipam, refs);
    }),
    { numRuns: 250 },
  );
});

test('property: results always lie inside a candidate that matches the selector', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const ipam = space();
      const byPrefix = new Map(ipam.listPrefixes(ni).map((p) => [p.prefix, p]));
      for (const op of ops) {
        if (op.t === 'alloc') {
          // a fresh choice each time (a created subnet others still use cannot go: skip the op)
          try {
            ipam.release(`o${op.owner}`);
          } catch (e) {
            assert.is((e as IpamError).code, 'FailedPrecondition');
            continue;
          }
        }
        const ans = apply(ipam, op);
        if (op.t !== 'alloc' || !('ok' in ans)) continue;
        const a = ans.ok;
        const created = ipam.listAllocations().find((x) => x.prefix === a.parent && x.kind === 'network');
        const parent =
          byPrefix.get(a.parent) ??
          (created && {
            prefix: created.prefix,
            labels: { ...created.labels, 'nephio.org/address-family': created.addressFamily },
            reserved: [] as string[],
          });
        assert.ok(parent, `parent ${a.parent} is a defined prefix or a created subnet`);
        const [p0, p1] = range(a.parent);
        const [x0, x1] = blockOf(a);
        assert.ok(p0 <= x0 && x1 <= p1, `${a.prefix} inside ${a.parent}`);
        const s = SELECTORS[op.sel];
        const reservedHit = (parent!.reserved ?? []).length > 0 && op.sel === 4;
        if (!reservedHit && op.kind !== 'loopback') assert.ok(labelsMatch(s, parent!.labels), `${a.parent} matches ${JSON.stringify(s)}`);
        if (op.fam === 1) assert.is(a.addressFamily, 'ipv6');
      }
    }),
    { numRuns: 250 },
  );
});

test('property: allocate -> release -> allocate returns the freed space', () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { maxLength: 50 }),
      fc.nat(SELECTORS.length - 1),
      fc.constantFrom('network' as const, 'pool' as const, 'loopback' as const),
      fc.integer({ min: 23, max: 30 }),
      (ops, sel, kind, len) => {
        const ipam = space();
        for (const op of ops) apply(ipam, op);
        const op = { t: 'alloc' as const, owner: 99, kind, sel, len, fam: 0 };
        const first = apply(ipam, op);
        ipam.release('o99');
        const again = apply(ipam, { ...op, owner: 98 });
        if ('ok' in first && 'ok' in again) assert.is(again.ok.prefix, first.ok.prefix);
        else assert.equal('err' in again, 'err' in first);
      },
    ),
    { numRuns: 250 },
  );
});

test('property: snapshot -> restore -> identical answers', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(opArb, { maxLength: 30 }), (before, after) => {
      const ipam = space();
      for (const op of before) apply(ipam, op);
      const snap = JSON.parse(JSON.stringify(ipam.snapshot()));
      const copy = restoreIpam(snap);
      assert.equal(copy.snapshot(), ipam.snapshot());
      for (const op of after) assert.equal(apply(copy, op), apply(ipam, op));
      assert.equal(copy.listAllocations(), ipam.listAllocations());
    }),
    { numRuns: 200 },
  );
});

test('property: a page of listAllocations is that slice of the whole list, whatever the filter', () => {
  const filters: AllocationFilter[] = [
    {},
    { selector: { matchLabels: { s: 'a' } } },
    { ownerPrefix: 'o1' },
    { networkInstance: ni },
    { owner: 'o3' },
    { selector: {}, ownerPrefix: 'o2' },
  ];
  fc.assert(
    fc.property(
      fc.array(opArb, { maxLength: 80 }),
      fc.nat(filters.length - 1),
      fc.nat(30),
      fc.integer({ min: 0, max: 12 }),
      (ops, f, offset, limit) => {
        const ipam = space();
        for (const op of ops) apply(ipam, op);
        const all = ipam.listAllocations(filters[f]);
        assert.equal(ipam.listAllocations({ ...filters[f], offset, limit }), all.slice(offset, offset + limit));
        assert.equal(ipam.listAllocations({ ...filters[f], offset }), all.slice(offset));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: the same request twice gives the same answer', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const ipam = space();
      for (const op of ops) {
        const a = apply(ipam, op);
        if (op.t === 'release' || !('ok' in a)) continue;
        assert.equal(apply(ipam, op), a);
        assert.equal(ipam.dryRun(request(op)), a.ok);
      }
    }),
    { numRuns: 250 },
  );
});

test('property: dry run predicts allocate and changes nothing', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const ipam = space();
      for (const op of ops) {
        if (op.t !== 'release') {
          const before = JSON.stringify(ipam.snapshot());
          let dry: Answer;
          try {
            dry = { ok: ipam.dryRun(request(op)) };
          } catch (e) {
            dry = { err: `${(e as IpamError).code}: ${(e as Error).message}` };
          }
          assert.is(JSON.stringify(ipam.snapshot()), before);
          assert.equal(apply(ipam, op), dry);
        } else apply(ipam, op);
      }
    }),
    { numRuns: 200 },
  );
});

/** A logged answer a replay asks for: often what a writer gave, sometimes anything (a replica
 *  whose view differs from the writer's, a hint that is taken elsewhere or malformed). */
const HINTS = [
  '10.0.1.2/28',
  '10.0.1.7/28',
  '10.0.1.7/32',
  '10.0.2.1/30',
  '10.0.128.0/26',
  '10.0.128.64/26',
  '10.0.3.1/32',
  '2001:db8:0:1::1/126',
  '2001:db8:0:8000::/64',
  '10.9.9.9/24',
  'junk',
  '',
];

function replayed(ipam: Ipam, req: AllocationRequest, prefix: string, asBefore: boolean): Answer {
  try {
    return { ok: asBefore ? ipam.allocate({ ...req, hint: prefix }) : ipam.replayAllocation(req, prefix) };
  } catch (e) {
    if (!(e instanceof IpamError)) throw e;
    return { err: `${e.code}: ${e.message}` };
  }
}

test('property: replayAllocation(req, prefix) is allocate({...req, hint: prefix}): same answer or error, same state', () => {
  const defines = (owner: number): AllocationRequest => ({
    owner: `o${owner}`,
    networkInstance: ni,
    kind: 'network',
    createPrefix: true,
    prefix: '10.0.4.1/28',
    labels: { s: 'a' },
  });
  const step = fc.record({ op: opArb, hint: fc.option(fc.constantFrom(...HINTS), { freq: 3 }), defines: fc.nat(7).map((n) => n === 0) });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      // a writer's log replayed on two replicas, the way replay worked before and the new way;
      // each step's answer is either the writer's or an unrelated hint (a replica that differs)
      const writer = space();
      const before = space();
      const after = space();
      for (const { op, hint, defines: d } of steps) {
        if (op.t === 'release') {
          for (const ipam of [writer, before, after]) apply(ipam, op);
          continue;
        }
        const req = d ? defines(op.owner) : request(op);
        const given = apply(writer, op);
        const prefix = hint ?? ('ok' in given ? given.ok.prefix : 'junk');
        assert.equal(replayed(after, req, prefix, false), replayed(before, req, prefix, true));
        assert.is(JSON.stringify(after.snapshot()), JSON.stringify(before.snapshot()));
      }
      assert.equal(after.listAllocations(), before.listAllocations());
    }),
    { numRuns: 300 },
  );
});

test.run();
