// A server stream to a watcher whose backlog is bounded by what grpc-js actually buffers for
// it. grpc-js keeps each written message in the call's Writable until HTTP/2 flow control lets
// it out, so a client that stops reading (at the HTTP/2 level) makes the server hold every
// event for it, for as long as it keeps the connection. Here:
// - a watcher whose buffer stays over grpc-js's mark (write() returned false) without a
//   'drain' for `watchStallMs` is cut off, and so is one with `maxWatchBacklog` messages
//   buffered (a burst the size of a full Batch still fits);
// - the initial listing goes out at the pace the client reads ('drain'), and live events are
//   held back (within the same bound) until it is done, so they arrive after it, in order;
// - cut off means RESOURCE_EXHAUSTED with the reason. That status can only follow what is
//   already buffered, so a client that still does not read is reset after `watchStallMs`
//   (ENHANCE_YOUR_CALM, which gRPC clients report as RESOURCE_EXHAUSTED) and its buffer freed.
import { constants as http2 } from 'node:http2';
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { Limits } from '../../protocol/validate.js';

export type WatchLimits = Pick<Limits, 'maxWatchBacklog' | 'watchStallMs'>;

export class WatchStream<T> {
  private held: T[] | undefined;
  private done = false;
  private stall: NodeJS.Timeout | undefined;
  private readonly closers: (() => void)[] = [];

  constructor(
    private readonly call: ServerWritableStream<unknown, T>,
    private readonly limits: WatchLimits,
    private readonly resyncHint: string,
  ) {
    const finish = () => this.finish();
    call.on('cancelled', finish);
    call.on('close', finish);
    call.on('error', finish);
    call.on('drain', () => this.unstall());
  }

  /** Runs `f` once, when the stream ends for any reason. */
  onClose(f: () => void): void {
    if (this.done) f();
    else this.closers.push(f);
  }

  /** Messages written and not yet handed to HTTP/2 (plus those held behind a listing). */
  get backlog(): number {
    return this.call.writableLength + (this.held?.length ?? 0);
  }

  send(msg: T): void {
    if (this.done) return;
    if (this.backlog >= this.limits.maxWatchBacklog) {
      this.cut(`fell ${this.limits.maxWatchBacklog} events behind`);
      return;
    }
    if (this.held) this.held.push(msg);
    else this.write(msg);
  }

  /** Writes `list` then `last` as fast as the client reads them; live events wait behind. */
  async sendListing(list: Iterable<T>, last: T): Promise<void> {
    this.held ??= [];
    for (const msg of list) {
      if (this.done) return;
      if (!this.write(msg) && !(await this.drained())) return;
    }
    if (this.done) return;
    this.write(last);
    const held = this.held;
    this.held = undefined;
    for (const msg of held) this.send(msg);
  }

  end(): void {
    this.call.end();
  }

  fail(e: object): void {
    this.call.emit('error', e);
  }

  /** Writes; over grpc-js's mark, starts the stall clock that only a 'drain' stops. */
  private write(msg: T): boolean {
    if (this.call.write(msg)) return true;
    this.stall ??= setTimeout(() => this.cut(`read nothing for ${this.limits.watchStallMs} ms`), this.limits.watchStallMs);
    return false;
  }

  private unstall(): void {
    clearTimeout(this.stall);
    this.stall = undefined;
  }

  /** True on 'drain', false when the stream ends first (a stall cuts it off). */
  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const onDrain = () => resolve(!this.done);
      this.call.once('drain', onDrain);
      this.onClose(() => {
        this.call.off('drain', onDrain);
        resolve(false);
      });
    });
  }

  private cut(why: string): void {
    if (this.done) return;
    this.finish();
    this.call.emit('error', { code: status.RESOURCE_EXHAUSTED, details: `watcher ${why} (it stopped reading); ${this.resyncHint}` });
    const reset = setTimeout(() => this.reset(), this.limits.watchStallMs);
    this.call.once('close', () => clearTimeout(reset));
  }

  /** Ends the HTTP/2 stream without waiting for the client to read, freeing its buffer. */
  private reset(): void {
    // grpc-js exposes no reset of a server stream; its innermost call object (under any
    // interceptors) holds the HTTP/2 stream.
    type Inner = { stream?: { close?: (code: number) => void; closed?: boolean }; nextCall?: Inner };
    let inner = (this.call as unknown as { call?: Inner }).call;
    while (inner && !inner.stream && inner.nextCall) inner = inner.nextCall;
    const stream = inner?.stream;
    if (stream && typeof stream.close === 'function' && !stream.closed) stream.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
    this.call.destroy();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.held = undefined;
    this.unstall();
    for (const f of this.closers.splice(0)) f();
  }
}
