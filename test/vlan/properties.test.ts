// Property tests (fast-check) over random claim/release sequences: an id is never held by two
// owners unless they share a vlanClaimName (or select one single-id definition), never reserved,
// ranges are consecutive and disjoint, asking again answers the same, snapshot/restore is
// identical, and releasing everything leaves the index empty.
import fc from 'fast-check';
import * as assert from 'uvu/assert';
import { IpamError } from '../../src/ipam/index.js';
import { createVlans, restoreVlans, type VlanAllocation, type VlanRequest, type Vlans } from '../../src/vlan/index.js';
import { test } from '../support/uvu.js';

const idx = { name: 'c1' };

function space(): Vlans {
  const v = createVlans();
  v.applyIndex({ index: idx, labels: { site: 's1' }, owner: 'ix' });
  v.applyDefinition({ index: idx, range: '10:13', labels: { p: 'pool' }, owner: 'def/pool' });
  v.applyDefinition({ index: idx, vlanID: 20, labels: { p: 'one' }, owner: 'def/one' });
  return v;
}

const reqArb = fc.record({
  owner: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
  vlanID: fc.option(fc.integer({ min: -1, max: 30 }), { nil: undefined }),
  range: fc.option(fc.oneof(fc.constantFrom('2:4', '10:11', '5:8', '0:3', '4094:4095'), fc.integer({ min: 1, max: 6 }).map(String)), {
    nil: undefined,
  }),
  selector: fc.option(fc.constantFrom<Record<string, string>>({ p: 'pool' }, { p: 'one' }, { site: 's1' }, { p: 'none' }), {
    nil: undefined,
  }),
  claim: fc.option(fc.constantFrom('bd1', 'bd2'), { nil: undefined }),
  hint: fc.option(fc.constantFrom('2', '12', '20', '25', '4095', '3:5'), { nil: undefined }),
});
type Req = ReturnType<typeof reqArb.generate>['value'];
type Step = { release: string } | { req: Req };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: reqArb.map((req) => ({ req })), weight: 4 },
  { arbitrary: fc.constantFrom('a', 'b', 'c', 'd', 'e').map((release) => ({ release })), weight: 1 },
);

function toRequest(r: Req): VlanRequest {
  const q: VlanRequest = { owner: r.owner, index: idx };
  if (r.vlanID !== undefined) q.vlanID = r.vlanID;
  if (r.range !== undefined) q.range = r.range;
  if (r.selector) q.selector = { matchLabels: r.selector };
  if (r.claim) q.claim = r.claim;
  if (r.hint) q.hint = r.hint;
  return q;
}

const ids = (a: VlanAllocation): number[] => {
  if (a.vlanID !== undefined) return [a.vlanID];
  const [s, e] = a.vlanRange!.split(':').map(Number);
  return Array.from({ length: e - s + 1 }, (_, i) => s + i);
};

function checkInvariants(v: Vlans): void {
  const all = v.listAllocations();
  const holder = new Map<number, VlanAllocation>();
  for (const a of all) {
    if (a.vlanRange) {
      const [s, e] = a.vlanRange.split(':').map(Number);
      assert.ok(s <= e);
    }
    for (const id of ids(a)) {
      assert.ok(id >= 2 && id <= 4094, `reserved or out of range ${id}`);
      const other = holder.get(id);
      if (other) {
        const shared = (a.claim !== undefined && a.claim === other.claim) || a.reference || other.reference;
        const inPool = other.definition && other.vlanRange !== undefined && !a.definition;
        assert.ok(shared || inPool || (a.definition && other.definition === undefined), `id ${id} held by ${other.owner} and ${a.owner}`);
      }
      if (!holder.has(id) || a.definition) holder.set(id, a);
    }
  }
  assert.is(v.allocationCount(), all.length);
}

test('random claims and releases keep every invariant; snapshot/restore is identical; asking again answers the same', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
      const v = space();
      for (const s of steps) {
        if ('release' in s) {
          v.release(s.release);
          assert.is(v.get(s.release), undefined);
          continue;
        }
        const q = toRequest(s.req);
        let a: VlanAllocation;
        try {
          a = v.allocate(q);
        } catch (e) {
          if (!(e instanceof IpamError)) throw e;
          assert.ok(e.details.field, `error without field: ${e.message}`);
          assert.match(e.message, /c1/);
          continue;
        }
        assert.equal(v.allocate(q), a, 'idempotent');
        assert.equal(v.get(q.owner), a);
        if (q.vlanID !== undefined) assert.is(a.vlanID, q.vlanID);
        if (q.range?.includes(':')) assert.is(a.vlanRange, q.range);
        if (q.range && !q.range.includes(':')) assert.is(ids(a).length, Number(q.range));
        checkInvariants(v);
      }
      const snap = v.snapshot();
      const w = restoreVlans(JSON.parse(JSON.stringify(snap)));
      assert.equal(w.snapshot(), snap);
      const probe: VlanRequest = { owner: 'probe', index: idx, range: '2' };
      let x: unknown, y: unknown;
      try {
        x = v.allocate(probe);
      } catch (e) {
        x = (e as Error).message;
      }
      try {
        y = w.allocate(probe);
      } catch (e) {
        y = (e as Error).message;
      }
      assert.equal(y, x);
      for (const o of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'probe']) v.release(o);
      assert.equal(
        v.listAllocations().map((a) => a.owner),
        ['def/pool', 'def/one'],
      );
    }),
    { numRuns: 300 },
  );
});

test('the lowest free id is chosen: dynamic answers match a reference model', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 40 }).map((n) => ({ take: n })),
          fc.integer({ min: 0, max: 40 }).map((n) => ({ drop: n })),
        ),
        { maxLength: 120 },
      ),
      (steps) => {
        const v = createVlans();
        v.applyIndex({ index: idx, owner: 'ix' });
        const model = new Map<string, number>();
        for (const s of steps) {
          if ('drop' in s) {
            v.release(`o${s.drop}`);
            model.delete(`o${s.drop}`);
            continue;
          }
          const o = `o${s.take}`;
          const got = v.allocate({ owner: o, index: idx }).vlanID!;
          if (!model.has(o)) {
            const used = new Set(model.values());
            let want = 2;
            while (used.has(want)) want++;
            model.set(o, want);
          }
          assert.is(got, model.get(o));
        }
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
