// Live updates for open pages: server-sent events from the server's change feed. A page is
// told what changed and where (a network instance or a VLAN index), then fetches what it shows. Nothing is subscribed while no page
// is open, and a page that stops reading is cut off rather than buffered without bound.
import type { ServerResponse } from 'node:http';
import type { Change, IpamCore } from '../core.js';
import { packageOf } from '../../protocol/owner.js';
import type { Viewer } from './views.js';

/** Bytes a slow page may have waiting before it is disconnected. */
const MAX_BACKLOG = 256 * 1024;
const HEARTBEAT_MS = 15_000;

interface Page {
  res: ServerResponse;
  viewer: Viewer;
}

export class LiveFeed {
  private readonly pages = new Set<Page>();
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly core: IpamCore) {}

  get size(): number {
    return this.pages.size;
  }

  open(res: ServerResponse, viewer: Viewer): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    const page = { res, viewer };
    this.pages.add(page);
    res.on('close', () => this.drop(page));
    if (!this.unsubscribe) {
      this.unsubscribe = this.core.subscribe((c) => this.publish(c));
      this.heartbeat = setInterval(() => this.send(': heartbeat\n\n', () => true), HEARTBEAT_MS);
      this.heartbeat.unref();
    }
  }

  closeAll(): void {
    for (const p of this.pages) p.res.end();
    this.pages.clear();
    this.stop();
  }

  private drop(page: Page): void {
    this.pages.delete(page);
    if (this.pages.size === 0) this.stop();
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private publish(c: Change): void {
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
