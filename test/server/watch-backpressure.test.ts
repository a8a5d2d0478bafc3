// Watch and WatchClaim clients that stop reading at the HTTP/2 level (flow control closes,
// grpc-js buffers every event for them) are cut off and their stream reset, so the server
// does not hold their backlog for as long as they keep the connection. A client that reads
// gets the initial listing, SYNCED, then live events, in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, constants } from 'node:http2';
import { Metadata, type Client } from '@grpc/grpc-js';
import { inProcess, raw } from './helpers.js';

const STALL_MS = 400;

/** A real HTTP/2 client that sends one request frame and then never reads. */
function stalledCall(address: string, path: string, body: Buffer) {
  const session = connect(`http://${address}`);
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  stream.end(frame);
  stream.pause();
  stream.on('error', () => {}); // the reset under test; its code is read on 'close'
  const closed = new Promise<number>((ok) => stream.on('close', () => ok(stream.rstCode ?? 0)));
  return { stream, closed, close: () => session.destroy() };
}

async function withinMs<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, ko) => setTimeout(() => ko(new Error(`${what} within ${ms} ms`)), ms).unref())]);
}

/** Allocates and releases `rounds` x 1,000 addresses of package `pkg`: 2,000 events a round. */
async function churn(admin: ReturnType<typeof raw>, pkg: string, rounds: number, until?: () => boolean): Promise<void> {
  const owners = Array.from({ length: 1000 }, (_, i) => `default/IPClaim/c${i}`);
  for (let r = 0; r < rounds && !until?.(); r++) {
    await admin.call('Batch', {
      package: pkg,
      requests: owners.map((owner) => ({
        owner,
        networkInstance: { name: 'vpc' },
        kind: 'pool',
        prefixLength: 30,
        labels: { note: 'x'.repeat(200) },
      })),
    });
    await admin.call('Batch', { package: pkg, release: owners });
  }
}

test('a Watch client that stops reading is reset (RESOURCE_EXHAUSTED to gRPC clients) instead of buffered for', async () => {
  const srv = await inProcess({ limits: { watchStallMs: STALL_MS } });
  const admin = raw('admin', srv.address);
  const w = stalledCall(srv.address, '/ipaminjector.admin.v1.Admin/Watch', Buffer.alloc(0));
  const r = stalledCall(srv.address, '/resource.Resource/WatchClaim', Buffer.from([0x0a, 0x07, 0x22, 0x05, 0x12, 0x03, 0x70, 0x6b, 0x67])); // header.ownerNsn.name = "pkg"
  try {
    let done = 0;
    void w.closed.then(() => done++);
    void r.closed.then(() => done++);
    await churn(admin, 'pkg', 20, () => done === 2);
    assert.is(await withinMs(w.closed, 30_000, 'Watch reset'), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.is(await withinMs(r.closed, 30_000, 'WatchClaim reset'), constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // the server still answers on the same connection's peers
    assert.ok((await admin.call<{ networkInstances: unknown[] }>('ListNetworkInstances', {})).networkInstances.length > 0);
  } finally {
    w.close();
    r.close();
    admin.close();
    await srv.shutdown();
  }
});

test('a Watch with initial=true to a client that reads nothing is reset; its listing is not buffered whole', async () => {
  const srv = await inProcess({ limits: { watchStallMs: STALL_MS } });
  const admin = raw('admin', srv.address);
  const requests = Array.from({ length: 3000 }, (_, i) => ({
    owner: `default/IPClaim/c${i}`,
    networkInstance: { name: 'vpc' },
    kind: 'pool',
    prefixLength: 30,
    labels: { note: 'x'.repeat(200) },
  }));
  await admin.call('Batch', { package: 'big', requests });
  const w = stalledCall(srv.address, '/ipaminjector.admin.v1.Admin/Watch', Buffer.from([0x18, 0x01])); // initial = true
  try {
    assert.is(await withinMs(w.closed, 30_000, 'reset'), constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } finally {
    w.close();
    admin.close();
    await srv.shutdown();
  }
});

test('a Watch client that reads gets the whole listing, SYNCED, then live events, in order', async () => {
  const srv = await inProcess({ limits: { watchStallMs: 10 * STALL_MS } });
  const admin = raw('admin', srv.address);
  const requests = Array.from({ length: 3000 }, (_, i) => ({
    owner: `default/IPClaim/c${i}`,
    networkInstance: { name: 'vpc' },
    kind: 'pool',
    prefixLength: 30,
  }));
  await admin.call('Batch', { package: 'big', requests });
  const client = admin.client as Client & Record<string, (req: unknown, md: Metadata) => NodeJS.ReadableStream & { cancel(): void }>;
  const stream = client.Watch!({ initial: true }, new Metadata());
  const types: string[] = [];
  const live = new Promise<void>((ok, ko) => {
    stream.on('data', (e: { type: string; allocation?: { owner: string } }) => {
      types.push(e.type);
      if (e.type === 'ALLOCATED' && e.allocation?.owner === 'late|default/IPClaim/x') ok();
    });
    stream.on('error', ko);
  });
  // a slow reader: pauses now and then, well within the stall limit
  const slow = setInterval(() => {
    stream.pause();
    setTimeout(() => stream.resume(), STALL_MS / 4);
  }, STALL_MS / 2);
  try {
    await new Promise((ok) => setTimeout(ok, 100));
    await admin.call('Batch', {
      package: 'late',
      requests: [{ owner: 'default/IPClaim/x', networkInstance: { name: 'vpc' }, kind: 'pool', prefixLength: 30 }],
    });
    await withinMs(live, 30_000, 'the live event');
    const synced = types.indexOf('SYNCED');
    assert.ok(synced >= 3000, `SYNCED at ${synced}`);
    assert.is(types.slice(0, synced).filter((t) => t === 'ALLOCATED').length, synced);
  } finally {
    clearInterval(slow);
    stream.cancel();
    admin.close();
    await srv.shutdown();
  }
});

test.run();
