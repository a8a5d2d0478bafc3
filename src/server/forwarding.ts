// Write leases at the server level: an allocation in a network instance whose lease another
// replica holds goes to that replica (peers.ts); anything else, and any allocation whose
// forward fails, is committed here. docs/etcd.md, "Write leases", has the argument.
import type { AllocationRequest } from '../ipam/types.js';
import type { IpamCore } from './core.js';
import { PeerClient, PeerUnavailableError, startPeerServer, type AllocationAnswer, type PeerTls } from './peers.js';
import { instId } from './store/etcd/keys.js';

/** What a store with write leases offers (the etcd store with a peer address). */
export interface LeaseRouter {
  route(instanceId: string): { writer: string; address: string } | undefined;
  /** Whether a forward for the instance is committed here (held here, or free and claimed now). */
  accepts(instanceId: string): boolean;
  suspect(writer: string): void;
  peerSecret(): string | undefined;
}

export interface Forwarding {
  /** The peer address the other replicas dial. */
  address: string;
  /** Sends `req` to the lease holder, or undefined: commit it here. */
  forward(req: AllocationRequest): Promise<AllocationAnswer> | undefined;
  close(): Promise<void>;
}

/** Listens on `listen` for other replicas' forwards; `router` and `core` are read when calls
 *  come (the store and the core are made after the listener, which gives the address).
 *  `tls`: peer traffic over mutual TLS (peers.ts). */
export async function startForwarding(
  listen: string,
  router: () => LeaseRouter | undefined,
  core: () => IpamCore | undefined,
  tls?: PeerTls,
): Promise<Forwarding> {
  const secret = () => router()?.peerSecret();
  const server = await startPeerServer(
    listen,
    {
      secret,
      allocate: (req) => {
        const c = core();
        // not (or no longer) the holder: the caller commits it itself, without waiting here
        if (!c || !router()?.accepts(instId(req.networkInstance))) return Promise.reject(new PeerUnavailableError('not the lease holder'));
        return c.mutate((tx) => tx.allocate(req));
      },
    },
    tls,
  );
  const client = new PeerClient(secret, undefined, tls);
  return {
    address: server.address,
    forward(req) {
      const r = router();
      const to = r?.route(instId(req.networkInstance));
      if (!r || !to) return undefined;
      return client.allocate(to.address, req).catch((e: unknown) => {
        if (e instanceof PeerUnavailableError) r.suspect(to.writer);
        throw e;
      });
    },
    async close() {
      client.close();
      await server.close();
    },
  };
}
