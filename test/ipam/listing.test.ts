// Listing in pages: a page is the same slice of the whole list whatever its offset, whether it
// is taken from the whole space, from inside one prefix, or by part of an owner's name.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { fresh, pfx, req, sel, throwsIpam, ni } from './helpers.js';

function filled() {
  const ipam = fresh(['10.0.0.0/8', '2001:db8::/32']);
  pfx(ipam, '10.0.1.1/24', 'network', { s: 'a' });
  pfx(ipam, '10.0.2.1/24', 'network', { s: 'b' });
  pfx(ipam, '10.1.0.0/16', 'pool', { s: 'p' });
  for (let i = 0; i < 30; i++)
    ipam.allocate(req(`pkg${i % 3}|default/IPClaim/a-${i}`, 'network', { selector: sel({ s: i % 2 ? 'a' : 'b' }) }));
  for (let i = 0; i < 5; i++) ipam.allocate(req(`pkg9|default/IPClaim/pool-${i}`, 'pool', { prefixLength: 24, selector: sel({ s: 'p' }) }));
  return ipam;
}

test('every page of the whole list is that slice of the list', () => {
  const ipam = filled();
  const all = ipam.listAllocations();
  assert.is(all.length, 35);
  for (const [offset, limit] of [
    [0, 1],
    [0, 7],
    [3, 10],
    [29, 10],
    [35, 5],
    [0, 100],
  ] as const) {
    assert.equal(ipam.listAllocations({ offset, limit }), all.slice(offset, offset + limit), `offset ${offset} limit ${limit}`);
  }
});

test('allocationsWithin: what lies inside one prefix, in order, in pages', () => {
  const ipam = filled();
  const inA = ipam.allocationsWithin(ni, '10.0.1.0/24');
  assert.is(inA.length, 15);
  for (const a of inA) assert.is(a.parent, '10.0.1.0/24');
  assert.equal(
    inA.map((a) => a.prefix),
    [...inA.map((a) => a.prefix)].sort((x, y) => Number(x.split('.')[3]!.split('/')[0]) - Number(y.split('.')[3]!.split('/')[0])),
  );
  assert.equal(ipam.allocationsWithin(ni, '10.0.1.0/24', 4, 3), inA.slice(4, 7));
  assert.is(ipam.allocationsWithin(ni, '10.0.0.0/8').length, 35, 'an aggregate holds everything under it');
  assert.is(ipam.allocationsWithin(ni, '10.1.0.0/16').length, 5);
  throwsIpam(() => ipam.allocationsWithin(ni, '10.9.0.0/16'), 'NotFound', /prefix 10\.9\.0\.0\/16 not found/);
});

test('ownerContains finds owners by part of their name, pages included', () => {
  const ipam = filled();
  const hits = ipam.listAllocations({ ownerContains: 'a-1' });
  assert.equal(
    hits.map((a) => a.owner).sort(),
    ['a-1', 'a-10', 'a-11', 'a-12', 'a-13', 'a-14', 'a-15', 'a-16', 'a-17', 'a-18', 'a-19']
      .map((n) => `pkg${Number(n.slice(2)) % 3}|default/IPClaim/${n}`)
      .sort(),
  );
  assert.equal(ipam.listAllocations({ ownerContains: 'a-1', offset: 2, limit: 3 }), hits.slice(2, 5));
  assert.equal(
    ipam.listAllocations({ ownerContains: 'a-1', ownerPrefix: 'pkg0|' }).map((a) => a.owner),
    hits.filter((a) => a.owner.startsWith('pkg0|')).map((a) => a.owner),
  );
});

test.run();
