// The read-only web view of `serve --http`: one HTTP(S) listener, a few JSON endpoints over the
// allocator, server-sent events for live updates, and the page's own static files. Nothing
// here changes state; the only POSTs open and close a browser session.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { isIpamError } from '../../ipam/index.js';
import type { Auth, Principal } from '../auth.js';
import type { IpamCore } from '../core.js';
import type { Logger } from '../log.js';
import type { TlsFiles } from '../tls-files.js';
import { loadPage } from './assets.js';
import { PAGE_ROWS, withBoot, type Boot, type Session } from './boot.js';
import { LiveFeed } from './events.js';
import { parseSelector } from './selector.js';
import { clearedCookie, cookieValue, COOKIE, sessionCookie, Sessions } from './sessions.js';
import { allocationPage, spaceTree, subnetMap, type AllocationQuery, type Viewer } from './views.js';
import { vlanIndexes, vlanIndexMap } from './vlan-views.js';

export interface WebOptions {
  /** HOST:PORT; port 0 picks one. */
  listen: string;
  core: IpamCore;
  auth: Auth;
  tls?: TlsFiles;
  log: Logger;
}

export interface RunningWeb {
  port: number;
  close(): Promise<void>;
}

/** The page's own stylesheet and script (by hash) and requests to this server: nothing else. */
const csp = (styleHash: string, scriptHash: string) =>
  `default-src 'none'; script-src ${scriptHash}; style-src ${styleHash}; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const PAGE_LIMIT = 100;
const MAX_PAGE = 1000;
const MAX_BODY = 4096;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startWebView(o: WebOptions): Promise<RunningWeb> {
  const routes = new Routes(o);
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    routes.route(req, res).catch((e: unknown) => fail(res, e, o.log));
  };
  const server: Server = o.tls
    ? createHttps(
        {
          cert: o.tls.cert,
          key: o.tls.key,
          ...(o.tls.clientCa ? { ca: o.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
        },
        handler,
      )
    : createHttp(handler);
  const port = await listen(server, o.listen);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        routes.live.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, address: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const { host, port: p } = splitHostPort(address);
    server.once('error', reject);
    server.listen(p, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : p);
    });
  });
}

/** The view's pages and endpoints, over one allocator, one set of sessions and one live feed. */
class Routes {
  private readonly template: string;
  private readonly headers: Record<string, string>;
  private readonly sessions: Sessions;
  readonly live: LiveFeed;
  private readonly secure: boolean;

  constructor(private readonly o: WebOptions) {
    const { template, styleHash, scriptHash } = loadPage();
    this.template = template;
    this.headers = { ...SECURITY_HEADERS, 'content-security-policy': csp(styleHash, scriptHash) };
    this.sessions = new Sessions(o.auth);
    this.live = new LiveFeed(o.core);
    this.secure = o.tls !== undefined;
  }

  async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://view');
    for (const [k, v] of Object.entries(this.headers)) res.setHeader(k, v);
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (url.pathname === '/' || url.pathname === '/index.html') return this.sendPage(req, res, await this.boot(req));
    if (req.method === 'POST' && url.pathname === '/api/login') return this.login(req, res);
    if (req.method === 'POST' && url.pathname === '/api/logout') return this.logout(req, res);
    if (req.method !== 'GET') throw new HttpError(405, `${req.method} is not served: the view is read-only`);
    if (url.pathname === '/api/session') return sendJson(res, this.session(req));
    return this.api(url, this.viewerOf(req), res);
  }

  /** The read-only JSON endpoints and the live feed, for `viewer`. */
  private async api(url: URL, viewer: Viewer, res: ServerResponse): Promise<void> {
    const { core } = this.o;
    const q = url.searchParams;
    switch (url.pathname) {
      case '/api/tree':
        return sendJson(res, { networkInstances: await core.query((ipam) => spaceTree(ipam, viewer)) });
      case '/api/allocations': {
        const query = allocationQuery(q);
        return sendJson(res, await core.query((ipam) => allocationPage(ipam, query, viewer)));
      }
      case '/api/subnet': {
        const ni = instanceRef(q.get('networkInstance'));
        const prefix = required(q, 'prefix');
        return sendJson(res, await core.query((ipam) => subnetMap(ipam, ni, prefix, viewer)));
      }
      case '/api/vlans':
        return sendJson(res, { indexes: await core.query((ipam) => vlanIndexes(ipam, viewer)) });
      case '/api/vlan': {
        const ref = instanceRef(q.get('index'), 'index');
        return sendJson(res, await core.query((ipam) => vlanIndexMap(ipam, ref, viewer)));
      }
      case '/api/events':
        return this.live.open(res, viewer, q.get('since') ?? undefined);
      default:
        throw new HttpError(404, `${url.pathname}: no such page`);
    }
  }

  private session(req: IncomingMessage): Session {
    const { sessions } = this;
    const p = sessions.required ? sessions.lookup(cookieValue(req.headers.cookie, COOKIE)) : { subject: 'anonymous' };
    return { tokens: sessions.required, signedIn: p !== undefined, ...(p?.scope !== undefined ? { scope: p.scope } : {}) };
  }

  /** The page and, for a signed-in viewer, what it shows first (one read of the allocator). */
  private async boot(req: IncomingMessage): Promise<Boot> {
    const s = this.session(req);
    if (!s.signedIn) return { session: s };
    const viewer: Viewer = s.scope !== undefined ? { scope: s.scope } : {};
    const since = this.live.mark();
    const data = await this.o.core.query((ipam) => ({
      tree: spaceTree(ipam, viewer),
      allocations: allocationPage(ipam, { offset: 0, limit: PAGE_ROWS }, viewer),
      vlans: vlanIndexes(ipam, viewer),
    }));
    return { session: s, data, since };
  }

  private sendPage(req: IncomingMessage, res: ServerResponse, b: Boot): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} is not served: the view is read-only`);
    const body = Buffer.from(withBoot(this.template, b));
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Who is asking: the session's principal, or a bearer token (curl); refused without either. */
  private viewerOf(req: IncomingMessage): Viewer {
    const { sessions } = this;
    if (!sessions.required) return {};
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    let p: Principal | undefined;
    try {
      p = bearer ? sessions.principalOfToken(bearer[1]!.trim()) : sessions.lookup(cookieValue(req.headers.cookie, COOKIE));
    } catch {
      p = undefined;
    }
    if (!p) throw new HttpError(401, 'sign in with a token');
    return p.scope !== undefined ? { scope: p.scope } : {};
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    sameOrigin(req);
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      throw new HttpError(415, 'send {"token": "..."} as application/json');
    const body = await readBody(req);
    let token: unknown;
    try {
      token = (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      throw new HttpError(400, 'send {"token": "..."} as application/json');
    }
    if (!this.sessions.required) return sendJson(res, { tokens: false, signedIn: true });
    if (typeof token !== 'string' || token === '') throw new HttpError(400, 'token: a string is required');
    let opened;
    try {
      opened = this.sessions.open(token);
    } catch {
      throw new HttpError(401, 'the token was refused');
    }
    res.setHeader('set-cookie', sessionCookie(opened.id, this.secure));
    sendJson(res, { tokens: true, signedIn: true, ...(opened.principal.scope !== undefined ? { scope: opened.principal.scope } : {}) });
  }

  private logout(req: IncomingMessage, res: ServerResponse): void {
    sameOrigin(req);
    const id = cookieValue(req.headers.cookie, COOKIE);
    if (id) this.sessions.close(id);
    res.setHeader('set-cookie', clearedCookie(this.secure));
    sendJson(res, { tokens: this.sessions.required, signedIn: false });
  }
}

function allocationQuery(q: URLSearchParams): AllocationQuery {
  const text = (k: string) => {
    const v = q.get(k)?.trim();
    if (v && v.length > 1024) throw new HttpError(400, `${k}: at most 1024 characters`);
    return v ? v : undefined;
  };
  const ni = text('networkInstance');
  const within = text('prefix');
  if (within && !ni) throw new HttpError(400, 'prefix: choose a network instance too');
  let selector;
  const sel = text('selector');
  if (sel) {
    try {
      selector = parseSelector(sel);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
  }
  const offset = count(q.get('offset'), 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const limit = count(q.get('limit'), 'limit', 1, MAX_PAGE) ?? PAGE_LIMIT;
  const pkg = text('package');
  const owner = text('owner');
  return {
    ...(ni ? { networkInstance: instanceRef(ni) } : {}),
    ...(pkg ? { package: pkg } : {}),
    ...(owner ? { owner } : {}),
    ...(selector ? { selector } : {}),
    ...(within ? { within } : {}),
    offset,
    limit,
  };
}

function count(v: string | null, name: string, min: number, max: number): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name}: an integer from ${min} to ${max}`);
  return n;
}

function required(q: URLSearchParams, name: string): string {
  const v = q.get(name)?.trim();
  if (!v) throw new HttpError(400, `${name} is required`);
  return v;
}

/** "namespace/name" or "name" (namespace default). */
function instanceRef(v: string | null, field = 'networkInstance'): { name: string; namespace: string } {
  if (!v) throw new HttpError(400, `${field} is required`);
  const [a, b, extra] = v.split('/');
  if (extra !== undefined || !a) throw new HttpError(400, `${field}: "${v}" is not namespace/name`);
  return b === undefined ? { name: a, namespace: 'default' } : { name: b, namespace: a };
}

/** A session is opened only from the view's own page (no cross-site form can post JSON anyway). */
function sameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined && new URL(origin).host !== req.headers.host) throw new HttpError(403, 'cross-origin request refused');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
        req.destroy();
      } else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function fail(res: ServerResponse, e: unknown, log: Logger): void {
  const status = e instanceof HttpError ? e.status : isIpamError(e) ? (e.code === 'NotFound' ? 404 : 400) : 500;
  if (status === 500) log.error('web view request failed', { error: (e as Error).message });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, { error: status === 500 ? 'internal error (see the server log)' : (e as Error).message }, status);
}

function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`--http: "${listen}" is not HOST:PORT`);
  return { host: m[1]!, port: Number(m[2]) };
}
