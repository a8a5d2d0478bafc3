// One contract, every store (memory, file, etcd): the same steps and the same assertions
// against each, through the core as the server uses it. A store that cannot honour a step by
// design (memory keeps nothing across processes) says so instead of passing silently.
//   commit + reopen: every acknowledged change is there, the same;
//   load: what the store reads back is what the live allocator holds (rollback, conflicts);
//   VLAN: indexes and claims of every form come back the same (reopen and load);
//   kill -9 of a real `serve` under load: no acknowledged allocation lost or changed;
//   damage to what was acknowledged: the store refuses to open, saying where.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { IpamCore } from '../../src/server/core.js';
import { rebuild } from '../../src/server/replay.js';
import { LiveIpam } from '../../src/server/live.js';
import { FileStore } from '../../src/server/store/file-store.js';
import { decodeFrames } from '../../src/server/store/frame.js';
import { MemoryStore } from '../../src/server/store/memory-store.js';
import type { Store } from '../../src/server/store/store.js';
import type { AllocationRequest } from '../../src/ipam/types.js';
import { etcdMissing, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { oneSubnetSeed } from '../support/seed.js';
import { cleanup, createIpamFn, heldAllocations, raw, spawnServer, tmp } from './helpers.js';

/** Where one store keeps its state; `open()` is a store over it (a restart, for durable ones). */
interface Place {
  open(): Promise<Store>;
  /** `serve` flags for this state (durable stores). */
  serveArgs?: string[];
  /** Damages acknowledged state; the refusal must match what it returns. */
  damage?(): Promise<RegExp>;
}

interface Kind {
  name: string;
  /** Why a step does not apply, by step. */
  notApplicable?: { crash?: string; damage?: string };
  /** Why this store cannot be tested here (missing etcd). */
  missing?: () => string | null;
  place(): Promise<Place>;
}

let etcd: EtcdCluster | undefined;
let etcdPrefixes = 0;

const KINDS: Kind[] = [
  {
    name: 'memory',
    notApplicable: {
      crash: 'the memory store keeps nothing across processes, by design',
      damage: 'the memory store has nothing on disk to damage',
    },
    async place() {
      const store = new MemoryStore(); // one instance: "reopening" it is all a memory store has
      return { open: async () => store };
    },
  },
  {
    name: 'file',
    async place() {
      const data = join(tmp(), 'data');
      return {
        open: async () => new FileStore({ dir: data }),
        serveArgs: ['--data', data],
        async damage() {
          // a cut at a frame boundary of the newest segment (after the clean close)
          const seg = readdirSync(data)
            .filter((f) => /^wal-\d+\.log$/.test(f))
            .sort()
            .at(-1)!;
          const buf = readFileSync(join(data, seg));
          const start = 16;
          const frames = decodeFrames(buf, start).payloads;
          let cut = start;
          for (const p of frames.slice(0, -2)) cut += 8 + p.length;
          truncateSync(join(data, seg), cut);
          return new RegExp(seg.replace('.', '\\.'));
        },
      };
    },
  },
  {
    name: 'etcd',
    missing: etcdMissing,
    async place() {
      etcd ??= await startEtcd({ members: 1 });
      const prefix = `/contract${etcdPrefixes++}`;
      const endpoints = etcd.endpoints;
      const { EtcdStore } = await import('../../src/server/store/etcd-store.js');
      return {
        open: async () => new EtcdStore({ endpoints, prefix, live: new LiveIpam() }),
        serveArgs: ['--store', 'etcd', '--etcd-endpoints', endpoints.join(','), '--etcd-prefix', prefix],
        async damage() {
          // an acknowledged allocation's value is no longer what the store wrote
          const client = new Etcd3({ hosts: endpoints });
          try {
            const keys = await client.getAll().prefix(prefix).keys();
            const key = keys.find((k) => k.includes('o7'))!;
            assert.ok(key, `an owner key for o7 among ${keys.join(' ')}`);
            await client.put(key).value('{"not what the store wrote');
          } finally {
            client.close();
          }
          return /JSON/; // etcd-store names no key yet: the parse error is what it says
        },
      };
    },
  },
];

const req = (owner: string): AllocationRequest => ({
  owner,
  networkInstance: { name: 'vpc' },
  kind: 'network',
  selector: { matchLabels: { role: 'x' } },
});

async function started(store: Store): Promise<IpamCore> {
  const core = new IpamCore({ store, createIpam: createIpamFn });
  await core.start();
  return core;
}

/** Space, 40 allocations, 5 released: what every store must keep. */
async function work(core: IpamCore): Promise<string[]> {
  await core.mutate((tx) => {
    tx.applyNetworkInstance({ name: 'vpc' }, [{ prefix: '10.0.0.0/8' }], 'seed|ni');
    tx.applyPrefix({ networkInstance: { name: 'vpc' }, prefix: '10.0.0.0/24', kind: 'network', labels: { role: 'x' }, owner: 'seed|p' });
  });
  await Promise.all(Array.from({ length: 40 }, (_, i) => core.mutate((tx) => tx.allocate(req(`pkg|o${i}`)))));
  for (let i = 0; i < 5; i++) await core.mutate((tx) => tx.release(`pkg|o${i * 3}`));
  return held(core);
}

const held = (core: IpamCore) =>
  core.ipam
    .listAllocations()
    .map((a) => `${a.owner} ${a.prefix}`)
    .sort();

/** VLAN: an index, an operator's range, claims of every form (one shared), releases. */
async function workVlan(core: IpamCore): Promise<string[]> {
  const index = { name: 'cluster01' };
  await core.mutate((tx) => {
    tx.applyVlanIndex({ index, owner: 'seed|wc', implied: true });
    tx.applyVlanIndex({ index: { name: 'edge1' }, kind: 'device', labels: { site: 'edge1' }, owner: 'seed|db' });
    tx.applyVlanDefinition({ index, range: '100:109', labels: { purpose: 'ran' }, owner: 'seed|ran' });
  });
  await Promise.all(Array.from({ length: 20 }, (_, i) => core.mutate((tx) => tx.allocateVlan({ owner: `pkg|v${i}`, index }))));
  await core.mutate((tx) => {
    tx.allocateVlan({ owner: 'pkg|n3', index, claim: 'vpc-ran-cluster01-bd' });
    tx.allocateVlan({ owner: 'other|n4', index, claim: 'vpc-ran-cluster01-bd' });
    tx.allocateVlan({ owner: 'pkg|ran', index, selector: { matchLabels: { purpose: 'ran' } } });
    tx.allocateVlan({ owner: 'pkg|trunk', index, range: '4' });
    tx.allocateVlan({ owner: 'pkg|static', index: { name: 'edge1' }, vlanID: 300 });
  });
  for (let i = 0; i < 4; i++) await core.mutate((tx) => tx.releaseVlan(`pkg|v${i * 5}`));
  return heldVlans(core);
}

/** (Sorted: the order in which owners joined a shared id is not state.) */
const heldVlans = (core: Pick<IpamCore, 'ipam'>) => [
  ...core.ipam.vlan.listIndexes().map((x) => `index ${x.namespace}/${x.name} ${x.kind} ${x.owner}${x.implied ? ' implied' : ''}`),
  ...core.ipam.vlan
    .listAllocations()
    .map((a) => `${a.owner} ${a.index.name} ${a.vlanRange ?? a.vlanID}${a.claim ? ` ${a.claim}` : ''}${a.definition ? ' definition' : ''}`)
    .sort(),
];

for (const kind of KINDS) {
  const missing = kind.missing?.();
  if (missing) {
    test(`${kind.name} store: the contract (not run: ${missing})`, () => {
      if (process.env.CI) assert.unreachable(`${kind.name}: ${missing}`);
      console.log(`  skipped: ${kind.name} store contract: ${missing}`);
    });
    continue;
  }

  test(`${kind.name} store: what was committed is there after a reopen, the same`, async () => {
    const place = await kind.place();
    const core = await started(await place.open());
    const want = await work(core);
    assert.is(want.length, 35);
    await core.close();
    const again = await started(await place.open());
    assert.equal(held(again), want);
    await again.close();
  });

  test(`${kind.name} store: load() reads back what the live allocator holds`, async () => {
    const place = await kind.place();
    const store = await place.open();
    const core = await started(store);
    const want = await work(core);
    const state = await store.load();
    assert.equal(
      rebuild(state, createIpamFn)
        .listAllocations()
        .map((a) => `${a.owner} ${a.prefix}`)
        .sort(),
      want,
    );
    await core.close();
  });

  test(`${kind.name} store: VLAN indexes and claims are there after a reopen, the same; load() reads them back`, async () => {
    const place = await kind.place();
    const store = await place.open();
    const core = await started(store);
    const want = await workVlan(core);
    assert.is(want.filter((x) => !x.startsWith('index')).length, 22);
    assert.equal(heldVlans({ ipam: rebuild(await store.load(), createIpamFn) }), want);
    await core.close();
    const again = await started(await place.open());
    assert.equal(heldVlans(again), want);
    // and it goes on from there: the lowest free id, never one already held
    const next = await again.mutate((tx) => tx.allocateVlan({ owner: 'pkg|next', index: { name: 'cluster01' } }));
    assert.is(next.vlanID, 2);
    await again.close();
  });

  test(`${kind.name} store: kill -9 of the server under load loses no acknowledged allocation`, async () => {
    if (kind.notApplicable?.crash) return void console.log(`  not applicable: ${kind.notApplicable.crash}`);
    const place = await kind.place();
    const seed = join(tmp(), 'seed.yaml');
    writeFileSync(seed, oneSubnetSeed('contract', '10.1.0.0/16'));
    const acked = new Map<string, string>();
    for (let round = 0; round < 2; round++) {
      const server = await spawnServer([...place.serveArgs!, '--seed', seed]);
      const c = raw('alloc', server.address);
      let killed = false;
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; !killed; i++) {
            const name = `r${round}w${w}i${i}`;
            try {
              const r = await c.call<{ allocatedPrefix: string }>('Allocation', {
                name,
                kind: 'IPClaim',
                labels: { 'ipam-injector.dev/package': 'contract' },
                spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'contract' } },
              });
              acked.set(`contract|default/IPClaim/${name}`, r.allocatedPrefix);
              if (acked.size >= 60 * (round + 1) && !killed) {
                killed = true;
                server.proc.kill('SIGKILL');
              }
            } catch {
              killed = true;
            }
          }
        }),
      );
      c.close();
      await server.exited;
    }
    const server = await spawnServer(place.serveArgs!);
    const got = await heldAllocations(server.address, 'contract|');
    server.proc.kill('SIGTERM');
    assert.is(await server.exited, 0);
    const lost = [...acked].filter(([owner, prefix]) => got.get(owner) !== prefix);
    assert.equal(lost, [], `${lost.length} of ${acked.size} acknowledged allocations lost or changed`);
    assert.is(new Set(got.values()).size, got.size, 'no address held twice');
  });

  test(`${kind.name} store: damage to acknowledged state refuses to open, saying where`, async () => {
    if (kind.notApplicable?.damage) return void console.log(`  not applicable: ${kind.notApplicable.damage}`);
    const place = await kind.place();
    const core = await started(await place.open());
    await work(core);
    await core.close();
    const where = await place.damage!();
    const err = await started(await place.open()).then(
      async (c) => {
        await c.close();
        return undefined;
      },
      (e: Error) => e,
    );
    assert.ok(err, 'the store must refuse to open');
    assert.match(err!.message, where, err!.message);
  });
}

test.after(async () => {
  await etcd?.stop();
  cleanup();
});

test.run();
