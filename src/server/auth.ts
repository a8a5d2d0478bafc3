// Who is calling. Two mechanisms, either or both:
// - mTLS (--client-ca): the TLS handshake itself refuses a client without a certificate
//   signed by the CA; the certificate's subject CN names the caller in logs.
// - bearer tokens (--token-file): `authorization: Bearer <token>` metadata on every call.
//   Token file: one token per line, optionally followed by a scope; `#` starts a comment.
//     s3cr3t-admin                # no scope (or "*"): everything
//     s3cr3t-upf  edge/upf-pkg    # only owners of package "edge/upf-pkg"
//   A scoped token can allocate and release only for its own package (alloc label
//   ipam-injector.dev/package, resource ownerNsn, admin Batch package), sees only its own
//   allocations, and cannot change the operator's space outside its package: the transaction
//   (Tx in core.ts) refuses space in a shared network instance and forced releases that would
//   free another package's allocations (src/server/README.md, "Authentication").
import { createHash } from 'node:crypto';
import { status, type Metadata } from '@grpc/grpc-js';
import { StatusError } from '../protocol/status.js';
import { packageOf } from '../protocol/owner.js';

/** The part of a grpc-js server call we use (its type is not exported from the package root). */
export interface PeerCall {
  getAuthContext(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } };
}

export interface Principal {
  /** Package the caller may act for; undefined: any. */
  scope?: string;
  subject: string;
}

export interface TokenEntry {
  name: string;
  scope?: string;
}

const hash = (t: string) => createHash('sha256').update(t).digest('hex');

export function parseTokenFile(text: string): Map<string, TokenEntry> {
  const out = new Map<string, TokenEntry>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [token, scope, extra] = line.split(/\s+/);
    if (extra !== undefined) throw new Error(`token file line ${i + 1}: expected "TOKEN [SCOPE]"`);
    if (token!.length < 8) throw new Error(`token file line ${i + 1}: token shorter than 8 characters`);
    out.set(hash(token!), { name: `token#${i + 1}`, ...(scope && scope !== '*' ? { scope } : {}) });
  });
  if (out.size === 0) throw new Error('token file holds no token');
  return out;
}

export class Auth {
  /** `peerCerts`: mTLS is on, so name callers by their certificate (costs a lookup per call). */
  constructor(
    private readonly tokens?: Map<string, TokenEntry>,
    private readonly peerCerts = false,
  ) {}

  get required(): boolean {
    return this.tokens !== undefined;
  }

  authenticate(md: Metadata, call?: PeerCall): Principal {
    const subject = this.peerCerts ? peerSubject(call) : 'anonymous';
    if (!this.tokens) return { subject };
    const v = md.get('authorization')[0];
    if (typeof v !== 'string' || !v) throw new StatusError(status.UNAUTHENTICATED, 'missing bearer token (authorization metadata)');
    const m = /^Bearer\s+(.+)$/i.exec(v);
    if (!m) throw new StatusError(status.UNAUTHENTICATED, 'authorization metadata must be "Bearer <token>"');
    const entry = this.tokens.get(hash(m[1]!.trim()));
    if (!entry) throw new StatusError(status.UNAUTHENTICATED, 'invalid bearer token');
    return {
      subject: subject === 'anonymous' ? entry.name : `${subject}/${entry.name}`,
      ...(entry.scope !== undefined ? { scope: entry.scope } : {}),
    };
  }
}

function peerSubject(call?: PeerCall): string {
  try {
    const cert = call?.getAuthContext().sslPeerCertificate;
    const cn = cert?.subject?.CN;
    if (cn) return `cn=${Array.isArray(cn) ? cn[0] : cn}`;
  } catch {
    // no auth context on this transport
  }
  return 'anonymous';
}

export function authorizePackage(p: Principal, pkg: string): void {
  if (p.scope !== undefined && p.scope !== pkg) {
    throw new StatusError(status.PERMISSION_DENIED, `${p.subject} may act for package "${p.scope}" only, not "${pkg}"`);
  }
}

export function authorizeOwner(p: Principal, owner: string): void {
  if (p.scope !== undefined) authorizePackage(p, packageOf(owner));
}

export function requireUnscoped(p: Principal, what: string): void {
  if (p.scope !== undefined) throw new StatusError(status.PERMISSION_DENIED, `${what} needs an unscoped token`);
}
