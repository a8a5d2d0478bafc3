// Forwarding between etcd replicas (docs/etcd.md, "Write leases"): a replica that does not
// hold a network instance's write lease sends the allocations it was asked for to the replica
// that does, which commits them in its own group commit. Requests to one replica travel
// together: at most two calls are in flight to it, and what arrives meanwhile is the next. The
// caller was authorised by the replica it called; the
// owner in each request already carries its package. Replicas prove themselves to each other
// with a secret they read from etcd (whoever can read it can change the state anyway).
//
// With PeerTls, peer traffic is mutual TLS against a CA of the replicas' own: the server asks
// for a client certificate signed by it, the client accepts only a server certificate signed by
// it. The client does not match the certificate's names against the address it dialled: peer
// addresses are pod IPs that change, and the pinned CA is what identifies a replica.
//
// Any failure to get an answer (holder dead, unreachable, too slow, or not holding the lease
// any more) is PeerUnavailableError: the caller then commits the request itself. Safety does
// not depend on any of this: every commit compares in etcd what it relies on.
import { timingSafeEqual } from 'node:crypto';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { IpamError } from '../ipam/errors.js';
import type { Allocation, AllocationRequest } from '../ipam/types.js';

export class PeerUnavailableError extends Error {
  override readonly name = 'PeerUnavailableError';
}

const PATH = '/ipam.internal.Peer/Allocate';
const SECRET = 'x-ipam-peer';

/** What the client of a forwarded allocation is told (alloc.proto answers these two). */
export type AllocationAnswer = Pick<Allocation, 'prefix' | 'gateway'>;

interface ForwardRequest {
  items: AllocationRequest[];
  /** Answer only the prefix and gateway of each allocation (`p`, `g`): the rest is most of the
   *  bytes and no forwarder uses it. A replica without this answers whole allocations (`a`),
   *  which are read the same, so replicas of both versions forward to each other. */
  brief?: boolean;
}
/** Per item: the allocation (whole or brief), an IPAM error for the client, or "commit it yourself". */
type ForwardResult =
  | { a: Allocation }
  | { p: string; g?: string }
  | { e: { code: IpamError['code']; message: string; details: IpamError['details'] } }
  | { u: string };
interface ForwardResponse {
  results: ForwardResult[];
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const parse = <T>(b: Buffer): T => JSON.parse(b.toString()) as T;

const definition: ServiceDefinition = {
  Allocate: {
    path: PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: json,
    requestDeserialize: parse<ForwardRequest>,
    responseSerialize: json,
    responseDeserialize: parse<ForwardResponse>,
    originalName: 'Allocate',
  },
};

/** PEM contents of this replica's certificate and key, and of the CA that signs every replica's. */
export interface PeerTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

const serverCredentials = (tls: PeerTls | undefined) =>
  tls ? ServerCredentials.createSsl(tls.ca, [{ cert_chain: tls.cert, private_key: tls.key }], true) : ServerCredentials.createInsecure();

const clientCredentials = (tls: PeerTls | undefined) =>
  tls ? credentials.createSsl(tls.ca, tls.key, tls.cert, { checkServerIdentity: () => undefined }) : credentials.createInsecure();

export interface PeerHandler {
  /** The shared secret (undefined until the store has read it). */
  secret: () => string | undefined;
  /** Commits one forwarded allocation here; UnavailableError-like failures become `u`. */
  allocate: (req: AllocationRequest) => Promise<Allocation>;
}

export interface PeerServer {
  address: string;
  close(): Promise<void>;
}

/** Listens for forwarded allocations on `listen` (host:port; port 0 picks one). */
export async function startPeerServer(listen: string, handler: PeerHandler, tls?: PeerTls): Promise<PeerServer> {
  const server = new Server();
  const impl: UntypedServiceImplementation = {
    Allocate: (call: ServerUnaryCall<ForwardRequest, ForwardResponse>, cb: sendUnaryData<ForwardResponse>) => {
      if (!sameSecret(call.metadata.get(SECRET)[0], handler.secret())) {
        cb({ code: status.PERMISSION_DENIED, details: 'not a replica of this deployment' });
        return;
      }
      const answer = call.request.brief === true ? brief : whole;
      void Promise.all(call.request.items.map((req) => handler.allocate(req).then(answer, failed))).then((results) =>
        cb(null, { results }),
      );
    },
  };
  server.addService(definition, impl);
  const port = await new Promise<number>((ok, ko) => server.bindAsync(listen, serverCredentials(tls), (e, p) => (e ? ko(e) : ok(p))));
  const host = listen.slice(0, listen.lastIndexOf(':'));
  return {
    address: `${host}:${port}`,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  };
}

const whole = (a: Allocation): ForwardResult => ({ a });
const brief = (a: Allocation): ForwardResult => (a.gateway === undefined ? { p: a.prefix } : { p: a.prefix, g: a.gateway });

/** A result's allocation as the forwarder answers it, or undefined when the result is none. */
function answerOf(x: ForwardResult): AllocationAnswer | undefined {
  if ('p' in x) return x.g === undefined ? { prefix: x.p } : { prefix: x.p, gateway: x.g };
  return 'a' in x ? x.a : undefined;
}
function failed(e: unknown): ForwardResult {
  if (e instanceof IpamError) return { e: { code: e.code, message: e.message, details: e.details } };
  return { u: (e as Error).message };
}

function sameSecret(got: unknown, want: string | undefined): boolean {
  if (typeof got !== 'string' || !want || got.length !== want.length) return false;
  return timingSafeEqual(Buffer.from(got), Buffer.from(want));
}

interface Waiting {
  req: AllocationRequest;
  resolve: (a: AllocationAnswer) => void;
  reject: (e: Error) => void;
}

/** Requests waiting for one replica, and its calls in flight. */
interface Route {
  queue: Waiting[];
  inflight: number;
  scheduled: boolean;
}

/** Calls in flight to one replica: later requests wait and go together (like group commit:
 *  the holder answers once its commit is durable, and meanwhile the next batch fills). */
const DEPTH = 2;

/** Sends allocations to other replicas, batched per replica. */
export class PeerClient {
  private readonly clients = new Map<string, Client>();
  private readonly routes = new Map<string, Route>();

  constructor(
    private readonly secret: () => string | undefined,
    private readonly timeoutMs = 1000,
    private readonly tls?: PeerTls,
  ) {}

  allocate(address: string, req: AllocationRequest): Promise<AllocationAnswer> {
    return new Promise((resolve, reject) => {
      let r = this.routes.get(address);
      if (!r) this.routes.set(address, (r = { queue: [], inflight: 0, scheduled: false }));
      r.queue.push({ req, resolve, reject });
      this.schedule(address, r);
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private schedule(address: string, r: Route): void {
    if (r.scheduled || r.inflight >= DEPTH || r.queue.length === 0) return;
    r.scheduled = true;
    // every request of this turn of the event loop joins the call
    setImmediate(() => {
      r.scheduled = false;
      this.send(address, r);
    });
  }

  private send(address: string, r: Route): void {
    const q = r.queue;
    r.queue = [];
    const secret = this.secret();
    if (!secret) {
      for (const w of q) w.reject(new PeerUnavailableError('no peer secret yet'));
      return;
    }
    let client = this.clients.get(address);
    if (!client) this.clients.set(address, (client = new Client(address, clientCredentials(this.tls))));
    const md = new Metadata();
    md.set(SECRET, secret);
    r.inflight++;
    client.makeUnaryRequest<ForwardRequest, ForwardResponse>(
      PATH,
      json,
      parse<ForwardResponse>,
      { items: q.map((w) => w.req), brief: true },
      md,
      { deadline: Date.now() + this.timeoutMs },
      (err, res) => {
        r.inflight--;
        this.schedule(address, r);
        if (err || !res || res.results.length !== q.length) {
          const why = new PeerUnavailableError(`replica at ${address}: ${err?.message ?? 'bad answer'}`);
          for (const w of q) w.reject(why);
          return;
        }
        res.results.forEach((x, i) => {
          const w = q[i]!;
          const a = answerOf(x);
          if (a) w.resolve(a);
          else if ('e' in x) w.reject(new IpamError(x.e.code, x.e.message, x.e.details));
          else w.reject(new PeerUnavailableError(`replica at ${address}: ${(x as { u: string }).u}`));
        });
      },
    );
  }
}
