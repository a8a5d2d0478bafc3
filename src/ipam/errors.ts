// Typed allocator errors. `code` maps one-to-one onto gRPC status codes (the server) and
// onto error results (the function); the other fields name what the error is about.

export type IpamErrorCode =
  | 'InvalidArgument' // malformed prefix, host bits where not allowed, bad kind/family/length
  | 'NotFound' // unknown network instance, no prefix matches the selector
  | 'AlreadyExists' // prefix/address in use by another owner
  | 'Exhausted' // no free space of that length
  | 'FailedPrecondition' // nesting violation, aggregate required, dependents on removal
  | 'PermissionDenied'; // the server: a package-scoped caller reaching beyond its package

export interface IpamErrorDetails {
  networkInstance?: string; // namespace/name
  /** VLAN index (namespace/name) of a VLAN request's error (src/vlan). */
  vlanIndex?: string;
  selector?: string; // rendered selector, e.g. {nephio.org/cluster-name=c1}
  prefix?: string;
  /** Request field the error is about, e.g. spec.prefix, spec.prefixLength. */
  field?: string;
  /** Owners of allocations that block a removal. */
  dependents?: string[];
}

export class IpamError extends Error {
  override readonly name = 'IpamError';
  constructor(
    readonly code: IpamErrorCode,
    message: string,
    readonly details: IpamErrorDetails = {},
  ) {
    super(message);
  }
}

export const isIpamError = (e: unknown): e is IpamError => e instanceof IpamError;
