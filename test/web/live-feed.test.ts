// The web view's live feed: nothing is subscribed to the server's changes while no page is
// open (the gRPC path pays nothing), a page that came with data hears whether it missed a
// change, a package's page hears only of its own allocations, and a page that stops reading is
// cut off instead of buffered without bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Allocation } from '../../src/ipam/index.js';
import type { Change, IpamCore } from '../../src/server/core.js';
import { LiveFeed } from '../../src/server/web/events.js';

class FakeCore {
  readonly listeners = new Set<(c: Change) => void>();
  subscribe(l: (c: Change) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(c: Change): void {
    for (const l of this.listeners) l(c);
  }
}

class FakeResponse extends EventEmitter {
  written = '';
  writableLength = 0;
  destroyed = false;
  ended = false;
  writeHead(): this {
    return this;
  }
  write(s: string): boolean {
    this.written += s;
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const alloc = (owner: string): Allocation => ({
  owner,
  networkInstance: { name: 'vpc', namespace: 'default' },
  kind: 'network',
  addressFamily: 'ipv4',
  prefix: '10.0.0.2/24',
  parent: '10.0.0.0/24',
  labels: {},
});

function setup() {
  const core = new FakeCore();
  const feed = new LiveFeed(core as unknown as IpamCore);
  const page = () => new FakeResponse();
  const open = (r: FakeResponse, scope?: string, since?: string) =>
    feed.open(r as unknown as ServerResponse, scope === undefined ? {} : { scope }, since);
  return { core, feed, page, open };
}

test('subscribes to the server only while a page is open', () => {
  const { core, page, open } = setup();
  assert.is(core.listeners.size, 0);
  const a = page();
  const b = page();
  open(a);
  open(b);
  assert.is(core.listeners.size, 1, 'one subscription for every page');
  a.emit('close');
  assert.is(core.listeners.size, 1);
  b.emit('close');
  assert.is(core.listeners.size, 0, 'the last page gone, nothing is subscribed');
});

test("a package's page hears only of its own allocations", () => {
  const { core, page, open } = setup();
  const mine = page();
  const all = page();
  open(mine, 'edge');
  open(all);
  core.emit({ seq: 1, type: 'ALLOCATED', allocation: alloc('core|default/IPClaim/x') });
  core.emit({ seq: 2, type: 'ALLOCATED', allocation: alloc('edge|default/IPClaim/y') });
  assert.is(mine.written.match(/"type":"ALLOCATED"/g)?.length, 1);
  assert.is(all.written.match(/"type":"ALLOCATED"/g)?.length, 2);
  assert.not.match(mine.written, 'IPClaim', 'events name no owner');
});

test("VLAN changes name their index, and a package's page hears only of its own claims", () => {
  const { core, page, open } = setup();
  const mine = page();
  const all = page();
  open(mine, 'edge');
  open(all);
  const vlan = (owner: string) => ({ owner, index: { name: 'cluster01', namespace: 'default' }, vlanID: 7, labels: {} });
  core.emit({ seq: 1, type: 'VLAN_ALLOCATED', vlan: vlan('core|default/VLANClaim/x') });
  core.emit({ seq: 2, type: 'VLAN_RELEASED', vlan: vlan('edge|default/VLANClaim/y') });
  core.emit({
    seq: 3,
    type: 'VLAN_INDEX_APPLIED',
    vlanIndex: { name: 'edge1', namespace: 'default', kind: 'esg', labels: {}, owner: 'seed|default/VLANIndex/edge1' },
  });
  assert.equal(all.written.match(/^data: .*$/gm)?.slice(1), [
    'data: {"type":"VLAN_ALLOCATED","vlanIndex":"default/cluster01"}',
    'data: {"type":"VLAN_RELEASED","vlanIndex":"default/cluster01"}',
    'data: {"type":"VLAN_INDEX_APPLIED","vlanIndex":"default/edge1"}',
  ]);
  assert.is(mine.written.match(/"type":"VLAN_/g)?.length, 2, "its own claim and the index, not the other package's claim");
  assert.not.match(mine.written, 'VLANClaim', 'events name no owner');
});

test('a page that came with data starts quiet when nothing changed since; otherwise its stream starts with RESYNC', () => {
  const { core, feed, page, open } = setup();
  const quiet = feed.mark();
  const missed = feed.mark();
  assert.is(core.listeners.size, 1, 'subscribed from the moment the data is read');
  core.emit({ seq: 1, type: 'ALLOCATED', allocation: alloc('a|default/IPClaim/x') });
  const late = feed.mark();
  const [a, b, c, d, e] = [page(), page(), page(), page(), page()];
  open(a, undefined, late);
  open(b, undefined, missed);
  open(c);
  open(d, undefined, 'not-a-mark');
  open(e, undefined, late);
  assert.not.match(a.written, 'RESYNC', 'nothing changed since its data was read');
  for (const r of [b, c, d, e]) assert.match(r.written, /^: connected\n\nevent: change\ndata: \{"type":"RESYNC"\}\n\n$/);
  for (const r of [a, b, c, d, e]) r.emit('close');
  assert.is(core.listeners.size, 1, 'the unclaimed mark still listens');
  open(page(), undefined, quiet);
  assert.is(core.listeners.size, 1);
  feed.closeAll();
  assert.is(core.listeners.size, 0);
});

test('a page that stops reading is cut off', () => {
  const { core, page, open } = setup();
  const slow = page();
  open(slow);
  slow.writableLength = 10 * 1024 * 1024;
  core.emit({ seq: 1, type: 'ALLOCATED', allocation: alloc('a|default/IPClaim/x') });
  assert.ok(slow.destroyed);
  assert.is(core.listeners.size, 0);
});

test.run();
