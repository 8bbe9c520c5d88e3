import { PassThrough } from 'node:stream';
import type { EventBus } from '../events/bus.ts';
import type { AppContext } from './context.ts';

const PING_MS = 15_000;

/**
 * Server-sent event streams. Each stream forwards one bus topic and pings so proxies keep it
 * open; all are ended at shutdown, which otherwise would wait on them until its timeout.
 */
export class EventStreams {
  readonly #open = new Set<() => void>();
  readonly #bus: EventBus;

  constructor(bus: EventBus) {
    this.#bus = bus;
  }

  open(ctx: AppContext, topic: string): PassThrough {
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    const write = (event: string, data: unknown) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // A client that does not read is dropped rather than buffered without bound.
    const unsubscribe = this.#bus.subscribe(topic, (event, data) => {
      if (!write(event, data) && stream.writableLength > 1024 * 1024) close();
    });
    const ping = setInterval(() => stream.write(': ping\n\n'), PING_MS);
    const close = () => {
      clearInterval(ping);
      unsubscribe();
      this.#open.delete(close);
      stream.end();
    };
    this.#open.add(close);
    ctx.res.on('close', close);
    stream.write('retry: 3000\n: connected\n\n');
    return stream;
  }

  closeAll(): void {
    for (const close of this.#open) close();
  }
}
