// The server interceptors (src/server/interceptors.ts): authentication happens before any
// handler and a handler without it refuses (fail closed); refused calls are counted per method;
// health needs no token; Watch streams are refused the same way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { once } from 'node:events';
import { credentials, Metadata, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Auth, parseTokenFile } from '../../src/server/auth.js';
import { IpamCore } from '../../src/server/core.js';
import { callerOf } from '../../src/server/interceptors.js';
import { silentLogger } from '../../src/server/log.js';
import { Metrics } from '../../src/server/metrics.js';
import { adminService } from '../../src/server/services/admin.js';
import { MemoryStore } from '../../src/server/store/memory-store.js';
import { serviceDefinition } from '../../src/protocol/load.js';
import { DEFAULT_LIMITS } from '../../src/protocol/validate.js';
import { scrapeMetrics } from '../support/metrics.js';
import { codeOf, createIpamFn, inProcess, raw, root } from './helpers.js';

const TOKEN = 'admin-token-1234';
const bearer = (t: string) => {
  const md = new Metadata();
  md.set('authorization', `Bearer ${t}`);
  return md;
};

test('callerOf: metadata no interceptor authenticated is UNAUTHENTICATED', () => {
  try {
    callerOf(new Metadata());
    assert.unreachable('callerOf returned a caller');
  } catch (e) {
    assert.is((e as { code: number }).code, status.UNAUTHENTICATED);
  }
});

test('a service served without the interceptors refuses every call, even with no tokens configured', async () => {
  const core = new IpamCore({ store: new MemoryStore(), createIpam: createIpamFn });
  await core.start();
  const ctx = {
    core,
    auth: new Auth(),
    limits: DEFAULT_LIMITS,
    metrics: new Metrics(),
    log: silentLogger,
    streams: new Set<{ end(): void }>(),
  };
  const server = new Server();
  server.addService(serviceDefinition('admin'), adminService(ctx));
  const port = await new Promise<number>((ok, ko) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  const admin = raw('admin', `127.0.0.1:${port}`);
  try {
    const e = await codeOf(admin.call('ListNetworkInstances', {}));
    assert.is(e.code, status.UNAUTHENTICATED);
    assert.match(e.details, /not authenticated/);
  } finally {
    admin.close();
    server.forceShutdown();
    await core.close();
  }
});

test('with tokens: refused calls are counted per method, Watch is refused, health needs no token', async () => {
  const srv = await inProcess({ tokens: parseTokenFile(`${TOKEN}\n`), metrics: '127.0.0.1:0' });
  const anon = raw('admin', srv.address);
  const admin = raw('admin', srv.address, credentials.createInsecure(), bearer(TOKEN));
  try {
    assert.is((await codeOf(anon.call('ListNetworkInstances', {}))).code, status.UNAUTHENTICATED);
    assert.is((await codeOf(anon.call('ListNetworkInstances', {}))).code, status.UNAUTHENTICATED);
    await admin.call('ListNetworkInstances', {});
    const body = await scrapeMetrics(srv.metricsPort);
    assert.match(
      body,
      /ipam_grpc_requests_total\{method="ipaminjector\.admin\.v1\.Admin\/ListNetworkInstances",code="UNAUTHENTICATED"\} 2\n/,
    );
    assert.match(body, /ipam_grpc_requests_total\{method="ipaminjector\.admin\.v1\.Admin\/ListNetworkInstances",code="OK"\} 1\n/);
    assert.not.match(body, /grpc\.health/);

    const watch = (anon.client as unknown as { Watch(req: unknown, md: Metadata): NodeJS.EventEmitter }).Watch(
      { initial: true },
      new Metadata(),
    );
    const [err] = (await once(watch, 'error')) as [ServiceError];
    assert.is(err.code, status.UNAUTHENTICATED);

    const hdef = loadSync(`${root}node_modules/grpc-health-check/proto/health/v1/health.proto`, { enums: String });
    const H = (
      loadPackageDefinition(hdef) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: unknown) => HealthClient } } } }
    ).grpc.health.v1.Health;
    const h = new H(srv.address, credentials.createInsecure());
    const r = await new Promise<{ status: string }>((ok, ko) => h.Check({ service: '' }, (e, x) => (e ? ko(e) : ok(x))));
    assert.is(r.status, 'SERVING');
    h.close();
  } finally {
    anon.close();
    admin.close();
    await srv.shutdown();
  }
});

interface HealthClient {
  Check(req: { service: string }, cb: (e: ServiceError | null, x: { status: string }) => void): void;
  close(): void;
}

test.run();
