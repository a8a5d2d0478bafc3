// The VLAN allocator: dynamic, static, range, selectors, shared ids, idempotency, stickiness,
// release, reserved ids and the errors that name index and field.
import * as assert from 'uvu/assert';
import { IpamError, type IpamErrorCode } from '../../src/ipam/index.js';
import { createVlans, restoreVlans, type VlanRequest, type Vlans } from '../../src/vlan/index.js';
import { test } from '../support/uvu.js';

const idx = { name: 'cluster01' };
const claim = (name: string, more: Partial<VlanRequest> = {}): VlanRequest => ({ owner: `default/VLANClaim/${name}`, index: idx, ...more });

function fresh(): Vlans {
  const v = createVlans();
  v.applyIndex({ index: idx, owner: 'default/VLANIndex/cluster01' });
  return v;
}

function throwsVlan(f: () => unknown, code: IpamErrorCode, field: string, msg: RegExp): IpamError {
  try {
    f();
  } catch (e) {
    assert.instance(e, IpamError);
    const err = e as IpamError;
    assert.is(err.code, code, err.message);
    assert.is(err.details.field, field, err.message);
    assert.match(err.message, msg);
    return err;
  }
  assert.unreachable('no error');
  throw new Error('unreachable');
}

test('dynamic: the first id is 2, then the lowest free', () => {
  const v = fresh();
  assert.is(v.allocate(claim('a')).vlanID, 2);
  assert.is(v.allocate(claim('b')).vlanID, 3);
  v.release('default/VLANClaim/a');
  assert.is(v.allocate(claim('c')).vlanID, 2);
});

test('dynamic: idempotent per owner, and a whole index fills with 4093 ids, never 0, 1 or 4095', () => {
  const v = fresh();
  const seen = new Set<number>();
  for (let i = 0; i < 4093; i++) seen.add(v.allocate(claim(`c${i}`)).vlanID!);
  assert.is(seen.size, 4093);
  for (const r of [0, 1, 4095]) assert.not.ok(seen.has(r));
  assert.is(v.allocate(claim('c7')).vlanID, 9, 'asking again answers the same');
  throwsVlan(
    () => v.allocate(claim('late')),
    'Exhausted',
    'spec.vlanIndex.name',
    /no free VLAN id in VLAN index default\/cluster01: exhausted/,
  );
});

test('static: spec.vlanID is taken exactly; another owner cannot take it', () => {
  const v = fresh();
  assert.is(v.allocate(claim('s', { vlanID: 100 })).vlanID, 100);
  throwsVlan(
    () => v.allocate(claim('t', { vlanID: 100 })),
    'AlreadyExists',
    'spec.vlanID',
    /VLAN 100 in VLAN index default\/cluster01 is in use by default\/VLANClaim\/s/,
  );
  assert.is(v.allocate(claim('d')).vlanID, 2, 'dynamic skips nothing below it');
});

test('reserved and out-of-range ids are refused naming index and field', () => {
  const v = fresh();
  for (const id of [0, 1, 4095])
    throwsVlan(
      () => v.allocate(claim('r', { vlanID: id })),
      'InvalidArgument',
      'spec.vlanID',
      new RegExp(`spec.vlanID ${id} is reserved.*VLAN index default/cluster01`),
    );
  for (const id of [4096, -1, 1.5])
    throwsVlan(() => v.allocate(claim('r', { vlanID: id })), 'InvalidArgument', 'spec.vlanID', /out of range/);
  throwsVlan(() => v.allocate(claim('r', { range: '0:10' })), 'InvalidArgument', 'spec.range', /touches reserved VLAN 0/);
  throwsVlan(() => v.allocate(claim('r', { range: '4000:4095' })), 'InvalidArgument', 'spec.range', /touches reserved VLAN 4095/);
  throwsVlan(() => v.allocate(claim('r', { range: '1:3' })), 'InvalidArgument', 'spec.range', /touches reserved VLAN 1/);
  throwsVlan(() => v.allocate(claim('r', { range: '200:100' })), 'InvalidArgument', 'spec.range', /ends before it starts/);
  throwsVlan(() => v.allocate(claim('r', { range: '100:5000' })), 'InvalidArgument', 'spec.range', /out of range/);
  throwsVlan(() => v.allocate(claim('r', { range: 'a-b' })), 'InvalidArgument', 'spec.range', /neither start:end/);
  throwsVlan(() => v.allocate(claim('r', { range: '4094' })), 'InvalidArgument', 'spec.range', /size 4094 does not fit/);
  throwsVlan(() => v.allocate(claim('r', { vlanID: 5, range: '10' })), 'InvalidArgument', 'spec.range', /exclude each other/);
  assert.is(v.allocationCount(), 0, 'nothing was taken');
});

test('an index that does not exist is an error naming it', () => {
  const v = fresh();
  throwsVlan(
    () => v.allocate({ owner: 'o', index: { name: 'cluster99' } }),
    'NotFound',
    'spec.vlanIndex.name',
    /VLAN index default\/cluster99 not found/,
  );
});

test('range: start:end is reserved as a block; a size takes the lowest block that fits', () => {
  const v = fresh();
  assert.is(v.allocate(claim('x', { vlanID: 5 })).vlanID, 5);
  assert.equal(v.allocate(claim('r1', { range: '100:199' })).vlanRange, '100:199');
  throwsVlan(() => v.allocate(claim('s', { vlanID: 150 })), 'AlreadyExists', 'spec.vlanID', /VLAN 150 .* in use by default\/VLANClaim\/r1/);
  throwsVlan(() => v.allocate(claim('r2', { range: '199:210' })), 'AlreadyExists', 'spec.range', /VLAN 199/);
  // 2..4 is free but 3 long; 5 is taken, so the first block of 4 starts at 6
  assert.equal(v.allocate(claim('r3', { range: '4' })).vlanRange, '6:9');
  assert.equal(v.allocate(claim('r4', { range: '3' })).vlanRange, '2:4');
  throwsVlan(
    () => v.allocate(claim('big', { range: '3900' })),
    'Exhausted',
    'spec.range',
    /no 3900 consecutive free VLAN ids .*does not fit/,
  );
});

test('shared: claims naming one vlanClaimName get one id, freed when the last one goes', () => {
  const v = fresh();
  const a = v.allocate(claim('upf-n3', { claim: 'vpc-ran-cluster01-bd' }));
  const b = v.allocate(claim('upf-n6', { claim: 'vpc-internet-cluster01-bd' }));
  const c = v.allocate(claim('smf-n4', { claim: 'vpc-ran-cluster01-bd' }));
  assert.is(a.vlanID, 2);
  assert.is(b.vlanID, 3);
  assert.is(c.vlanID, 2);
  v.release('default/VLANClaim/upf-n3');
  assert.is(v.allocate(claim('other')).vlanID, 4, 'still held by smf-n4');
  v.release('default/VLANClaim/smf-n4');
  assert.is(v.allocate(claim('other2')).vlanID, 2);
});

test('sticky: a claim carrying status.vlanID gets it back when free', () => {
  const v = fresh();
  assert.is(v.allocate(claim('a', { hint: '300' })).vlanID, 300);
  assert.is(v.allocate(claim('b', { hint: '300' })).vlanID, 2, 'taken: lowest free instead');
  assert.is(v.allocate(claim('c', { hint: '4095' })).vlanID, 3, 'a reserved hint is ignored');
  assert.equal(v.allocate(claim('d', { range: '10', hint: '500:509' })).vlanRange, '500:509');
});

test('selectors: a range definition is a pool for claims that select it; the index labels select the whole index', () => {
  const v = createVlans();
  v.applyIndex({ index: idx, labels: { site: 'edge1' }, owner: 'ix' });
  v.applyDefinition({ index: idx, range: '100:102', labels: { purpose: 'ran' }, owner: 'default/VLAN/ran' });
  v.applyDefinition({ index: idx, vlanID: 50, labels: { purpose: 'mgmt' }, owner: 'default/VLAN/mgmt' });
  const ran = { matchLabels: { purpose: 'ran' } };
  assert.is(v.allocate(claim('r1', { selector: ran })).vlanID, 100);
  assert.is(v.allocate(claim('r2', { selector: ran })).vlanID, 101);
  assert.is(v.allocate(claim('plain')).vlanID, 2, "a claim without selector never takes a definition's ids");
  assert.is(v.allocate(claim('site', { selector: { matchLabels: { site: 'edge1' } } })).vlanID, 3);
  const m = v.allocate(claim('m', { selector: { matchLabels: { purpose: 'mgmt' } } }));
  assert.is(m.vlanID, 50);
  assert.ok(m.reference);
  assert.is(v.allocate(claim('m2', { selector: { matchLabels: { purpose: 'mgmt' } } })).vlanID, 50, 'a single-id definition is shared');
  assert.is(v.allocate(claim('r3', { selector: ran })).vlanID, 102);
  throwsVlan(() => v.allocate(claim('r4', { selector: ran })), 'Exhausted', 'spec.vlanIndex.name', /selector \{purpose=ran\}.*exhausted/);
  throwsVlan(
    () => v.allocate(claim('n', { selector: { matchLabels: { purpose: 'none' } } })),
    'NotFound',
    'spec.selector',
    /match selector \{purpose=none\}/,
  );
  throwsVlan(() => v.allocate(claim('s', { vlanID: 50 })), 'AlreadyExists', 'spec.vlanID', /in use by VLAN definition default\/VLAN\/mgmt/);
  throwsVlan(
    () => v.release('default/VLAN/ran'),
    'FailedPrecondition',
    undefined as unknown as string,
    /used by default\/VLANClaim\/r1, default\/VLANClaim\/r2, default\/VLANClaim\/r3/,
  );
  assert.is(v.release('default/VLAN/ran', { force: true }).length, 4);
  assert.is(v.allocate(claim('z', { vlanID: 100 })).vlanID, 100, 'the range is free again');
});

test('a changed request replaces the old answer; a failing one keeps it', () => {
  const v = fresh();
  assert.is(v.allocate(claim('a', { vlanID: 10 })).vlanID, 10);
  v.allocate(claim('b', { vlanID: 20 }));
  assert.is(v.allocate(claim('a', { vlanID: 11 })).vlanID, 11);
  throwsVlan(() => v.allocate(claim('a', { vlanID: 20 })), 'AlreadyExists', 'spec.vlanID', /in use by default\/VLANClaim\/b/);
  assert.is(v.get('default/VLANClaim/a')?.vlanID, 11);
  assert.is(v.dryRun(claim('a', { vlanID: 12 })).vlanID, 12);
  assert.is(v.get('default/VLANClaim/a')?.vlanID, 11, 'a dry run changes nothing');
  assert.is(v.allocate(claim('c', { vlanID: 10 })).vlanID, 10, 'the replaced id was freed');
});

test('lookup: by vlanClaimName, else by owner; no match is an error', () => {
  const v = fresh();
  v.allocate(claim('a', { claim: 'bd' }));
  v.allocate(claim('b'));
  assert.is(v.lookup(claim('x', { claim: 'bd' })).vlanID, 2);
  assert.is(v.lookup(claim('b')).vlanID, 3);
  throwsVlan(() => v.lookup(claim('nobody')), 'NotFound', 'metadata.name', /holds no VLAN in VLAN index default\/cluster01/);
  assert.is(v.allocationCount(), 2);
});

test('indexes: identical definitions are one index; a different one from another owner is refused; implied ones give way', () => {
  const v = createVlans();
  v.applyIndex({ index: idx, owner: 'default/WorkloadCluster/cluster01', implied: true });
  v.applyIndex({ index: idx, labels: { a: 'b' }, owner: 'p1/VLANIndex/cluster01' });
  v.applyIndex({ index: idx, labels: { a: 'b' }, owner: 'p2/VLANIndex/cluster01' });
  throwsVlan(
    () => v.applyIndex({ index: idx, kind: 'device', owner: 'p3/VLANIndex/cluster01' }),
    'AlreadyExists',
    'spec',
    /already defined by p1\/VLANIndex\/cluster01/,
  );
  v.applyIndex({ index: idx, owner: 'x/WorkloadCluster/cluster01', implied: true });
  assert.equal(v.listIndexes(), [
    { name: 'cluster01', namespace: 'default', kind: 'esg', labels: { a: 'b' }, owner: 'p1/VLANIndex/cluster01' },
  ]);
  throwsVlan(() => v.applyIndex({ index: idx, kind: 'bad' as 'esg', owner: 'o' }), 'InvalidArgument', 'spec.kind', /not esg or device/);
  v.allocate(claim('a'));
  throwsVlan(() => v.removeIndex(idx), 'FailedPrecondition', undefined as unknown as string, /still holds ids of default\/VLANClaim\/a/);
  assert.is(v.removeIndex(idx, { force: true }).length, 1);
  assert.is(v.allocationCount(), 0);
});

test('snapshot/restore answers identically, shared ids and definitions included', () => {
  const v = createVlans();
  v.applyIndex({ index: idx, kind: 'device', labels: { s: '1' }, owner: 'ix' });
  v.applyIndex({ index: { name: 'c2', namespace: 'ns' }, owner: 'wc', implied: true });
  v.applyDefinition({ index: idx, range: '100:109', labels: { p: 'x' }, owner: 'd1' });
  v.applyDefinition({ index: idx, vlanID: 7, labels: { p: 'y' }, owner: 'd2' });
  v.allocate(claim('a', { claim: 'bd', labels: { l: '1' } }));
  v.allocate(claim('b', { claim: 'bd', labels: { l: '2' } }));
  v.allocate(claim('c', { selector: { matchLabels: { p: 'x' } } }));
  v.allocate(claim('d', { selector: { matchLabels: { p: 'y' } } }));
  v.allocate(claim('e', { range: '3' }));
  v.allocate({ owner: 'f', index: { name: 'c2', namespace: 'ns' }, vlanID: 4000 });
  const snap = JSON.parse(JSON.stringify(v.snapshot()));
  const w = restoreVlans(snap);
  assert.equal(w.snapshot(), v.snapshot());
  assert.equal(w.listAllocations(), v.listAllocations());
  for (const n of ['n1', 'n2']) assert.equal(w.allocate(claim(n)), v.allocate(claim(n)));
  assert.is(w.allocate(claim('g', { claim: 'bd' })).vlanID, 2);
});

test('listAllocations: by index and id, filtered by owner prefix', () => {
  const v = fresh();
  v.allocate(claim('b', { vlanID: 30 }));
  v.allocate({ owner: 'pkg1:default/VLANClaim/a', index: idx, vlanID: 20 });
  assert.equal(
    v.listAllocations().map((a) => a.vlanID),
    [20, 30],
  );
  assert.equal(
    v.listAllocations({ ownerPrefix: 'pkg1:' }).map((a) => a.owner),
    ['pkg1:default/VLANClaim/a'],
  );
  assert.equal(
    v.listAllocations({ owner: 'default/VLANClaim/b' }).map((a) => a.vlanID),
    [30],
  );
});

test.run();
