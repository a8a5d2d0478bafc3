// Browser sessions of the web view. A token is entered once (POST /api/login) and checked by
// the same Auth as the gRPC API; the browser then holds only a random session id in an
// HttpOnly cookie, so the token never sits in a URL, a page or a log.
import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import type { Auth, Principal } from '../auth.js';

export const COOKIE = 'ipam_session';
const TTL_MS = 12 * 3600_000;
/** Oldest sessions go first beyond this many (a flood of logins cannot grow memory). */
const MAX_SESSIONS = 10_000;

interface Session {
  principal: Principal;
  expires: number;
}

export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly auth: Auth,
    private readonly now: () => number = Date.now,
  ) {}

  get required(): boolean {
    return this.auth.required;
  }

  /** The principal of a bearer token, as the gRPC API would see it (throws when refused). */
  principalOfToken(token: string): Principal {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return this.auth.authenticate(md);
  }

  open(token: string): { id: string; principal: Principal } {
    const principal = this.principalOfToken(token);
    const id = randomBytes(32).toString('base64url');
    this.byId.set(id, { principal, expires: this.now() + TTL_MS });
    while (this.byId.size > MAX_SESSIONS) this.byId.delete(this.byId.keys().next().value!);
    return { id, principal };
  }

  close(id: string): void {
    this.byId.delete(id);
  }

  lookup(id: string | undefined): Principal | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (s.expires < this.now()) {
      this.byId.delete(id);
      return undefined;
    }
    return s.principal;
  }
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, secure: boolean): string {
  return `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${TTL_MS / 1000}${secure ? '; Secure' : ''}`;
}

export function clearedCookie(secure: boolean): string {
  return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
