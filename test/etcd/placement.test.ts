// Where write leases go (docs/etcd.md, "Placement"): two replicas (real processes) on one etcd
// member, clients of both allocating in four network instances. With `pack` (the default) one
// replica ends up holding every instance; with `spread` each holds two. Either way every
// allocation succeeds and no address is handed out twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { requireEtcd, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { raw } from '../server/helpers.js';
import { startReplica, stopReplica, writeSeed, type Replica } from './support.js';
import { oneSubnetSeed } from '../support/seed.js';

const INSTANCES = ['vpc', 'vpc-1', 'vpc-2', 'vpc-3'];
const seedText = INSTANCES.map((ni, k) =>
  oneSubnetSeed('shared', '10.1.0.0/16')
    .replaceAll('{name: vpc}', `{name: ${ni}}`)
    .replaceAll('networkInstance: vpc}', `networkInstance: ${ni}}`)
    .replaceAll('{name: shared,', `{name: shared-${k},`),
).join('---\n');

/** instance -> writer holding its lease, read straight from etcd. */
async function holders(endpoints: string[]): Promise<Map<string, string>> {
  const client = new Etcd3({ hosts: endpoints, dialTimeout: 2000 });
  try {
    const kvs = await client.getAll().prefix('/ipam/lease/ni/').strings();
    return new Map(Object.entries(kvs).map(([k, v]) => [k.slice('/ipam/lease/ni/'.length), (JSON.parse(v) as { w: string }).w]));
  } finally {
    client.close();
  }
}

/** Allocates `rounds` times in every instance through every replica; returns owner -> prefix per instance. */
async function allocate(replicas: Replica[], tag: string, rounds: number): Promise<Map<string, string>> {
  const clients = replicas.map((r) => raw('alloc', r.address));
  const got = new Map<string, string>();
  try {
    for (let i = 0; i < rounds; i++) {
      await Promise.all(
        clients.flatMap((c, r) =>
          INSTANCES.map(async (ni) => {
            const name = `${tag}-${r}-${ni}-${i}`;
            const res = await c.call<{ allocatedPrefix: string }>('Allocation', {
              name,
              kind: 'IPClaim',
              labels: { 'ipam-injector.dev/package': 'placement' },
              spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': ni, role: 'shared' } },
            });
            got.set(`${ni} ${name}`, `${ni} ${res.allocatedPrefix}`);
          }),
        ),
      );
    }
  } finally {
    for (const c of clients) c.close();
  }
  return got;
}

async function withReplicas(placement: string[], fn: (replicas: Replica[], etcd: EtcdCluster) => Promise<void>): Promise<void> {
  const etcd = await startEtcd({ members: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'ipam-placement-'));
  const seed = writeSeed(dir, seedText);
  let replicas: Replica[] = [];
  try {
    replicas = await Promise.all(
      [0, 1].map(() => startReplica(etcd.endpoints, ['--seed', seed, '--peer-listen', '127.0.0.1:0', ...placement])),
    );
    await fn(replicas, etcd);
  } finally {
    await Promise.all(replicas.map((r) => stopReplica(r)));
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertUnique(got: Map<string, string>): void {
  const seen = new Map<string, string>();
  for (const [owner, address] of got) {
    assert.not.ok(seen.has(address), `${address} handed out twice: ${seen.get(address)} and ${owner}`);
    seen.set(address, owner);
  }
}

/** Allocates until every instance has a lease holder (claims happen as requests come). */
async function settle(replicas: Replica[], endpoints: string[]): Promise<{ held: Map<string, string>; got: Map<string, string> }> {
  const got = new Map<string, string>();
  for (let round = 0; round < 20; round++) {
    for (const [k, v] of await allocate(replicas, `r${round}`, 2)) got.set(k, v);
    const held = await holders(endpoints);
    if (held.size === INSTANCES.length) return { held, got };
  }
  throw new Error(`not every instance got a lease holder: ${JSON.stringify([...(await holders(endpoints))])}`);
}

if (requireEtcd(test)) {
  test('pack (the default): one replica holds the leases of all four instances; no address twice', () =>
    withReplicas([], async (replicas, etcd) => {
      const { held, got } = await settle(replicas, etcd.endpoints);
      for (const [k, v] of await allocate(replicas, 'after', 3)) got.set(k, v);
      assert.is(new Set(held.values()).size, 1, `holders: ${JSON.stringify([...held])}`);
      assertUnique(got);
    }));

  test('--lease-placement spread: each replica holds two of the four instances; no address twice', () =>
    withReplicas(['--lease-placement', 'spread'], async (replicas, etcd) => {
      const { held, got } = await settle(replicas, etcd.endpoints);
      for (const [k, v] of await allocate(replicas, 'after', 3)) got.set(k, v);
      const counts = [...new Set(held.values())].map((w) => [...held.values()].filter((x) => x === w).length).sort();
      assert.equal(counts, [2, 2], `holders: ${JSON.stringify([...held])}`);
      assertUnique(got);
    }));

  test('--lease-placement needs --peer-listen, and takes pack or spread only', () =>
    withReplicas([], async (_replicas, etcd) => {
      const refused = (extra: string[]) =>
        startReplica(etcd.endpoints, extra, 20_000).then(
          async (r) => {
            await stopReplica(r);
            return 'started';
          },
          (e: Error) => e.message,
        );
      assert.match(await refused(['--lease-placement', 'spread']), /--lease-placement needs --peer-listen/);
      assert.match(
        await refused(['--peer-listen', '127.0.0.1:0', '--lease-placement', 'even']),
        /--lease-placement must be pack or spread, not \\"even\\"/,
      );
    }));
}

test.run();
