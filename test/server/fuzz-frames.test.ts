// Fuzz: generated malformed protobuf frames (random bytes, truncated fields, wrong wire types,
// huge lengths, valid-but-odd values) at every method of every service the server offers
// (admin, alloc, resource, health), sent raw through grpc-js with a pass-through serializer.
// Each call must end with a status a client can act on (OK, a client-error code, or grpc-js's
// own INTERNAL for bytes it cannot parse) within its deadline, never a handler crash
// (INTERNAL from our code), a hang or a dead server. Bounded in time: runs in CI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/protocol/load.js';
import { inProcess, raw } from './helpers.js';

interface Method {
  path: string;
  stream: boolean;
}

const HEALTH: Method[] = [
  { path: '/grpc.health.v1.Health/Check', stream: false },
  { path: '/grpc.health.v1.Health/Watch', stream: true },
];

function methods(): Method[] {
  const out: Method[] = [...HEALTH];
  for (const name of ['admin', 'alloc', 'resource'] as const) {
    for (const m of Object.values(serviceDefinition(name))) out.push({ path: m.path, stream: m.responseStream });
  }
  return out;
}

// Codes a client can act on. INTERNAL only as grpc-js's own answer to unparseable bytes.
const FINE = new Set([
  status.OK,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.FAILED_PRECONDITION,
  status.RESOURCE_EXHAUSTED,
  status.PERMISSION_DENIED,
  status.OUT_OF_RANGE,
]);
const acceptable = (code: number, details: string) =>
  FINE.has(code) || (code === status.INTERNAL && details.startsWith('Error deserializing request'));

// ---- frame generators -------------------------------------------------------------------

const varint = (v: bigint): number[] => {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
const tag = (field: number, wireType: number) => varint(BigInt((field << 3) | wireType));

const oddText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    '0.0.0.0/0',
    '::/0',
    '10.0.0.0/33',
    'vpc',
    'default',
    'In',
    'NotIn',
    'Exists',
    'aggregate',
    'pool',
    'IPPrefix',
    'NetworkInstance',
    '__proto__',
    'constructor',
  ),
  fc.constantFrom(
    '{}',
    '[]',
    'null',
    '{"__proto__":{"x":1}}',
    '{"spec":{"selector":{"matchExpressions":"x"}}}',
    '{"kind":"x","spec":{"prefixes":{"a":1}}}',
    '1e999',
    '"\\ud800"',
    '['.repeat(5000),
    '{"a":'.repeat(3000),
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 1, max: 70_000 }).map((n) => 'x'.repeat(n)),
);
const utf8 = (s: string) => [...Buffer.from(s, 'utf8')];

type Bytes = number[];
const fieldNo = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constantFrom(0, 19000, 536870911));

const message: fc.Memo<Bytes> = fc.memo((depth: number): fc.Arbitrary<Bytes> => {
  const field = fc.oneof(
    // varint: any value, an unterminated one, an over-long one
    fc.tuple(fieldNo, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([f, v]) => [...tag(f, 0), ...varint(v)]),
    fc.tuple(fieldNo, fc.integer({ min: 1, max: 12 })).map(([f, n]) => [...tag(f, 0), ...Array<number>(n).fill(0xff)]),
    // fixed 64 / 32, maybe short
    fc.tuple(fieldNo, fc.constantFrom(1, 5), fc.uint8Array({ maxLength: 8 })).map(([f, wt, b]) => [...tag(f, wt), ...b]),
    // length-delimited: text, bytes, a nested message (deeper), a wrong or huge length
    fc.tuple(fieldNo, oddText).map(([f, s]) => [...tag(f, 2), ...varint(BigInt(Buffer.byteLength(s))), ...utf8(s)]),
    fc.tuple(fieldNo, fc.uint8Array({ maxLength: 64 })).map(([f, b]) => [...tag(f, 2), ...varint(BigInt(b.length)), ...b]),
    ...(depth > 0 ? [fc.tuple(fieldNo, message(depth - 1)).map(([f, m]) => [...tag(f, 2), ...varint(BigInt(m.length)), ...m])] : []),
    fc
      .tuple(fieldNo, fc.constantFrom(1n, 127n, 1n << 31n, (1n << 32n) - 1n, 1n << 40n), fc.uint8Array({ maxLength: 16 }))
      .map(([f, len, b]) => [...tag(f, 2), ...varint(len), ...b]),
    // groups and wire types that do not exist
    fc.tuple(fieldNo, fc.constantFrom(3, 4, 6, 7), fc.uint8Array({ maxLength: 8 })).map(([f, wt, b]) => [...tag(f, wt), ...b]),
  );
  return fc.array(field, { maxLength: 8 }).map((fs) => fs.flat());
});

/** A nesting so deep that a recursive decoder runs out of stack. */
const deep = fc.integer({ min: 1000, max: 20_000 }).map((n) => {
  const heads: Bytes[] = [];
  let len = 0;
  for (let i = 0; i < n; i++) {
    const head = [...tag(1, 2), ...varint(BigInt(len))];
    heads.push(head);
    len += head.length;
  }
  return heads.reverse().flat();
});

const frame: fc.Arbitrary<Buffer> = fc
  .oneof(
    { weight: 5, arbitrary: message(3) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => [...b]) },
    { weight: 2, arbitrary: fc.tuple(message(2), fc.nat()).map(([m, cut]) => m.slice(0, m.length ? cut % m.length : 0)) },
    { weight: 1, arbitrary: deep },
  )
  .map((b) => Buffer.from(b));

// ---- calls -------------------------------------------------------------------------------

const same = (b: Buffer) => b;
const DEADLINE_MS = 5_000;

function callRaw(client: Client, m: Method, body: Buffer): Promise<{ code: number; details: string }> {
  const deadline = Date.now() + DEADLINE_MS;
  return new Promise((resolve) => {
    if (!m.stream) {
      client.makeUnaryRequest(m.path, same, same, body, new Metadata(), { deadline }, (e: ServiceError | null) =>
        resolve(e ? { code: e.code, details: e.details } : { code: status.OK, details: '' }),
      );
      return;
    }
    // a stream: its first status, or OK when it is still open (a valid watch) after a moment
    const call = client.makeServerStreamRequest(m.path, same, same, body, new Metadata(), { deadline });
    let settled = false;
    const settle = (r: { code: number; details: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.cancel();
      resolve(r);
    };
    const timer = setTimeout(() => settle({ code: status.OK, details: 'open' }), 150);
    call.on('data', () => {});
    call.on('error', (e: ServiceError) => settle({ code: e.code, details: e.details }));
    call.on('status', (s: { code: number; details: string }) => settle(s));
  });
}

test('malformed frames at every method of every service: a status a client can act on, and a live server', async () => {
  const srv = await inProcess();
  const client = new Client(srv.address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const all = methods();
  assert.ok(all.length >= 20, `${all.length} methods`);
  const bad: string[] = [];
  try {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...all), frame, async (m, body) => {
        const r = await callRaw(client, m, body);
        if (!acceptable(r.code, r.details))
          bad.push(`${m.path} ${status[r.code]} ${r.details.slice(0, 200)} <- ${body.toString('hex').slice(0, 120)}`);
        return acceptable(r.code, r.details);
      }),
      { numRuns: 600, interruptAfterTimeLimit: 40_000, seed: Number(process.env.FUZZ_SEED) || undefined },
    );
    // every method with the empty frame, and with bytes that are not protobuf at all
    for (const m of all) {
      for (const body of [
        Buffer.alloc(0),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      ]) {
        const r = await callRaw(client, m, body);
        assert.ok(acceptable(r.code, r.details), `${m.path} ${status[r.code]} ${r.details}`);
      }
    }
    assert.equal(bad, []);
    // the server still answers, with its state intact
    const admin = raw('admin', srv.address);
    const nis = await admin.call<{ networkInstances: { name: string }[] }>('ListNetworkInstances', {});
    assert.ok(nis.networkInstances.some((n) => n.name === 'vpc'));
    const a = await admin.call<{ prefix: string }>('Allocate', {
      owner: 'fuzz|default/IPClaim/after',
      networkInstance: { name: 'vpc' },
      kind: 'network',
      selector: { matchLabels: { 'nephio.org/cluster-name': 'c1' } },
    });
    assert.match(a.prefix, /^10\.0\.1\.\d+\/24$/);
    admin.close();
  } finally {
    client.close();
    await srv.shutdown();
  }
});

test.run();
