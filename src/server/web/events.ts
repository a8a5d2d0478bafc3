// Live updates for open pages: server-sent events from the server's change feed. A page is
// told what changed and where (a network instance or a VLAN index), then fetches what it shows.
// A page that came with its first data names the moment that data was read (a mark from
// `mark()`); its stream starts with a RESYNC event unless nothing changed since, and so does
// every other stream (it cannot know what it missed). Nothing is subscribed while no page is
// open or about to open its stream, and a page that stops reading is cut off rather than
// buffered without bound.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Change, IpamCore } from '../core.js';
import { packageOf } from '../../protocol/owner.js';
import type { Viewer } from './views.js';

/** Bytes a slow page may have waiting before it is disconnected. */
const MAX_BACKLOG = 256 * 1024;
const HEARTBEAT_MS = 15_000;
/** How long a mark waits for its page's stream, and how many may wait at once (oldest go). */
const MARK_MS = 10_000;
const MAX_MARKS = 1_000;
const RESYNC = `event: change\ndata: ${JSON.stringify({ type: 'RESYNC' })}\n\n`;

interface Page {
  res: ServerResponse;
  viewer: Viewer;
}

export class LiveFeed {
  private readonly pages = new Set<Page>();
  /** Marks not yet claimed by a stream: whether anything changed since each was made. */
  private readonly marks = new Map<string, { changed: boolean; timer: NodeJS.Timeout }>();
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly core: IpamCore) {}

  get size(): number {
    return this.pages.size;
  }

  /** Call before reading a page's first data: its stream, opened with this mark, hears of
   *  every change made since. */
  mark(): string {
    this.subscribe();
    while (this.marks.size >= MAX_MARKS) this.forget(this.marks.keys().next().value!);
    const id = randomBytes(12).toString('base64url');
    const timer = setTimeout(() => {
      this.forget(id);
      this.idle();
    }, MARK_MS);
    timer.unref();
    this.marks.set(id, { changed: false, timer });
    return id;
  }

  open(res: ServerResponse, viewer: Viewer, since?: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const mark = since === undefined ? undefined : this.marks.get(since);
    if (since !== undefined) this.forget(since);
    if (mark === undefined || mark.changed) res.write(RESYNC);
    const page = { res, viewer };
    this.pages.add(page);
    res.on('close', () => this.drop(page));
    this.subscribe();
  }

  closeAll(): void {
    for (const p of this.pages) p.res.end();
    this.pages.clear();
    for (const id of [...this.marks.keys()]) this.forget(id);
    this.stop();
  }

  private subscribe(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.core.subscribe((c) => this.publish(c));
    this.heartbeat = setInterval(() => this.send(': heartbeat\n\n', () => true), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private forget(id: string): void {
    const m = this.marks.get(id);
    if (m) clearTimeout(m.timer);
    this.marks.delete(id);
  }

  private drop(page: Page): void {
    this.pages.delete(page);
    this.idle();
  }

  /** Nobody left to tell: stop listening. */
  private idle(): void {
    if (this.pages.size === 0 && this.marks.size === 0) this.stop();
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private publish(c: Change): void {
    for (const m of this.marks.values()) m.changed = true;
    const ni = c.allocation?.networkInstance ?? c.prefix?.networkInstance ?? c.networkInstance;
    const vlanIndex = c.vlan?.index ?? c.vlanIndex;
    const where = vlanIndex
      ? { vlanIndex: `${vlanIndex.namespace}/${vlanIndex.name}` }
      : { networkInstance: ni ? `${ni.namespace}/${ni.name}` : '' };
    const event = `event: change\ndata: ${JSON.stringify({ type: c.type, ...where })}\n\n`;
    const owner = c.allocation?.owner ?? c.vlan?.owner;
    this.send(event, (v) => v.scope === undefined || owner === undefined || packageOf(owner) === v.scope);
  }

  private send(text: string, to: (v: Viewer) => boolean): void {
    for (const p of this.pages) {
      if (!to(p.viewer)) continue;
      if (p.res.writableLength > MAX_BACKLOG) {
        p.res.destroy();
        continue;
      }
      p.res.write(text);
    }
  }
}
