// IpamCore over the Store seam: conflict -> reload -> retry (what a replicated store will
// use), a failing store turns the core unavailable and never acknowledges, replay checks
// logged answers, restart after compaction gives the same state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { IpamCore, ReplayError, UnavailableError } from '../../src/server/core.js';
import { readdirSync } from 'node:fs';
import { processCompactor } from '../../src/server/store/compactor.js';
import { FileStore } from '../../src/server/store/file-store.js';
import { MemoryStore } from '../../src/server/store/memory-store.js';
import type { DurableState, Op } from '../../src/server/store/ops.js';
import { StoreConflictError, type Store } from '../../src/server/store/store.js';
import type { AllocationRequest } from '../../src/ipam/types.js';
import { cleanup, createIpamFn, tmp } from './helpers.js';

/** A store that delegates to another and fails commits on demand. */
class FlakyStore implements Store {
  readonly kind = 'flaky';
  failNext: Error | undefined;
  loads = 0;
  constructor(readonly inner: Store) {}
  open() {
    return this.inner.open();
  }
  commit(ops: Op[]) {
    if (this.failNext && ops.length > 0) {
      const e = this.failNext;
      this.failNext = undefined;
      return Promise.reject(e);
    }
    return this.inner.commit(ops);
  }
  load(): Promise<DurableState> {
    this.loads++;
    return this.inner.load();
  }
  get live() {
    return this.inner.live;
  }
  close() {
    return this.inner.close();
  }
  stats() {
    return this.inner.stats();
  }
}

const req = (owner: string): AllocationRequest => ({
  owner,
  networkInstance: { name: 'vpc' },
  kind: 'network',
  selector: { matchLabels: { role: 'x' } },
});

async function seeded(store: Store) {
  const core = new IpamCore({ store, createIpam: createIpamFn });
  await core.start();
  await core.mutate((tx) => {
    tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/8' }], 'seed|ni');
    tx.applyPrefix({ networkInstance: { name: 'vpc' }, prefix: '10.0.0.0/24', kind: 'network', labels: { role: 'x' }, owner: 'seed|p' });
  });
  return core;
}

test('a store conflict rolls the allocator back to the store and retries the request', async () => {
  const store = new FlakyStore(new MemoryStore());
  const core = await seeded(store);
  await core.mutate((tx) => tx.allocate(req('a')));
  store.failNext = new StoreConflictError(['default/vpc']);
  // the first attempt applies b in memory, the commit loses the race: reload, then b again
  const b = await core.mutate((tx) => tx.allocate(req('b')));
  assert.is(b.prefix, '10.0.0.2/24');
  assert.is(store.loads, 1);
  assert.is(core.counters.conflicts, 1);
  const all = await core.query((ipam) => ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`));
  assert.equal(all, ['a 10.0.0.1/24', 'b 10.0.0.2/24']);
  // what the store holds rebuilds the same state
  const again = new IpamCore({ store: store.inner, createIpam: createIpamFn });
  await again.start();
  assert.equal(
    again.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`),
    all,
  );
});

test('races lost in a row: the call retries for retryForMs before UNAVAILABLE, and a race won in time answers', async () => {
  const store = new FlakyStore(new MemoryStore());
  const core = new IpamCore({ store, createIpam: createIpamFn, maxRetries: 2, retryForMs: 400 });
  await core.start();
  await core.mutate((tx) => tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/8' }], 'seed|ni'));
  await core.mutate((tx) =>
    tx.applyPrefix({ networkInstance: { name: 'vpc' }, prefix: '10.0.0.0/24', kind: 'network', labels: { role: 'x' }, owner: 'seed|p' }),
  );
  // every commit loses: more attempts than maxRetries, for about retryForMs, then UNAVAILABLE
  const commit = store.commit.bind(store);
  let lost = 0;
  let losing = true;
  store.commit = (ops: Op[]) => {
    if (losing && ops.length > 0) {
      lost++;
      return Promise.reject(new StoreConflictError(['default/vpc']));
    }
    return commit(ops);
  };
  const started = performance.now();
  const e = await core
    .mutate((tx) => tx.allocate(req('a')))
    .then(
      () => undefined,
      (err: Error) => err,
    );
  const took = performance.now() - started;
  assert.instance(e, UnavailableError);
  assert.match(e!.message, /lost \d+ races with other replicas on default\/vpc/);
  assert.ok(lost > 3, `${lost} attempts`);
  assert.ok(took >= 400 && took < 3000, `gave up after ${Math.round(took)} ms`);
  // the races stop within the budget: the call answers, no error
  lost = 0;
  setTimeout(() => (losing = false), 150);
  const a = await core.mutate((tx) => tx.allocate(req('a')));
  assert.ok(lost > 2, `${lost} races lost first`);
  assert.is(a.prefix, '10.0.0.1/24');
});

test('a failing store: the request is not acknowledged, the core turns unavailable for good', async () => {
  const store = new FlakyStore(new MemoryStore());
  let fatal: Error | undefined;
  const core = new IpamCore({ store, createIpam: createIpamFn, onFatal: (e) => (fatal = e) });
  await core.start();
  store.failNext = new Error('EIO: i/o error, fdatasync');
  try {
    await core.mutate((tx) => tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/8' }], 'o'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UnavailableError);
    assert.match((e as Error).message, /not durable: EIO/);
  }
  assert.ok(fatal);
  assert.not.ok(core.healthy);
  for (const call of [() => core.query((i) => i.listAllocations()), () => core.mutate((tx) => tx.release('o'))]) {
    try {
      await call();
      assert.unreachable();
    } catch (e) {
      assert.instance(e, UnavailableError);
    }
  }
});

test('replay refuses a log whose answer the allocator does not reproduce', async () => {
  const store: Store = new MemoryStore();
  const state: DurableState = {
    records: [
      [{ op: 'applyNetworkInstance', ref: { name: 'vpc' }, prefixes: [{ prefix: '10.0.0.0/8' }], owner: 'seed' }],
      [
        {
          op: 'applyPrefix',
          spec: { networkInstance: { name: 'vpc' }, prefix: '10.0.0.0/24', kind: 'network', labels: { role: 'x' }, owner: 'seed2' },
        },
      ],
      [{ op: 'allocate', req: req('a'), prefix: '10.0.0.7/24' }],
      [{ op: 'allocate', req: { ...req('b'), prefix: '10.0.0.7/24' }, prefix: '10.0.0.7/24' }], // taken by a
    ],
    report: [],
  };
  store.open = async () => state;
  const core = new IpamCore({ store, createIpam: createIpamFn });
  try {
    await core.start();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ReplayError);
    assert.match((e as Error).message, /record 3/);
  }
});

/** A FlakyStore that also follows "other replicas": `remote` hands the core their records. */
class FollowingStore extends FlakyStore {
  remote: (records: Op[][]) => void = () => assert.unreachable('the core watches the store');
  watch(onChange: (records: Op[][]) => void): () => void {
    this.remote = onChange;
    return () => undefined;
  }
}

test("another replica's records are replayed as logged; one the allocator does not reproduce makes it reload", async () => {
  const store = new FollowingStore(new MemoryStore());
  const core = await seeded(store);
  const seen: string[] = [];
  const unsubscribe = core.subscribe((c) => seen.push(`${c.type} ${c.allocation?.owner} ${c.allocation?.prefix}`));
  store.remote([[{ op: 'allocate', req: req('r1'), prefix: '10.0.0.9/24' }]]);
  assert.equal(core.ipam.getAllocations('r1')[0]?.prefix, '10.0.0.9/24', 'the logged answer, not the first free address');
  assert.equal(seen, ['ALLOCATED r1 10.0.0.9/24'], 'watchers see it');
  unsubscribe();
  store.remote([[{ op: 'allocate', req: req('r2'), prefix: '10.0.0.10/24' }], [{ op: 'release', owner: 'r1' }]]);
  assert.equal(core.ipam.getAllocations('r2')[0]?.prefix, '10.0.0.10/24', 'replayed without a watcher too');
  assert.equal(core.ipam.getAllocations('r1'), []);
  assert.is(store.loads, 0);
  // 10.0.0.10 is r2's here: this replica's view is not the writer's, so it reads everything again
  store.remote([[{ op: 'allocate', req: req('r3'), prefix: '10.0.0.10/24' }]]);
  await core.query(() => undefined);
  assert.is(store.loads, 1, 'a reload');
  assert.equal(core.ipam.getAllocations('r2'), [], 'the allocator is what the store holds');
  assert.equal(core.ipam.getAllocations('r3'), []);
  await core.close();
});

test('file store: restart after compaction (snapshot + later records) gives identical state', async () => {
  const dir = join(tmp(), 'data');
  const core = await seeded(new FileStore({ dir, compactBytes: 2048 }));
  for (let i = 0; i < 120; i++) await core.mutate((tx) => tx.allocate(req(`o${i}`)));
  await core.mutate((tx) => tx.release('o7'));
  const want = core.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`);
  await core.close();
  assert.ok(core.stats().compactions >= 1);
  const again = new IpamCore({ store: new FileStore({ dir }), createIpam: createIpamFn });
  await again.start();
  assert.equal(
    again.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`),
    want,
  );
  // and it goes on: the freed address is the next one out
  const next = await again.mutate((tx) => tx.allocate(req('new')));
  assert.is(next.prefix, '10.0.0.8/24');
  await again.close();
});

test('file store with the worker compactor: snapshots come from the log, never from a copy of the live state', async () => {
  const dir = join(tmp(), 'data');
  const core = await seeded(new FileStore({ dir, compactBytes: 2048, segmentSize: 4096, compactor: processCompactor() }));
  let copies = 0;
  const live = core.ipam.snapshot.bind(core.ipam);
  core.ipam.snapshot = () => (copies++, live());
  const compacted = async (n: number) => {
    for (let t = 0; core.stats().compactions < n; t++) {
      if (t > 1000) throw new Error(`compaction ${n} never finished`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // two rounds, so that the second compaction starts from the first one's snapshot
  for (let i = 0; i < 200; i++) {
    await core.mutate((tx) => tx.allocate(req(`o${i}`)));
    if (i % 10 === 9) await core.mutate((tx) => tx.release(`o${i - 4}`));
    if (i === 99) await compacted(1);
  }
  await compacted(2);
  const want = core.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`);
  await core.close(); // waits for a compaction in flight
  assert.ok(core.stats().compactions >= 2, `compactions: ${core.stats().compactions}`);
  assert.is(copies, 0, 'the live state was never copied');
  const files = readdirSync(dir);
  assert.not.ok(files.includes('wal-0000000001.log'), `covered segments are deleted: ${files.join(' ')}`);
  assert.not.ok(
    files.some((f) => f.endsWith('.tmp')),
    files.join(' '),
  );
  const again = new IpamCore({ store: new FileStore({ dir }), createIpam: createIpamFn });
  await again.start();
  assert.equal(
    again.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`),
    want,
  );
  await again.close();
});

test('a compactor that fails leaves the log whole; the store goes on and compacts later', async () => {
  const dir = join(tmp(), 'data');
  const notes: string[] = [];
  let fail = true;
  const worker = processCompactor();
  const store = new FileStore({
    dir,
    compactBytes: 2048,
    segmentSize: 4096,
    onNote: (n) => notes.push(`${n.level}: ${n.msg}`),
    compactor: (job) => (fail ? Promise.reject(new Error('disk full')) : worker(job)),
  });
  const core = await seeded(store);
  for (let i = 0; i < 60; i++) await core.mutate((tx) => tx.allocate(req(`o${i}`)));
  assert.is(core.stats().compactions, 0);
  assert.ok(
    notes.some((n) => /^error: compaction failed: disk full/.test(n)),
    notes.join('\n'),
  );
  fail = false;
  for (let i = 60; i < 120; i++) await core.mutate((tx) => tx.allocate(req(`o${i}`)));
  const want = core.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`);
  await core.close();
  assert.ok(core.stats().compactions >= 1, 'a later compaction succeeds');
  const again = new IpamCore({ store: new FileStore({ dir }), createIpam: createIpamFn });
  await again.start();
  assert.equal(
    again.ipam.listAllocations().map((x) => `${x.owner} ${x.prefix}`),
    want,
  );
  await again.close();
});

test.after(() => cleanup());
test.run();
