// Peer traffic over mutual TLS (--peer-cert, --peer-key, --peer-ca): two replicas (real
// processes) on one etcd member forward to each other over TLS; a peer that speaks plaintext, or
// presents a certificate from another CA, gets no answer; a missing file is named at start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { requireEtcd, startEtcd } from '../support/etcd.js';
import { TestPki } from '../support/pki.js';
import { raw } from '../server/helpers.js';
import { metricValue, scrapeMetrics } from '../support/metrics.js';
import { PeerClient, PeerUnavailableError, type PeerTls } from '../../src/server/peers.js';
import { leaseHolder, startReplica, stopReplica, writeSeed, type Replica } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'ipam-peer-tls-'));
const f = (n: string) => join(dir, n);
const pki = new TestPki(dir);

/** A CA named `ca` and a replica certificate it signs (for serving and for dialling). */
function makePki(ca: string): void {
  pki.ca(ca).cert(`${ca}-replica`, { ca, cn: 'ipam-replica', usage: 'serverAuth,clientAuth' });
}

const peerFlags = (ca: string) => [
  '--peer-cert',
  f(`${ca}-replica.crt`),
  '--peer-key',
  f(`${ca}-replica.key`),
  '--peer-ca',
  f(`${ca}.crt`),
];
const tlsOf = (ca: string): PeerTls => ({
  cert: readFileSync(f(`${ca}-replica.crt`)),
  key: readFileSync(f(`${ca}-replica.key`)),
  ca: readFileSync(f(`${ca}.crt`)),
});

const request = (name: string) => ({
  name,
  kind: 'IPClaim',
  labels: { 'ipam-injector.dev/package': 'peer-tls' },
  spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'shared' } },
});

if (requireEtcd(test)) {
  test('two replicas forward over mutual TLS; plaintext and another CA get no answer', async () => {
    makePki('ca');
    makePki('rogue');
    const etcd = await startEtcd({ members: 1 });
    const seed = writeSeed(dir);
    let replicas: Replica[] = [];
    try {
      const flags = ['--seed', seed, '--metrics', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0', ...peerFlags('ca')];
      replicas = await Promise.all([0, 1].map(() => startReplica(etcd.endpoints, flags)));
      const clients = replicas.map((r) => raw('alloc', r.address));
      const given = new Set<string>();
      for (let i = 0; i < 20; i++) {
        for (const [r, c] of clients.entries()) {
          const res = await c.call<{ allocatedPrefix: string }>('Allocation', request(`a-${r}-${i}`));
          assert.not.ok(given.has(res.allocatedPrefix), `${res.allocatedPrefix} twice`);
          given.add(res.allocatedPrefix);
        }
      }
      for (const c of clients) c.close();
      const forwarded = (
        await Promise.all(replicas.map(async (r) => metricValue(await scrapeMetrics(r.metricsPort), 'ipam_forwarded_total')))
      ).reduce((a, b) => a + (b || 0), 0);
      assert.ok(forwarded >= 10, `${forwarded} allocations forwarded over TLS`);

      // the deployment's real secret: only the transport can refuse these peers
      const kv = new Etcd3({ hosts: etcd.endpoints, dialTimeout: 2000 });
      const secret = (await kv.get('/ipam/lease/secret').string())!;
      kv.close();
      // the lease holder: it answers a forward (the other replica would say "not the holder")
      const peer = (await leaseHolder(etcd.endpoints))!;
      assert.ok(
        replicas.some((r) => r.peer === peer),
        `the lease holder ${peer} is one of the replicas`,
      );
      const asPeer = async (tls: PeerTls | undefined) => {
        const client = new PeerClient(() => secret, 2000, tls);
        try {
          await client.allocate(peer, {
            owner: 'peer-tls|default/IPClaim/x',
            networkInstance: { name: 'vpc' },
            kind: 'network',
            selector: { matchLabels: { role: 'shared' } },
          });
          return 'answered';
        } catch (e) {
          return e instanceof PeerUnavailableError ? 'unavailable' : `other: ${(e as Error).message}`;
        } finally {
          client.close();
        }
      };
      assert.is(await asPeer(tlsOf('ca')), 'answered', "a peer with a certificate of the replicas' CA");
      assert.is(await asPeer(undefined), 'unavailable', 'a plaintext peer');
      assert.is(await asPeer(tlsOf('rogue')), 'unavailable', 'a peer with a certificate of another CA');
    } finally {
      await Promise.all(replicas.map((r) => stopReplica(r)));
      await etcd.stop();
    }
  });

  test('a missing peer file is named at start; the three flags go together', async () => {
    const refused = (extra: string[]) =>
      startReplica(['http://127.0.0.1:1'], ['--peer-listen', '127.0.0.1:0', ...extra], 20_000).then(
        async (r) => {
          await stopReplica(r);
          return 'started';
        },
        (e: Error) => e.message,
      );
    assert.match(
      await refused(['--peer-cert', f('ca-replica.crt'), '--peer-key', f('ca-replica.key'), '--peer-ca', f('nope.crt')]),
      /--peer-ca \S*nope\.crt: no such file/,
    );
    assert.match(await refused(['--peer-cert', f('ca-replica.crt')]), /--peer-cert, --peer-key and --peer-ca go together/);
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
