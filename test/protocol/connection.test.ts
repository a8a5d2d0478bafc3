// The gRPC client's shared concerns as grpc-js mechanisms (src/protocol/connection.ts):
// interceptors add the bearer token and a deadline, the channel's service config retries
// UNAVAILABLE with the project's one backoff (src/protocol/backoff.ts), within the deadline.
import { test } from '../support/uvu.js';
import * as assert from 'uvu/assert';
import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { GrpcConnection, type CallRecord } from '../../src/protocol/connection.js';
import { backoffDelay, CLIENT_BACKOFF, ETCD_BACKOFF, RACE_BACKOFF } from '../../src/protocol/backoff.js';
import { serviceDefinition } from '../../src/protocol/load.js';

type Unary = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;

async function serve(handlers: { ListNetworkInstances: Unary; Watch?: (call: ServerWritableStream<unknown, unknown>) => void }) {
  const server = new Server();
  server.addService(serviceDefinition('admin'), handlers);
  const port = await new Promise<number>((ok, ko) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

const failing = (code: number) => (e: unknown) => {
  assert.is((e as { code?: number }).code, code, String(e));
};

test('the token goes on every call, unary and streaming, from one interceptor', async () => {
  const seen: unknown[] = [];
  const s = await serve({
    ListNetworkInstances: (call, cb) => {
      seen.push(call.metadata.get('authorization')[0]);
      cb(null, { networkInstances: [] });
    },
    Watch: (call) => {
      seen.push(call.metadata.get('authorization')[0]);
      call.end();
    },
  });
  const conn = new GrpcConnection({ address: s.address, token: 't0k', env: {} });
  try {
    await conn.call('admin', 'ListNetworkInstances', {});
    const stream = conn.stream('admin', 'Watch', {});
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('error', resolve);
      stream.resume();
    });
    assert.equal(seen, ['Bearer t0k', 'Bearer t0k']);
  } finally {
    conn.close();
    s.stop();
  }
});

test('UNAVAILABLE is retried by the service config up to `retries` times; other codes are not', async () => {
  let calls = 0;
  let answer = status.UNAVAILABLE;
  const s = await serve({
    ListNetworkInstances: (_call, cb) => {
      calls++;
      if (calls <= 2) cb({ code: answer, details: 'not yet' });
      else cb(null, { networkInstances: [] });
    },
  });
  try {
    const three = new GrpcConnection({ address: s.address, retries: 3, env: {} });
    await three.call('admin', 'ListNetworkInstances', {});
    assert.is(calls, 3, 'two UNAVAILABLE, then the answer');
    three.close();

    calls = 0;
    const one = new GrpcConnection({ address: s.address, retries: 1, env: {} });
    await one.call('admin', 'ListNetworkInstances', {}).then(() => assert.unreachable('answered'), failing(status.UNAVAILABLE));
    assert.is(calls, 2, 'one retry');
    one.close();

    calls = 0;
    answer = status.FAILED_PRECONDITION;
    const other = new GrpcConnection({ address: s.address, retries: 3, env: {} });
    await other.call('admin', 'ListNetworkInstances', {}).then(() => assert.unreachable('answered'), failing(status.FAILED_PRECONDITION));
    assert.is(calls, 1, 'not retried');
    other.close();
  } finally {
    s.stop();
  }
});

test('the deadline covers the call, retries included, and unary calls only', async () => {
  let calls = 0;
  const s = await serve({
    ListNetworkInstances: (_call, cb) => {
      calls++;
      // the first attempt is refused, every later one hangs
      if (calls === 1) cb({ code: status.UNAVAILABLE, details: 'busy' });
    },
  });
  const conn = new GrpcConnection({ address: s.address, retries: 4, timeout: '400ms', env: {} });
  try {
    const t0 = Date.now();
    await conn.call('admin', 'ListNetworkInstances', {}).then(() => assert.unreachable('answered'), failing(status.DEADLINE_EXCEEDED));
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 3000, `took ${took} ms`);
    assert.is(calls, 2);
  } finally {
    conn.close();
    s.stop();
  }
});

test('the call log interceptor tells of each call once, with its final status, retries included', async () => {
  let calls = 0;
  const s = await serve({
    ListNetworkInstances: (_call, cb) => {
      calls++;
      if (calls === 1) cb({ code: status.UNAVAILABLE, details: 'busy' });
      else if (calls === 2) cb(null, { networkInstances: [] });
      else cb({ code: status.NOT_FOUND, details: 'gone' });
    },
  });
  const seen: CallRecord[] = [];
  const conn = new GrpcConnection({ address: s.address, retries: 2, onCall: (c) => seen.push(c), env: {} });
  try {
    await conn.call('admin', 'ListNetworkInstances', {});
    await conn.call('admin', 'ListNetworkInstances', {}).then(() => assert.unreachable('answered'), failing(status.NOT_FOUND));
    assert.equal(
      seen.map((c) => [c.method, c.code]),
      [
        ['/ipaminjector.admin.v1.Admin/ListNetworkInstances', status.OK],
        ['/ipaminjector.admin.v1.Admin/ListNetworkInstances', status.NOT_FOUND],
      ],
    );
    assert.is(seen[1]!.details, 'gone');
    assert.ok(seen.every((c) => c.ms >= 0));
  } finally {
    conn.close();
    s.stop();
  }
});

test('one backoff: full jitter below min(max, initial * multiplier^retry)', () => {
  for (const b of [CLIENT_BACKOFF, ETCD_BACKOFF, RACE_BACKOFF]) {
    for (let retry = 0; retry < 12; retry++) {
      const cap = Math.min(b.maxMs, b.initialMs * b.multiplier ** retry);
      let max = 0;
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(b, retry);
        assert.ok(d >= 0 && d < cap, `${d} for retry ${retry}`);
        max = Math.max(max, d);
      }
      assert.ok(max > cap / 2, 'spread over the range');
    }
  }
});

test.run();
