// kill -9 of the server in the middle of concurrent allocation, restart on the same data
// directory, three times over: every acknowledged allocation is there with the answer the
// client got, and no address is held twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { oneSubnetSeed } from '../support/seed.js';
import { cleanup, heldAllocations, raw, spawnServer, tmp, type Spawned } from './helpers.js';

const SEED = oneSubnetSeed('crash', '10.1.0.0/16');

const CLIENTS = 32;

async function loadUntilKilled(
  server: Spawned,
  round: number,
  acked: Map<string, string>,
  killAfter: number,
): Promise<{ sent: number; failed: number }> {
  const c = raw('alloc', server.address);
  let sent = 0;
  let failed = 0;
  let stop = false;
  let ackedThisRound = 0;
  let killed = false;
  const workers = Array.from({ length: CLIENTS }, async (_, w) => {
    for (let i = 0; !stop; i++) {
      const name = `r${round}-w${w}-${i}`;
      sent++;
      try {
        const r = await c.call<{ allocatedPrefix: string }>('Allocation', {
          name,
          kind: 'IPClaim',
          labels: { 'ipam-injector.dev/package': 'crash' },
          spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'crash' } },
        });
        acked.set(`crash|default/IPClaim/${name}`, r.allocatedPrefix);
        if (++ackedThisRound >= killAfter && !killed) {
          killed = true;
          server.proc.kill('SIGKILL'); // mid-flight: other workers have calls outstanding
        }
      } catch {
        failed++;
        stop = true;
      }
    }
  });
  await Promise.all(workers);
  c.close();
  await server.exited;
  return { sent, failed };
}

test('kill -9 during concurrent allocation loses no acknowledged allocation and duplicates none', async () => {
  const dir = tmp();
  const seed = join(dir, 'seed.yaml');
  writeFileSync(seed, SEED);
  const data = join(dir, 'data');
  const acked = new Map<string, string>();
  const recoveries: string[] = [];
  for (let round = 0; round < 3; round++) {
    // a small compaction threshold: snapshots are being rebuilt when the kill comes
    const server = await spawnServer(['--data', data, '--seed', seed, '--compact-bytes', String(16 * 1024)]);
    recoveries.push(server.logs());
    const { failed } = await loadUntilKilled(server, round, acked, 400 + Math.floor(Math.random() * 400));
    assert.ok(failed > 0, 'the kill interrupted calls in flight');
  }
  const server = await spawnServer(['--data', data, '--seed', seed]);
  const held = await heldAllocations(server.address, 'crash|');
  server.proc.kill('SIGTERM');
  assert.is(await server.exited, 0);

  let missing = 0;
  for (const [owner, prefix] of acked) {
    if (held.get(owner) !== prefix) missing++;
  }
  assert.is(missing, 0, `${missing} of ${acked.size} acknowledged allocations lost or changed`);
  const prefixes = [...held.values()];
  assert.is(new Set(prefixes).size, prefixes.length, 'an address is held twice');
  assert.ok(acked.size >= 1200, `acknowledged ${acked.size}`);
  // Unacknowledged calls may or may not have landed, but never more than were sent.
  assert.ok(held.size >= acked.size);
  // Restarts report what recovery did (a torn tail, if the kill cut a write, is a warn line).
  assert.ok(
    recoveries.slice(1).every((l) => /recovered .*record/.test(l)),
    'recovery is logged',
  );
});

test.after(() => cleanup());

test.run();
