// The etcd client as the store uses it: TLS from files, a deadline on every unary call (a dead
// leader otherwise stalls a call for etcd's own ~7 s request timeout), the commit transaction
// with the store's own codec, and which failures are worth another attempt.
import { readFileSync } from 'node:fs';
import {
  Etcd3,
  GRPCInvalidArgumentError,
  EtcdPermissionDeniedError,
  EtcdAuthenticationFailedError,
  ClientClosedError,
  castGrpcError,
  isRecoverableError,
  type IOptions,
} from 'etcd3';
import { backoffDelay, ETCD_BACKOFF, sleep } from '../../../protocol/backoff.js';
import { decodeTxnAnswer, type TxnAnswer } from './txn-codec.js';

export interface EtcdConnection {
  /** Client URLs, `http://host:2379` or `https://host:2379`. */
  endpoints: string[];
  /** PEM files: CA to verify the members, client certificate and key (mutual TLS). */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Deadline of one unary call (ms); streams (watch) have none. Default 1000. */
  callTimeoutMs?: number;
}

export function checkConnection(c: EtcdConnection): void {
  if (c.endpoints.length === 0) throw new Error('--etcd-endpoints needs at least one URL');
  for (const e of c.endpoints) {
    if (!/^https?:\/\/[^/\s]+$/.test(e)) throw new Error(`etcd endpoint "${e}" must look like http://host:port or https://host:port`);
  }
  const secure = c.endpoints.filter((e) => e.startsWith('https://')).length;
  if (secure !== 0 && secure !== c.endpoints.length) throw new Error('etcd endpoints mix http:// and https://');
  if (!!c.certFile !== !!c.keyFile) throw new Error('--etcd-cert and --etcd-key go together');
  if ((c.caFile || c.certFile) && secure === 0) throw new Error('--etcd-ca/--etcd-cert need https:// etcd endpoints');
}

/** etcd3's client, and KV.Txn of a request encoded by txn-codec.ts. */
export class StoreClient extends Etcd3 {
  constructor(
    options: IOptions,
    private readonly callTimeoutMs: number,
  ) {
    super(options);
  }

  /** etcd3's `kv.txn` converts both messages from and to plain objects, which costs the commit
   *  path more than the call. This one goes through etcd3's connection pool all the same (its
   *  members, circuit breakers, TLS and typed errors) and, as etcd3's calls do, tries up to
   *  four members in the pool's shuffled order while the failure is recoverable. `attempt` is
   *  called as each attempt is sent. */
  async txnEncoded(req: Buffer, attempt: () => void = () => {}): Promise<TxnAnswer> {
    const members = memberOrder(this.pool);
    let reached: unknown;
    for (let n = 0; ; n++) {
      let through = false;
      try {
        return await this.pool.withConnection(
          'KV',
          ({ client, metadata }) => {
            through = true;
            attempt();
            return callTxn(client as unknown as UnaryClient, metadata, req, this.callTimeoutMs);
          },
          members,
        );
      } catch (e) {
        // etcd3 reports the last failure of a member rather than the breakers it opened
        if (!through && reached !== undefined) throw reached;
        if (n >= 3 || !isRecoverableError(e as Error)) throw e;
        reached = e;
        await sleep(0);
      }
    }
  }
}

const TXN_METHOD = '/etcdserverpb.KV/Txn';

/** What the store uses of a grpc-js client (etcd3 brings its own grpc-js). */
interface UnaryClient {
  makeUnaryRequest(
    method: string,
    serialize: (req: Buffer) => Buffer,
    deserialize: (res: Buffer) => TxnAnswer,
    argument: Buffer,
    metadata: unknown,
    options: { deadline: number },
    callback: (err: Error | null, res?: TxnAnswer) => void,
  ): unknown;
}

function callTxn(client: UnaryClient, metadata: unknown, req: Buffer, timeoutMs: number): Promise<TxnAnswer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      TXN_METHOD,
      (b) => b,
      decodeTxnAnswer,
      req,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, res) => (err ? reject(castGrpcError(err)) : resolve(res!)),
    );
  });
}

type MemberOrder = Parameters<StoreClient['pool']['withConnection']>[2];

/** The pool's shuffled member order for one call: each attempt goes to the next member. etcd3
 *  does not export it; without it every attempt draws a member anew. */
function memberOrder(pool: object): MemberOrder {
  const shuffled = (pool as { shuffledHosts?: () => MemberOrder }).shuffledHosts;
  return typeof shuffled === 'function' ? shuffled.call(pool) : undefined;
}

export function connect(c: EtcdConnection): StoreClient {
  checkConnection(c);
  const timeout = c.callTimeoutMs ?? 1000;
  const options: IOptions = {
    hosts: c.endpoints,
    dialTimeout: Math.max(timeout, 2000),
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    // Large loads (a replica reading the whole state at start) exceed grpc's 4 MiB default.
    grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
    // etcd3 reconnects a broken watch stream after a backoff that grows to 30 s; while it is
    // down a replica follows no other replica and loses every race it enters. A stream lands
    // on a random member, so after a member dies a few attempts may fail in a row: cap at 1 s.
    faultHandling: { watchBackoff: watchBackoff(0) },
  };
  if (c.caFile || c.certFile) {
    options.credentials = {
      rootCertificate: c.caFile ? readFileSync(c.caFile) : (undefined as unknown as Buffer),
      ...(c.certFile ? { certChain: readFileSync(c.certFile), privateKey: readFileSync(c.keyFile!) } : {}),
    };
  }
  return new StoreClient(options, timeout);
}

/** Errors that another attempt cannot fix (bad request, no permission, closed client). */
export function isPermanent(e: unknown): boolean {
  return (
    e instanceof GRPCInvalidArgumentError ||
    e instanceof EtcdPermissionDeniedError ||
    e instanceof EtcdAuthenticationFailedError ||
    e instanceof ClientClosedError ||
    /too many operations in txn|request is too large|duplicate key given in txn/i.test(String((e as Error)?.message))
  );
}

type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** The watch stream's reconnect delays (ETCD_BACKOFF). */
function watchBackoff(retry: number): WatchBackoff {
  return { duration: backoffDelay(ETCD_BACKOFF, retry), next: () => watchBackoff(retry + 1) };
}
