import { randomUUID } from 'node:crypto';
import { LocalRevocations, type RevocationListener, type Revocations, type Revoked } from '../auth/revocation.ts';
import type { Logger } from '../logger.ts';
import { REDIS_PREFIX, type RedisConnection } from './connection.ts';

const CHANNEL = `${REDIS_PREFIX}revocations`;

interface Envelope {
  origin: string;
  notice: Revoked;
}

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
  readonly #origin = randomUUID();
  readonly #redis: RedisConnection;
  readonly #log: Logger;

  private constructor(redis: RedisConnection, log: Logger) {
    this.#redis = redis;
    this.#log = log;
    this.#local = new LocalRevocations({ onListenerError: (err) => log.error({ err }, 'a revocation listener failed') });
  }

  static async open(redis: RedisConnection, log: Logger): Promise<RedisRevocations> {
    const revocations = new RedisRevocations(redis, log);
    await redis.listen(CHANNEL, (message) => revocations.#receive(message));
    return revocations;
  }

  async publish(notice: Revoked): Promise<void> {
    await this.#local.publish(notice);
    const envelope: Envelope = { origin: this.#origin, notice };
    await this.#redis.client.publish(CHANNEL, JSON.stringify(envelope)).catch((err: unknown) => this.#log.error({ err, scope: notice.scope }, 'could not publish a revocation to redis; other processes end its connections at their next re-check'));
  }

  subscribe(listener: RevocationListener): () => void {
    return this.#local.subscribe(listener);
  }

  #receive(message: string): void {
    const envelope = JSON.parse(message) as Envelope;
    if (envelope.origin === this.#origin) return;
    void this.#local.publish(envelope.notice);
  }
}
