// IpamError <-> gRPC status. The server sends the code and message, plus the error's
// details as metadata (ipam-reason, ipam-field, ...), so our client rebuilds the same
// IpamError and a third-party client still gets a standard status.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { IpamError, type IpamErrorCode } from '../ipam/errors.js';
import { localizeText } from './owner.js';

const TO_GRPC: Record<IpamErrorCode, status> = {
  InvalidArgument: status.INVALID_ARGUMENT,
  NotFound: status.NOT_FOUND,
  AlreadyExists: status.ALREADY_EXISTS,
  Exhausted: status.RESOURCE_EXHAUSTED,
  FailedPrecondition: status.FAILED_PRECONDITION,
  PermissionDenied: status.PERMISSION_DENIED,
};

export const grpcCodeOf = (c: IpamErrorCode): number => TO_GRPC[c];

export function ipamCodeOf(code: number): IpamErrorCode | undefined {
  for (const [k, v] of Object.entries(TO_GRPC)) if (v === code) return k as IpamErrorCode;
  return undefined;
}

/** The error as the caller's package sees it: its own owner keys without the package scope
 *  (other packages' owners stay qualified: they say who holds what). */
export function localizeError(e: unknown, pkg: string): unknown {
  if (!pkg || !(e instanceof IpamError)) return e;
  const d = e.details;
  return new IpamError(e.code, localizeText(e.message, pkg), {
    ...d,
    ...(d.dependents ? { dependents: d.dependents.map((x) => localizeText(x, pkg)) } : {}),
  });
}

/** Runs a package's request; errors come back in the package's own terms. */
export function asPackage<T>(pkg: string, fn: () => Promise<T>): Promise<T> {
  if (!pkg) return fn();
  return fn().catch((e: unknown) => {
    throw localizeError(e, pkg);
  });
}

/** An error the server answers with something other than an IpamError code. */
export class StatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

const META = {
  reason: 'ipam-reason',
  networkInstance: 'ipam-network-instance',
  selector: 'ipam-selector',
  prefix: 'ipam-prefix',
  field: 'ipam-field',
  dependents: 'ipam-dependents',
} as const;

/** Metadata values must be printable ASCII. */
/** Longest error text and metadata value sent. A status travels in HTTP/2 trailers, which a
 *  gRPC client accepts up to 8 KiB (grpc-js \`grpc.max_metadata_size\`, percent-encoded
 *  message included); over that the answer never arrives. */
export const MAX_ERROR_TEXT = 1024;
const MAX_METADATA_VALUE = 512;

/** `s` cut to `max` characters, saying how much was left out. */
export function clip(s: string, max = MAX_ERROR_TEXT): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length - max} more characters)`;
}

const ascii = (s: string) => clip(s.replace(/[^\x20-\x7e]/g, '?'), MAX_METADATA_VALUE);

export function toServiceError(e: unknown): Partial<ServiceError> & { code: status } {
  if (e instanceof IpamError) {
    const md = new Metadata();
    md.set(META.reason, e.code);
    const d = e.details;
    if (d.networkInstance) md.set(META.networkInstance, ascii(d.networkInstance));
    if (d.selector) md.set(META.selector, ascii(d.selector));
    if (d.prefix) md.set(META.prefix, ascii(d.prefix));
    if (d.field) md.set(META.field, ascii(d.field));
    if (d.dependents?.length) md.set(META.dependents, ascii(d.dependents.join(',')));
    return { code: TO_GRPC[e.code], details: clip(e.message), metadata: md };
  }
  if (e instanceof StatusError) return { code: e.code, details: clip(e.message) };
  const name = (e as Error)?.name;
  if (name === 'UnavailableError' || name === 'StoreFailedError') return { code: status.UNAVAILABLE, details: clip((e as Error).message) };
  return { code: status.INTERNAL, details: clip(`internal error: ${(e as Error)?.message ?? String(e)}`) };
}

/** Client side: a failed call as the IpamError it stands for, or a plain Error. */
export function fromServiceError(e: ServiceError, what: string): Error {
  const md = e.metadata;
  const get = (k: string) => {
    const v = md?.get(k)[0];
    return typeof v === 'string' && v ? v : undefined;
  };
  const reason = (get(META.reason) as IpamErrorCode | undefined) ?? ipamCodeOf(e.code);
  // grpc-js ends connection failures with "Resolution note: " and nothing after it
  const message = (e.details || e.message).replace(/\.?\s*Resolution note:\s*$/, '').replace('Last error: Error: ', 'Last error: ');
  if (reason) {
    const dependents = get(META.dependents);
    return new IpamError(reason, message, {
      ...(get(META.networkInstance) ? { networkInstance: get(META.networkInstance)! } : {}),
      ...(get(META.selector) ? { selector: get(META.selector)! } : {}),
      ...(get(META.prefix) ? { prefix: get(META.prefix)! } : {}),
      ...(get(META.field) ? { field: get(META.field)! } : {}),
      ...(dependents ? { dependents: dependents.split(',') } : {}),
    });
  }
  const err = new Error(`${what}: ${status[e.code] ?? e.code}: ${message}`);
  (err as Error & { code?: number }).code = e.code;
  return err;
}
