// Smoke test of the etcd test helper with the real etcd and the npm `etcd3` client: what the
// etcd store relies on (transactions that compare a mod revision, watches, leases), and what
// failure tests rely on (leader found, member killed and restarted, everything cleaned up).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { Etcd3 } from 'etcd3';
import { requireEtcd, startEtcd, etcdVersion, type EtcdCluster } from './etcd.js';

if (requireEtcd(test)) {
  test('one member: CAS on mod revision, watch, lease', async () => {
    const etcd = await startEtcd({ members: 1 });
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      console.log(`etcd ${etcdVersion()} at ${etcd.endpoints.join(',')}`);
      // Create only if absent (create revision 0), as an allocation shard is created.
      const created = await client.if('ni/default', 'Create', '==', 0).then(client.put('ni/default').value('v1')).commit();
      assert.ok(created.succeeded);
      const again = await client.if('ni/default', 'Create', '==', 0).then(client.put('ni/default').value('x')).commit();
      assert.not.ok(again.succeeded, 'second create must lose');

      // Compare-and-swap on the mod revision read before: the first writer wins, a stale one loses.
      const read = await client.get('ni/default').exec();
      const rev = read.kvs[0].mod_revision;
      const win = await client.if('ni/default', 'Mod', '==', rev).then(client.put('ni/default').value('v2')).commit();
      assert.ok(win.succeeded);
      const stale = await client
        .if('ni/default', 'Mod', '==', rev)
        .then(client.put('ni/default').value('lost'))
        .else(client.get('ni/default'))
        .commit();
      assert.not.ok(stale.succeeded);
      assert.is(await client.get('ni/default').string(), 'v2');

      // Watch a prefix: a put arrives as an event with its value.
      const watcher = await client.watch().prefix('alloc/').create();
      const seen = new Promise<string>((resolve) => watcher.on('put', (kv) => resolve(`${kv.key}=${kv.value}`)));
      await client.put('alloc/10.0.0.2').value('owner-a');
      assert.is(await withTimeout(seen, 5000, 'watch event'), 'alloc/10.0.0.2=owner-a');
      await watcher.cancel();

      // Lease: a key bound to it disappears when the lease is revoked.
      const lease = client.lease(30, { autoKeepAlive: false });
      await lease.put('replica/a').value('alive');
      assert.ok((await lease.grant()).length > 0);
      assert.is(await client.get('replica/a').string(), 'alive');
      const kept = await lease.keepaliveOnce();
      assert.ok(Number(kept.TTL) > 0 && Number(kept.TTL) <= 30, `lease kept alive with TTL ${kept.TTL}`);
      await lease.revoke();
      assert.is(await client.get('replica/a').string(), null);
    } finally {
      client.close();
      await etcd.stop();
    }
  });

  test('three members: leader found, killed, re-elected; member restarted catches up; cleanup', async () => {
    const etcd = await startEtcd({ members: 3 });
    let client = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 1000 });
    try {
      const members = await client.cluster.memberList({});
      assert.is(members.members.length, 3);
      assert.equal(
        members.members.map((m) => m.clientURLs[0]).sort(),
        [...etcd.endpoints].sort(),
        'members advertise the helper’s loopback client URLs',
      );
      for (const url of etcd.endpoints) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

      const leader = await etcd.leader();
      assert.is((await etcd.followers()).length, 2);
      await client.put('before').value('1');

      await etcd.kill(leader);
      assert.not.ok(leader.running);
      const next = await etcd.leader();
      assert.is.not(next, leader, 'a new leader among the survivors');
      // Writes go on with two of three members (the client may need to retry once).
      await retry(() => client.put('during').value('2').exec(), 15_000);

      await etcd.restart(leader);
      assert.ok(leader.running);
      await etcd.waitHealthy();
      // The restarted member has caught up: a member-local read on it alone sees the write.
      client.close();
      client = new Etcd3({ hosts: [leader.clientUrl] });
      const local = await retry(async () => {
        const v = await client.get('during').serializable(true).string();
        if (v !== '2') throw new Error(`restarted member still reads ${v}`);
        return v;
      }, 10_000);
      assert.is(local, '2');
      assert.is(await client.get('before').string(), '1');
    } finally {
      client.close();
      await stopAndCheckCleanup(etcd);
    }
  });
}

async function stopAndCheckCleanup(etcd: EtcdCluster): Promise<void> {
  await etcd.stop();
  for (const m of etcd.members) {
    assert.not.ok(m.running, `${m.name} stopped`);
    assert.not.ok(existsSync(m.dataDir), `${m.name} data dir removed`);
    assert.not.ok(await canConnect(m.clientUrl), `${m.name} no longer listens`);
  }
}

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function retry<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test.run();
