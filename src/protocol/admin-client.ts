// The admin service (ipaminjector.admin.v1.Admin) as typed methods over one GrpcConnection:
// the function's grpc backend and `get` both call the server through this, never by a
// method name in a string.
import type { GrpcConnection } from './connection.js';
import type {
  WAllocation,
  WBatchRequest,
  WBatchResponse,
  WListAllocationsRequest,
  WListPrefixesRequest,
  WNetworkInstance,
  WPrefix,
} from './messages.js';
import type { WVlanBatchRequest, WVlanBatchResponse, WVlanClaim, WVlanIndex, WVlanIndexRef } from './vlan.js';

/** Items per page when a caller reads a whole list. */
const PAGE = 5000;

export class AdminClient {
  constructor(readonly conn: GrpcConnection) {}

  batch(req: WBatchRequest): Promise<WBatchResponse> {
    return this.conn.call<WBatchResponse>('admin', 'Batch', req);
  }

  listNetworkInstances(): Promise<{ networkInstances: WNetworkInstance[] }> {
    return this.conn.call('admin', 'ListNetworkInstances', {});
  }

  listAllocations(req: WListAllocationsRequest): Promise<{ allocations: WAllocation[]; continue?: string }> {
    return this.conn.call('admin', 'ListAllocations', req);
  }

  listPrefixes(req: WListPrefixesRequest): Promise<{ prefixes: WPrefix[]; continue?: string }> {
    return this.conn.call('admin', 'ListPrefixes', req);
  }

  vlanBatch(req: WVlanBatchRequest): Promise<WVlanBatchResponse> {
    return this.conn.call<WVlanBatchResponse>('admin', 'VlanBatch', req);
  }

  listVlanIndexes(): Promise<{ indexes: WVlanIndex[] }> {
    return this.conn.call('admin', 'ListVlanIndexes', {});
  }

  /** Every VLAN claim matching the filter, all pages. */
  async allVlanClaims(req: { index?: WVlanIndexRef; owner?: string; ownerPrefix?: string }): Promise<WVlanClaim[]> {
    return pages((next) =>
      this.conn
        .call<{ claims: WVlanClaim[]; continue?: string }>('admin', 'ListVlanClaims', { ...req, limit: PAGE, continue: next })
        .then((r) => ({ items: r.claims ?? [], next: r.continue })),
    );
  }

  /** Every allocation matching `req`, all pages. */
  async allAllocations(req: Omit<WListAllocationsRequest, 'limit' | 'continue'>): Promise<WAllocation[]> {
    return pages((next) =>
      this.listAllocations({ ...req, limit: PAGE, continue: next }).then((r) => ({ items: r.allocations ?? [], next: r.continue })),
    );
  }

  /** Every prefix matching `req`, all pages. */
  async allPrefixes(req: Omit<WListPrefixesRequest, 'limit' | 'continue'>): Promise<WPrefix[]> {
    return pages((next) =>
      this.listPrefixes({ ...req, limit: PAGE, continue: next }).then((r) => ({ items: r.prefixes ?? [], next: r.continue })),
    );
  }
}

async function pages<T>(page: (next: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let next = '';
  do {
    const r = await page(next);
    out.push(...r.items);
    next = r.next ?? '';
  } while (next);
  return out;
}
