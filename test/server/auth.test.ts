// TLS, mTLS and bearer tokens, with certificates made by the openssl CLI for this test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { TestPki } from '../support/pki.js';
import { join } from 'node:path';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { createGrpcBackend } from '../../src/backends/grpc.js';
import { parseTokenFile } from '../../src/server/auth.js';
import { cleanup, codeOf, inProcess, raw, spawnServer, tmp, writeSeed } from './helpers.js';

const dir = tmp('ipam-tls-');
const f = (n: string) => join(dir, n);
new TestPki(dir)
  .ca('ca', 'ipam-test-ca')
  .cert('server', { ca: 'ca', cn: 'localhost', usage: 'serverAuth', san: 'IP:127.0.0.1,DNS:localhost' })
  .cert('client', { ca: 'ca', cn: 'pkg-client', usage: 'clientAuth' })
  // a second CA whose client certificate the server must refuse
  .ca('evil');
const pem = (n: string) => readFileSync(f(n));

const allocReq = (pkg: string, name = 'c1') => ({
  name,
  kind: 'IPClaim',
  labels: { 'ipam-injector.dev/package': pkg },
  spec: { prefixkind: 'network', selector: { 'nephio.org/network-instance': 'vpc', 'nephio.org/cluster-name': 'c1' } },
});

test('TLS: a client that trusts the CA is served; a plaintext client is not', async () => {
  const srv = await inProcess({ tls: { cert: pem('server.crt'), key: pem('server.key') } });
  const ok = raw('alloc', srv.address, credentials.createSsl(pem('ca.crt')));
  const r = await ok.call<{ allocatedPrefix: string }>('Allocation', allocReq('p'));
  assert.is(r.allocatedPrefix, '10.0.1.2/24');
  ok.close();
  const plain = raw('alloc', srv.address);
  const e = await codeOf(plain.call('Allocation', allocReq('p')));
  assert.is(e.code, status.UNAVAILABLE);
  plain.close();
  await srv.shutdown();
});

test('mTLS: no client certificate, or one from another CA, is refused; ours is served', async () => {
  const srv = await inProcess({ tls: { cert: pem('server.crt'), key: pem('server.key'), clientCa: pem('ca.crt') } });
  const noCert = raw('alloc', srv.address, credentials.createSsl(pem('ca.crt')));
  assert.is((await codeOf(noCert.call('Allocation', allocReq('p')))).code, status.UNAVAILABLE);
  noCert.close();
  const evil = raw('alloc', srv.address, credentials.createSsl(pem('ca.crt'), pem('evil.key'), pem('evil.crt')));
  assert.is((await codeOf(evil.call('Allocation', allocReq('p')))).code, status.UNAVAILABLE);
  evil.close();
  const good = raw('alloc', srv.address, credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt')));
  assert.is((await good.call<{ allocatedPrefix: string }>('Allocation', allocReq('p'))).allocatedPrefix, '10.0.1.2/24');
  good.close();
  await srv.shutdown();
});

const TOKENS = `# admin
admin-token-0001
# one package only
pkg-a-token-0001  pkg-a
`;

test('tokens: missing or wrong is UNAUTHENTICATED; a scoped token acts for its package only', async () => {
  const srv = await inProcess({ tokens: parseTokenFile(TOKENS) });
  const bearer = (t: string) => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${t}`);
    return md;
  };
  const none = raw('alloc', srv.address);
  const e1 = await codeOf(none.call('Allocation', allocReq('pkg-a')));
  assert.is(e1.code, status.UNAUTHENTICATED);
  assert.match(e1.details, /missing bearer token/);
  none.close();
  const wrong = raw('alloc', srv.address, undefined, bearer('not-a-token-at-all'));
  assert.is((await codeOf(wrong.call('Allocation', allocReq('pkg-a')))).code, status.UNAUTHENTICATED);
  wrong.close();

  const a = raw('alloc', srv.address, undefined, bearer('pkg-a-token-0001'));
  assert.is((await a.call<{ allocatedPrefix: string }>('Allocation', allocReq('pkg-a'))).allocatedPrefix, '10.0.1.2/24');
  const denied = await codeOf(a.call('Allocation', allocReq('pkg-b')));
  assert.is(denied.code, status.PERMISSION_DENIED);
  assert.match(denied.details, /package "pkg-a" only, not "pkg-b"/);
  // nor release another package's allocation
  assert.is((await codeOf(a.call('DeAllocation', allocReq('pkg-b')))).code, status.PERMISSION_DENIED);
  a.close();

  const adm = raw('alloc', srv.address, undefined, bearer('admin-token-0001'));
  assert.is((await adm.call<{ allocatedPrefix: string }>('Allocation', allocReq('pkg-b'))).allocatedPrefix, '10.0.1.3/24');
  adm.close();

  // scoped listing: only the package's own allocations; space changes need an unscoped token
  const aAdmin = raw('admin', srv.address, undefined, bearer('pkg-a-token-0001'));
  const mine = await aAdmin.call<{ allocations: { owner: string }[] }>('ListAllocations', {});
  assert.equal(
    mine.allocations.map((x) => x.owner),
    ['pkg-a|default/IPClaim/c1'],
  );
  const snoop = await aAdmin.call<{ allocations: { owner: string }[] }>('ListAllocations', { ownerPrefix: 'pkg-b|' });
  assert.equal(snoop.allocations, []);
  assert.is(
    (await codeOf(aAdmin.call('RemovePrefix', { networkInstance: { name: 'vpc' }, prefix: '10.0.1.0/24' }))).code,
    status.PERMISSION_DENIED,
  );
  assert.is((await codeOf(aAdmin.call('Batch', { package: 'pkg-b' }))).code, status.PERMISSION_DENIED);
  aAdmin.close();
  await srv.shutdown();
});

test('token file: malformed lines are refused with the line number', () => {
  assert.throws(() => parseTokenFile('short\n'), /line 1: token shorter than 8/);
  assert.throws(() => parseTokenFile('a-long-token b c\n'), /line 1: expected "TOKEN \[SCOPE\]"/);
  assert.throws(() => parseTokenFile('# nothing\n'), /holds no token/);
});

test('the grpc backend and the serve CLI: mTLS + token end to end, all three protocols', async () => {
  const tokens = f('tokens.txt');
  writeFileSync(tokens, TOKENS);
  const server = await spawnServer([
    '--store',
    'memory',
    '--seed',
    writeSeed(tmp()),
    '--tls-cert',
    f('server.crt'),
    '--tls-key',
    f('server.key'),
    '--client-ca',
    f('ca.crt'),
    '--token-file',
    tokens,
  ]);
  try {
    for (const protocol of ['admin', 'alloc', 'resource']) {
      const b = createGrpcBackend({
        address: server.address,
        protocol,
        package: 'pkg-a',
        tlsCa: f('ca.crt'),
        tlsCert: f('client.crt'),
        tlsKey: f('client.key'),
        token: 'pkg-a-token-0001',
        timeout: '5s',
      });
      const out = await b.run({
        space: { networkInstances: [], prefixes: [] },
        requests: [
          {
            owner: `default/IPClaim/${protocol}`,
            networkInstance: { name: 'vpc' },
            kind: 'network',
            selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
          },
        ],
        release: [],
      });
      assert.ok(out[0]!.ok, protocol);
      await b.close();
      const noToken = createGrpcBackend({
        address: server.address,
        protocol,
        package: 'pkg-a',
        tlsCa: f('ca.crt'),
        tlsCert: f('client.crt'),
        tlsKey: f('client.key'),
        retries: 0,
      });
      const refused = await noToken
        .run({
          space: { networkInstances: [], prefixes: [] },
          requests: [{ owner: 'default/IPClaim/x', networkInstance: { name: 'vpc' }, kind: 'network' }],
          release: [],
        })
        .catch((e: Error) => e);
      const msg = refused instanceof Error ? refused.message : refused[0]!.ok ? 'ok' : refused[0]!.error.message;
      assert.match(msg, /UNAUTHENTICATED|missing bearer token/, protocol);
      await noToken.close();
    }
  } finally {
    server.proc.kill('SIGTERM');
    assert.is(await server.exited, 0);
  }
});

test.after(() => cleanup());

test.run();
