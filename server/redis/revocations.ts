import { LocalRevocations, type RevocationListener, type Revocations, type Revoked } from '../auth/revocation.ts';
import type { Logger } from '../logger.ts';
import type { RedisConnection } from './connection.ts';
import { FanOut } from './fan-out.ts';

/**
 * Revocation notices over Redis pub/sub: revoking on one process ends the sockets and event
 * streams the credential has open on every process. This process's listeners hear a notice before
 * `publish` resolves, as with the local implementation; other processes hear it as soon as Redis
 * delivers it. A notice Redis loses is still caught by each connection's periodic credential
 * re-check (RECHECK_MS), so a failed PUBLISH is logged rather than failing the revocation, which
 * the store already holds.
 */
export class RedisRevocations implements Revocations {
  readonly #local: LocalRevocations;
  readonly #fanOut: FanOut<Revoked>;
  readonly #log: Logger;

  private constructor(local: LocalRevocations, fanOut: FanOut<Revoked>, log: Logger) {
    this.#local = local;
    this.#fanOut = fanOut;
    this.#log = log;
  }

  static async open(redis: RedisConnection, log: Logger): Promise<RedisRevocations> {
    const local = new LocalRevocations({ onListenerError: (err) => log.error({ err }, 'a revocation listener failed') });
    const fanOut = await FanOut.open<Revoked>(redis, 'revocations', (notice) => void local.publish(notice));
    return new RedisRevocations(local, fanOut, log);
  }

  async publish(notice: Revoked): Promise<void> {
    await this.#local.publish(notice);
    await this.#fanOut.send(notice).catch((err: unknown) => this.#log.error({ err, scope: notice.scope }, 'could not publish a revocation to redis; other processes end its connections at their next re-check'));
  }

  subscribe(listener: RevocationListener): () => void {
    return this.#local.subscribe(listener);
  }
}
