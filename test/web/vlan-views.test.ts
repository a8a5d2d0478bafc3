// What the web view computes for a VLAN index, without a browser: the state of every id (a
// claim's over the definition it was drawn from), one holder per shared id, and what a
// package-scoped viewer may read of other packages' holders.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createIpam } from '../../src/ipam/index.js';
import { vlanIndexes, vlanIndexMap } from '../../src/server/web/vlan-views.js';

const index = { name: 'edge1', namespace: 'default' };

function space() {
  const ipam = createIpam();
  const v = ipam.vlan;
  v.applyIndex({ index, owner: 'ops|default/VLANIndex/edge1' });
  v.applyIndex({ index: { name: 'other' }, owner: 'ops|default/VLANIndex/other' });
  v.applyDefinition({ index, range: '100:109', labels: { role: 'ran' }, owner: 'ops|default/VLAN/ran' });
  v.applyDefinition({ index, vlanID: 300, labels: { role: 'mgmt' }, owner: 'ops|default/VLAN/mgmt' });
  // drawn from the operator's range; selecting the single-id definition; shared; a block
  v.allocate({ index, selector: { matchLabels: { role: 'ran' } }, owner: 'upf|default/VLANClaim/n3', labels: { if: 'n3' } });
  v.allocate({ index, selector: { matchLabels: { role: 'mgmt' } }, owner: 'upf|default/VLANClaim/mgmt' });
  v.allocate({ index, claim: 'bd-1', owner: 'upf|default/VLANClaim/n6', labels: { if: 'n6' } });
  v.allocate({ index, claim: 'bd-1', owner: 'smf|default/VLANClaim/n6', labels: { secret: 'smf' } });
  v.allocate({ index, range: '4', owner: 'smf|default/VLANClaim/trunk' });
  return ipam;
}

test("each id's state and the counts: a claim inside a definition counts as claimed", () => {
  const m = vlanIndexMap(space(), index, {});
  assert.equal(m.counts, { free: 4096 - 3 - 10 - 2 - 4, reserved: 3, defined: 9 + 1, allocated: 2, range: 4 });
  assert.equal(
    m.holders.map((h) => `${h.start}:${h.end} ${h.state} ${h.owners.map((o) => `${o.package}|${o.owner}`).join(',')}`),
    [
      '2:2 allocated upf|default/VLANClaim/n6,smf|default/VLANClaim/n6',
      '3:6 range smf|default/VLANClaim/trunk',
      '100:109 defined ops|default/VLAN/ran',
      '100:100 allocated upf|default/VLANClaim/n3',
      '300:300 defined ops|default/VLAN/mgmt,upf|default/VLANClaim/mgmt',
    ],
  );
  assert.equal(m.holders[0]!.claim, 'bd-1');
  assert.equal(m.holders[4]!.labels, { role: 'mgmt' }, "a definition's labels, not those of the claims selecting it");
});

test('a package-scoped viewer lists the indexes it holds ids in, and reads no owner, claim name or label of another package', () => {
  const ipam = space();
  assert.equal(
    vlanIndexes(ipam, {}).map((x) => x.name),
    ['edge1', 'other'],
  );
  const mine = vlanIndexes(ipam, { scope: 'smf' });
  assert.equal(
    mine.map((x) => [x.name, x.package, x.owner]),
    [['edge1', '', '']],
  );
  const m = vlanIndexMap(ipam, index, { scope: 'smf' });
  const shared = m.holders[0]!;
  assert.equal(shared.owners, [
    { package: '', owner: '' },
    { package: 'smf', owner: 'default/VLANClaim/n6' },
  ]);
  assert.equal(shared.labels, { secret: 'smf' }, 'its own labels');
  const n3 = m.holders.find((h) => h.start === 100 && h.state === 'allocated')!;
  assert.equal(n3, { start: 100, end: 100, state: 'allocated', owners: [{ package: '', owner: '' }] });
  assert.equal(m.counts, vlanIndexMap(ipam, index, {}).counts, 'the same ids taken');
});

test('an index that does not exist is NotFound', () => {
  assert.throws(() => vlanIndexMap(space(), { name: 'nope', namespace: 'default' }, {}), /VLAN index default\/nope not found/);
});

test.run();
