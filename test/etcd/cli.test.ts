// `ipam-injector serve --store etcd` flags (the built bundle): what --help lists, clear errors
// for wrong combinations, and a replica talking to an etcd member over mutual TLS (certificates
// made by the openssl CLI for this test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw } from '../server/helpers.js';
import { freePorts, requireEtcd } from '../support/etcd.js';
import { TestPki } from '../support/pki.js';
import { BIN, root, startReplica, stopReplica, writeSeed } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'ipam-etcd-cli-'));
const f = (n: string) => join(dir, n);

function serve(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('serve --help lists the etcd flags', () => {
  const r = serve(['--help']);
  assert.is(r.status, 0);
  for (const flag of ['--store file|memory|etcd', '--etcd-endpoints', '--etcd-ca', '--etcd-cert', '--etcd-key', '--etcd-prefix'])
    assert.ok(r.out.includes(flag), `${flag} in:\n${r.out}`);
});

test('wrong etcd flags: a clear error and a non-zero exit, before anything is contacted', () => {
  const cases: [string[], RegExp][] = [
    [['--store', 'etcd'], /--store etcd needs --etcd-endpoints/],
    [['--store', 'etcd', '--etcd-endpoints', '127.0.0.1:2379'], /must look like http:\/\/host:port or https:\/\/host:port/],
    [['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:1,https://127.0.0.1:2'], /mix http:\/\/ and https:\/\//],
    [['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:1', '--etcd-ca', 'ca.crt'], /need https:\/\/ etcd endpoints/],
    [['--store', 'etcd', '--etcd-endpoints', 'https://127.0.0.1:1', '--etcd-cert', 'c.crt'], /--etcd-cert and --etcd-key go together/],
    [['--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:1', '--etcd-prefix', 'ipam'], /etcd prefix must start with \//],
    [['--store', 'file', '--data', f('data'), '--etcd-endpoints', 'http://127.0.0.1:1'], /--etcd-\* flags need --store etcd/],
    [['--store', 'zookeeper'], /--store must be file, memory or etcd/],
  ];
  for (const [args, want] of cases) {
    const t0 = Date.now();
    const r = serve(args);
    assert.is.not(r.status, 0, `${args.join(' ')} exits non-zero`);
    assert.match(r.out, want, `${args.join(' ')}:\n${r.out}`);
    assert.ok(Date.now() - t0 < 10_000, `${args.join(' ')} answered at once`);
  }
});

if (requireEtcd(test)) {
  test('over mutual TLS: --etcd-ca/--etcd-cert/--etcd-key against an etcd member that requires client certificates', async () => {
    new TestPki(dir)
      .ca('ca', 'etcd-test-ca')
      .cert('server', { ca: 'ca', cn: 'localhost', usage: 'serverAuth,clientAuth', san: 'IP:127.0.0.1,DNS:localhost' })
      .cert('client', { ca: 'ca', cn: 'ipam-injector', usage: 'clientAuth' });
    const [client, peer, metrics] = await freePorts(3);
    const url = `https://127.0.0.1:${client}`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
    const member = spawn(
      process.env.ETCD_BIN ?? 'etcd',
      [
        '--name',
        'tls1',
        '--data-dir',
        f('etcd-data'),
        '--listen-client-urls',
        url,
        '--advertise-client-urls',
        url,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `tls1=http://127.0.0.1:${peer}`,
        '--listen-metrics-urls',
        `http://127.0.0.1:${metrics}`,
        '--cert-file',
        f('server.crt'),
        '--key-file',
        f('server.key'),
        '--trusted-ca-file',
        f('ca.crt'),
        '--client-cert-auth',
        '--logger',
        'zap',
        '--log-level',
        'warn',
      ],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let etcdLog = '';
    member.stderr!.on('data', (d) => (etcdLog += d));
    const exited = new Promise((r) => member.once('exit', r));
    try {
      const seed = writeSeed(dir);
      const tls = ['--etcd-ca', f('ca.crt'), '--etcd-cert', f('client.crt'), '--etcd-key', f('client.key'), '--etcd-prefix', '/tls-test'];
      // etcd needs a moment to serve: the replica's first read retries until it does
      const r = await startReplica([url], ['--seed', seed, ...tls]).catch((e: Error) => {
        throw new Error(`${e.message}\netcd:\n${etcdLog}`);
      });
      try {
        const c = raw('alloc', r.address);
        const got = await c.call<{ allocatedPrefix: string }>('Allocation', {
          name: 'tls-1',
          kind: 'IPClaim',
          labels: { 'ipam-injector.dev/package': 'tls' },
          spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'shared' } },
        });
        c.close();
        assert.is(got.allocatedPrefix, '10.1.0.1/16');
      } finally {
        assert.is(await stopReplica(r), 0);
      }
      // a second replica reads the state back over TLS
      const again = await startReplica([url], ['--seed', seed, ...tls]);
      try {
        const c = raw('alloc', again.address);
        const got = await c.call<{ allocatedPrefix: string }>('Allocation', {
          name: 'tls-1',
          kind: 'IPClaim',
          labels: { 'ipam-injector.dev/package': 'tls' },
          spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', role: 'shared' } },
        });
        c.close();
        assert.is(got.allocatedPrefix, '10.1.0.1/16', 'the same answer after a restart');
      } finally {
        await stopReplica(again);
      }
    } finally {
      member.kill('SIGKILL');
      await exited;
    }
  });
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
