// The forwarding protocol between replicas (src/server/peers.ts), in process: a forwarder asks
// for brief answers (prefix and gateway), a holder gives them only when asked, and either side
// still works with a replica that speaks the whole-allocation answers of the earlier version.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, credentials, Metadata, Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { IpamError } from '../../src/ipam/errors.js';
import type { Allocation, AllocationRequest } from '../../src/ipam/types.js';
import { PeerClient, PeerUnavailableError, startPeerServer } from '../../src/server/peers.js';

const SECRET = 'peer-secret-0123';
const PATH = '/ipam.internal.Peer/Allocate';
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const parse = (b: Buffer): unknown => JSON.parse(b.toString());

const req = (owner: string): AllocationRequest => ({
  owner,
  networkInstance: { name: 'vpc' },
  kind: 'network',
  selector: { matchLabels: { role: 'x' } },
  labels: { 'nephio.org/nsn-name': owner },
});

/** What a holder commits: a host address with a gateway, or without one, or an IPAM error. */
function allocation(r: AllocationRequest): Allocation {
  if (r.owner === 'refused') throw new IpamError('Exhausted', 'no free address', { networkInstance: 'default/vpc' });
  const a: Allocation = {
    owner: r.owner,
    networkInstance: { name: 'vpc', namespace: 'default' },
    kind: 'network',
    addressFamily: 'ipv4',
    prefix: r.owner === 'no-gw' ? '10.0.1.9/24' : '10.0.0.7/24',
    parent: '10.0.0.0/24',
    labels: r.labels ?? {},
  };
  if (r.owner !== 'no-gw') a.gateway = '10.0.0.1';
  return a;
}

/** Sends one raw forward request (as a replica of any version would) and returns its answer. */
function rawCall(address: string, body: unknown): Promise<unknown> {
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  md.set('x-ipam-peer', SECRET);
  return new Promise((ok, ko) =>
    client.makeUnaryRequest(PATH, json, parse, body, md, (err, res) => {
      client.close();
      if (err) ko(err);
      else ok(res);
    }),
  );
}

test('a forwarder gets prefix and gateway; the holder answers briefly only when asked', async () => {
  const server = await startPeerServer('127.0.0.1:0', {
    secret: () => SECRET,
    allocate: (r) => Promise.resolve().then(() => allocation(r)),
  });
  const client = new PeerClient(() => SECRET);
  try {
    assert.equal(await client.allocate(server.address, req('gw')), { prefix: '10.0.0.7/24', gateway: '10.0.0.1' });
    assert.equal(await client.allocate(server.address, req('no-gw')), { prefix: '10.0.1.9/24' });
    const refused = await client.allocate(server.address, req('refused')).catch((e: unknown) => e);
    assert.instance(refused, IpamError);
    assert.is((refused as IpamError).code, 'Exhausted');
    // a forwarder of the earlier version asks without `brief`: whole allocations, as before
    assert.equal(await rawCall(server.address, { items: [req('gw')] }), { results: [{ a: allocation(req('gw')) }] });
    assert.equal(await rawCall(server.address, { items: [req('gw')], brief: true }), {
      results: [{ p: '10.0.0.7/24', g: '10.0.0.1' }],
    });
  } finally {
    client.close();
    await server.close();
  }
});

test('a holder of the earlier version (whole allocations, no brief) answers a forwarder of this one', async () => {
  const server = new Server();
  const seen: unknown[] = [];
  server.addService(
    {
      Allocate: {
        path: PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: json,
        requestDeserialize: parse,
        responseSerialize: json,
        responseDeserialize: parse,
        originalName: 'Allocate',
      },
    },
    {
      Allocate: (call: ServerUnaryCall<{ items: AllocationRequest[] }, unknown>, cb: sendUnaryData<unknown>) => {
        seen.push(call.request);
        cb(null, { results: call.request.items.map((r) => (r.owner === 'gone' ? { u: 'not the lease holder' } : { a: allocation(r) })) });
      },
    },
  );
  const port = await new Promise<number>((ok, ko) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? ko(e) : ok(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = new PeerClient(() => SECRET);
  try {
    const a = await client.allocate(address, req('gw'));
    assert.is(a.prefix, '10.0.0.7/24');
    assert.is(a.gateway, '10.0.0.1');
    const gone = await client.allocate(address, req('gone')).catch((e: unknown) => e);
    assert.instance(gone, PeerUnavailableError, '"commit it yourself" stays a PeerUnavailableError');
    assert.is((seen[0] as { brief?: boolean }).brief, true, 'the forwarder asks for brief answers');
  } finally {
    client.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  }
});

test.run();
