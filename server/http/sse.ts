import { PassThrough } from 'node:stream';
import { RECHECK_MS, revokes, type CredentialCheck, type Revocations } from '../auth/revocation.ts';
import type { Principal } from '../auth/principal.ts';
import type { EventBus } from '../events/bus.ts';
import type { AppContext } from './context.ts';

const PING_MS = 15_000;

interface EventStreamsDeps {
  bus: EventBus;
  /** A stream ends when the credential it was opened with is revoked… */
  revocations: Pick<Revocations, 'subscribe'>;
  /** …or, should a notice go missing, when a periodic check finds the credential gone. */
  credentialHolds: CredentialCheck;
  recheckMs?: number | undefined;
}

/**
 * Server-sent event streams. Each stream forwards one bus topic and pings so proxies keep it
 * open; all are ended at shutdown, which otherwise would wait on them until its timeout, and each
 * ends when its credential is revoked.
 */
export class EventStreams {
  /** Each open stream's close, with the principal it was opened by. */
  readonly #open = new Map<(revoked?: string) => void, Principal | undefined>();
  readonly #deps: EventStreamsDeps;
  readonly #recheck: NodeJS.Timeout;

  constructor(deps: EventStreamsDeps) {
    this.#deps = deps;
    deps.revocations.subscribe((notice) => {
      for (const [close, principal] of this.#open) if (principal && revokes(notice, principal)) close(notice.reason);
    });
    this.#recheck = setInterval(() => void this.#recheckAll(), deps.recheckMs ?? RECHECK_MS);
    this.#recheck.unref();
  }

  async #recheckAll(): Promise<void> {
    for (const [close, principal] of this.#open) {
      // A store that fails to answer says nothing about the credential: the next round asks again.
      if (principal && !(await this.#deps.credentialHolds(principal).catch(() => true))) close('credential no longer valid');
    }
  }

  open(ctx: AppContext, topic: string): PassThrough {
    const stream = new PassThrough();
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    const write = (event: string, data: unknown) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // A client that does not read is dropped rather than buffered without bound.
    const unsubscribe = this.#deps.bus.subscribe(topic, (event, data) => {
      if (!write(event, data) && stream.writableLength > 1024 * 1024) close();
    });
    const ping = setInterval(() => stream.write(': ping\n\n'), PING_MS);
    const close = (revoked?: string) => {
      if (!this.#open.delete(close)) return;
      clearInterval(ping);
      unsubscribe();
      // Said before the end, so a client knows not to reconnect with the same credential.
      if (revoked) write('revoked', { reason: `credential revoked: ${revoked}` });
      stream.end();
    };
    this.#open.set(close, ctx.state.principal);
    ctx.res.on('close', () => close());
    stream.write('retry: 3000\n: connected\n\n');
    return stream;
  }

  closeAll(): void {
    clearInterval(this.#recheck);
    for (const close of this.#open.keys()) close();
  }
}
