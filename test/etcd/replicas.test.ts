// Several `ipam-injector serve --store etcd` replicas (real processes of the built bundle) on
// one 3-member etcd cluster (Debian etcd-server), all on loopback: clients of both replicas
// allocate from the same subnet at the same time; the etcd leader is killed under that load;
// a replica is killed under load; then everything restarts. Throughout: no address twice, and
// every acknowledged allocation is held with the answer the client got, seen through each
// replica and directly in etcd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { requireEtcd, startEtcd, type EtcdCluster } from '../support/etcd.js';
import { heldAllocations, raw } from '../server/helpers.js';
import { allocationsInEtcd, leaseHolder, startReplica, stopReplica, writeSeed, type Replica } from './support.js';
import { oneSubnetSeed } from '../support/seed.js';

const PKG = 'etcdtest';
/** Replicas take part in write leases (one commits per instance, the other forwards to it);
 *  IPAM_ETCD_PEERS=0 runs the same tests with optimistic commits only. */
const PEERS = process.env.IPAM_ETCD_PEERS === '0' ? [] : ['--peer-listen', '127.0.0.1:0'];
const PER_REPLICA = 12;

let etcd: EtcdCluster;
let dir: string;
let seed: string;
let replicas: Replica[] = [];
/** owner -> prefix the client was given */
const acked = new Map<string, string>();

interface Load {
  /** acknowledgements per replica, with their times */
  acks: number[][];
  errors: Map<string, number>;
  /** per replica: failed calls, and [start, end] of every call that got an answer */
  failures: number[];
  calls: [number, number][][];
  stop(): void;
  done: Promise<void>;
}

/** Workers on each replica allocating fresh names until stopped; a worker whose replica is
 *  gone stops, others retry a failed call with the same name (as a client would). */
function load(targets: Replica[], round: string): Load {
  let stopped = false;
  const acks = targets.map(() => [] as number[]);
  const errors = new Map<string, number>();
  const failures = targets.map(() => 0);
  const calls = targets.map(() => [] as [number, number][]);
  const clients = targets.map((t) => raw('alloc', t.address));
  const workers = targets.flatMap((_, r) =>
    Array.from({ length: PER_REPLICA }, async (_, w) => {
      for (let i = 0; !stopped; i++) {
        const name = `${round}-r${r}-w${w}-${i}`;
        for (let attempt = 0; !stopped; attempt++) {
          const t0 = performance.now();
          try {
            const res = await clients[r]!.call<{ allocatedPrefix: string }>('Allocation', {
              name,
              kind: 'IPClaim',
              labels: { 'ipam-injector.dev/package': PKG },
              spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'shared' } },
            });
            acked.set(`${PKG}|default/IPClaim/${name}`, res.allocatedPrefix);
            acks[r]!.push(performance.now());
            calls[r]!.push([t0, performance.now()]);
            break;
          } catch (e) {
            const code = (e as { code?: number }).code ?? -1;
            const key = `${status[code] ?? code}: ${String((e as Error).message).slice(0, 120)}`;
            errors.set(key, (errors.get(key) ?? 0) + 1);
            failures[r]!++;
            if (targets[r]!.proc.exitCode !== null || targets[r]!.proc.signalCode !== null) return;
            if (attempt > 50) throw new Error(`${name}: still failing after ${attempt} attempts: ${key}`);
            await new Promise((res) => setTimeout(res, 20 + Math.random() * 80));
          }
        }
      }
    }),
  );
  const done = Promise.all(workers).then(() => clients.forEach((c) => c.close()));
  return { acks, errors, failures, calls, stop: () => (stopped = true), done };
}

const total = (l: Load) => l.acks.reduce((n, a) => n + a.length, 0);
async function until(cond: () => boolean, what: string, l: Load, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}: acknowledgements per replica ${l.acks.map((a) => a.length).join(', ')}; errors: ${fmtErrors(l)}\n${diagnostics()}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What a failure message needs to be understood from CI output alone: each replica's and
 *  etcd member's state and last warnings. */
function diagnostics(): string {
  const replicaLines = replicas.map((r, i) => {
    const warn = r
      .logs()
      .split('\n')
      .filter((s) => /"level":"(warn|error)"/.test(s));
    return `replica ${i} (${r.proc.exitCode ?? r.proc.signalCode ?? 'running'}): ${warn.length} warnings, last ones:\n  ${warn
      .slice(-6)
      .map((s) => s.slice(0, 300))
      .join('\n  ')}`;
  });
  const members = etcd.members.map((m) => `${m.name} ${m.running ? 'running' : 'down'}`).join(', ');
  return `etcd members: ${members}\n${replicaLines.join('\n')}`;
}

/** Runs a step; a failure carries the diagnostics. */
async function step<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error;
    if (!err.message.includes('etcd members:')) err.message += `\n${diagnostics()}`;
    throw err;
  }
}

/** The largest pause between consecutive acknowledgements after `t` (ms). */
function stallAfter(acks: number[][], t: number): number {
  const all = acks.flat().sort((a, b) => a - b);
  let prev = t;
  let worst = 0;
  for (const x of all) {
    if (x < t) continue;
    worst = Math.max(worst, x - prev);
    prev = x;
  }
  return worst;
}

const listThrough = (r: Replica): Promise<Map<string, string>> => heldAllocations(r.address, `${PKG}|`);

function assertHolds(where: string, held: Map<string, string>): void {
  let missing = 0;
  let first = '';
  for (const [owner, prefix] of acked) {
    if (held.get(owner) !== prefix) {
      missing++;
      first ||= `${owner}: acknowledged ${prefix}, ${where} holds ${held.get(owner) ?? 'nothing'}`;
    }
  }
  assert.is(missing, 0, `${where}: ${missing} of ${acked.size} acknowledged allocations missing or changed (${first})`);
  const prefixes = [...held.values()];
  assert.is(new Set(prefixes).size, prefixes.length, `${where}: an address is held twice`);
}

const fmtErrors = (l: Load) => [...l.errors].map(([k, n]) => `${n}x ${k}`).join('; ') || 'none';

if (requireEtcd(test)) {
  test.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipam-etcd-replicas-'));
    // room for every test's load: on a fast machine the workers take tens of thousands of
    // addresses before each test's conditions are met (a /16 ran out)
    seed = writeSeed(dir, oneSubnetSeed('shared', '10.16.0.0/12'));
    etcd = await startEtcd({ members: 3 });
    replicas = await Promise.all([
      startReplica(etcd.endpoints, ['--seed', seed, ...PEERS]),
      startReplica(etcd.endpoints, ['--seed', seed, ...PEERS]),
    ]);
  });

  test.after(async () => {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('clients of two replicas allocate from one subnet at once; the etcd leader is killed under load and allocation goes on', () =>
    step(async () => {
      const l = load(replicas, 'a');
      try {
        await until(() => total(l) >= 200, '200 acknowledgements before the kill', l);
        const leader = await etcd.leader();
        const before = total(l);
        const killedAt = performance.now();
        await etcd.kill(leader);
        await until(
          () => total(l) >= before + 300 && l.acks.every((a) => a.filter((t) => t > killedAt).length >= 50),
          '300 acknowledgements (50 per replica) after killing the leader',
          l,
          40_000,
        );
        const stall = stallAfter(l.acks, killedAt);
        console.log(
          `# leader ${leader.name} killed after ${before} acknowledgements; longest pause after it ${Math.round(stall)} ms; ${total(l)} acknowledged (per replica: ${l.acks.map((a) => a.length).join(', ')}); errors: ${fmtErrors(l)}`,
        );
        await etcd.restart(leader);
        await until(() => total(l) >= before + 400, '100 more acknowledgements with the member back', l);
      } finally {
        l.stop();
        await l.done;
      }
      assert.ok(acked.size >= 600);
    }));

  // Failover: the replica that commits for the instance (the lease holder, when replicas
  // forward) dies; the other one's clients see no error and no call stalls more than 2 s.
  test('the committing replica killed under load: the clients of the other see no error and no call over 2 s', () =>
    step(async () => {
      const l = load(replicas, 'b');
      let victim = 0;
      try {
        await until(() => total(l) >= 100, '100 acknowledgements before the kill', l);
        const holder = PEERS.length ? await leaseHolder(etcd.endpoints) : undefined;
        if (PEERS.length) assert.ok(holder, 'one replica holds the write lease');
        victim = Math.max(
          0,
          replicas.findIndex((r) => r.peer === holder),
        );
        const other = 1 - victim;
        const killedAt = performance.now();
        replicas[victim]!.proc.kill('SIGKILL');
        await replicas[victim]!.exited;
        await until(
          () => l.acks[other]!.filter((t) => t > killedAt).length >= 300,
          '300 acknowledgements from the other replica after the kill',
          l,
        );
        const stall = stallAfter([l.acks[other]!], killedAt);
        const slowest = Math.max(...l.calls[other]!.filter(([, end]) => end > killedAt).map(([start, end]) => end - start));
        console.log(
          `# replica ${victim}${holder ? ' (the lease holder)' : ''} killed; replica ${other} went on: longest pause after the kill ${Math.round(stall)} ms, slowest call ${Math.round(slowest)} ms; errors: ${fmtErrors(l)}`,
        );
        assert.is(l.failures[other]!, 0, `calls to replica ${other} failed: ${fmtErrors(l)}`);
        assert.ok(
          stall < 2000 && slowest < 2000,
          `replica ${other}'s clients stalled ${Math.round(stall)} ms (slowest call ${Math.round(slowest)} ms)`,
        );
      } finally {
        l.stop();
        await l.done;
      }
      if (victim === 1) replicas.reverse(); // the survivor first: the next test restarts index 0
    }));

  test('no address twice; every acknowledged allocation is held, through each replica and in etcd', () =>
    step(async () => {
      replicas[0] = await startReplica(etcd.endpoints, ['--seed', seed, ...PEERS]);
      const [a, b, inEtcd] = await Promise.all([listThrough(replicas[0]), listThrough(replicas[1]!), allocationsInEtcd(etcd.endpoints)]);
      assertHolds('restarted replica 0', a);
      assertHolds('replica 1', b);
      assertHolds('etcd', inEtcd);
      assert.equal([...a].sort(), [...b].sort(), 'both replicas hold the same allocations');
      assert.equal([...a].sort(), [...inEtcd].sort(), 'the replicas hold what etcd holds');
      console.log(`# ${acked.size} acknowledged, ${inEtcd.size} held (calls whose answer was lost may have landed)`);
    }));

  test('restart of everything (both replicas, all etcd members): the state is identical and allocation goes on', () =>
    step(async () => {
      const before = await listThrough(replicas[1]!);
      for (const r of replicas) assert.is(await stopReplica(r), 0, `SIGTERM exits 0:\n${r.logs().slice(-2000)}`);
      for (const m of etcd.members) await etcd.kill(m);
      await Promise.all(etcd.members.map((m) => etcd.restart(m)));
      await etcd.waitHealthy();
      replicas = await Promise.all([
        startReplica(etcd.endpoints, ['--seed', seed, ...PEERS]),
        startReplica(etcd.endpoints, ['--seed', seed, ...PEERS]),
      ]);
      const [a, b] = await Promise.all([listThrough(replicas[0]!), listThrough(replicas[1]!)]);
      assert.equal([...a].sort(), [...before].sort(), 'replica 0 after the restart');
      assert.equal([...b].sort(), [...before].sort(), 'replica 1 after the restart');
      assertHolds('after the restart', a);
      // and the next allocations, one through each replica, take new addresses
      const got = await Promise.all(
        replicas.map(async (r, i) => {
          const c = raw('alloc', r.address);
          try {
            return (
              await c.call<{ allocatedPrefix: string }>('Allocation', {
                name: `after-restart-${i}`,
                kind: 'IPClaim',
                labels: { 'ipam-injector.dev/package': PKG },
                spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'shared' } },
              })
            ).allocatedPrefix;
          } finally {
            c.close();
          }
        }),
      );
      assert.is.not(got[0], got[1]);
      const taken = new Set(before.values());
      for (const p of got) assert.not.ok(taken.has(p), `${p} was already held`);
    }));
  // Write leases only route requests: safety must hold when a lease goes away under load.
  if (PEERS.length) {
    test('the write lease revoked under load (lease loss mid-batch): no address twice, both replicas go on without errors', () =>
      step(async () => {
        const l = load(replicas, 'c');
        const client = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2000 });
        try {
          await until(() => total(l) >= 200, '200 acknowledgements before the revoke', l);
          const kv = (await client.get('/ipam/lease/ni/default/vpc').exec()).kvs[0];
          assert.ok(kv, 'a replica holds the write lease');
          const revokedAt = performance.now();
          await client.leaseClient.leaseRevoke({ ID: kv.lease });
          await until(
            () => l.acks.every((a) => a.filter((t) => t > revokedAt).length >= 150),
            '150 acknowledgements per replica after the revoke',
            l,
          );
          await until(
            () => l.acks.every((a) => a.filter((t) => t > revokedAt + 3000).length >= 50),
            '50 more per replica once a lease is held again',
            l,
            60_000,
          );
          console.log(`# lease revoked; longest pause after it ${Math.round(stallAfter(l.acks, revokedAt))} ms; errors: ${fmtErrors(l)}`);
          assert.equal(l.failures, [0, 0], `failed calls: ${fmtErrors(l)}`);
        } finally {
          client.close();
          l.stop();
          await l.done;
        }
        const [a, b] = await Promise.all([listThrough(replicas[0]!), listThrough(replicas[1]!)]);
        assertHolds('replica 0', a);
        assertHolds('replica 1', b);
      }));

    test('the lease holder partitioned from etcd (its only member stopped): the other replica takes over, its clients see no error', () =>
      step(async () => {
        for (const r of replicas) await stopReplica(r);
        const [m] = await etcd.followers();
        // the holder reaches etcd through one member only; it allocates first, so it claims the lease
        const holder = await startReplica([m!.clientUrl], PEERS);
        const first = raw('alloc', holder.address);
        try {
          await first.call('Allocation', {
            name: 'partition-first',
            kind: 'IPClaim',
            labels: { 'ipam-injector.dev/package': PKG },
            spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'shared' } },
          });
        } finally {
          first.close();
        }
        for (let i = 0; (await leaseHolder(etcd.endpoints)) !== holder.peer; i++) {
          assert.ok(i < 100, 'the first replica claims the lease');
          await new Promise((r) => setTimeout(r, 50));
        }
        const other = await startReplica(etcd.endpoints, PEERS);
        replicas = [holder, other];
        const l = load([other], 'd');
        try {
          await until(() => total(l) >= 100, '100 acknowledgements through the other replica', l);
          const cutAt = performance.now();
          await etcd.kill(m!);
          await until(() => l.acks[0]!.filter((t) => t > cutAt).length >= 300, '300 acknowledgements after the partition', l, 60_000);
          const slowest = Math.max(...l.calls[0]!.filter(([, end]) => end > cutAt).map(([start, end]) => end - start));
          console.log(
            `# holder partitioned; the other replica went on: longest pause ${Math.round(stallAfter(l.acks, cutAt))} ms, slowest call ${Math.round(slowest)} ms; errors: ${fmtErrors(l)}`,
          );
          assert.equal(l.failures, [0], `failed calls: ${fmtErrors(l)}`);
        } finally {
          l.stop();
          await l.done;
        }
        await etcd.restart(m!);
        const inEtcd = await allocationsInEtcd(etcd.endpoints);
        assertHolds('etcd', inEtcd);
        assertHolds('the other replica', await listThrough(other));
      }));
  }
}

test.run();
