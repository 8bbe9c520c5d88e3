import { randomUUID } from 'node:crypto';
import { LocalEventBus, type EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { REDIS_PREFIX, type RedisConnection } from './connection.ts';

const CHANNEL = `${REDIS_PREFIX}events`;

interface Envelope {
  /** The publishing process: it has delivered to its own subscribers already. */
  origin: string;
  topic: string;
  event: string;
  data: unknown;
}

/**
 * The event bus over Redis pub/sub: what one process publishes reaches the subscribers of every
 * process (a console's event stream on another process sees the document's progress).
 *
 * Every event goes on one channel that every process listens to from the start, and each process
 * hands it to its own subscribers of the topic. Subscribing then costs no round trip (nothing
 * published after `subscribe` returns can be missed), at the price of each process receiving
 * events no one there watches: progress events are few and small. A process's own events reach
 * its subscribers synchronously, as on the local bus, and are skipped when Redis echoes them.
 */
export class RedisEventBus implements EventBus {
  readonly #local = new LocalEventBus();
  readonly #origin = randomUUID();
  readonly #redis: RedisConnection;
  readonly #log: Logger;

  private constructor(redis: RedisConnection, log: Logger) {
    this.#redis = redis;
    this.#log = log;
  }

  static async open(redis: RedisConnection, log: Logger): Promise<RedisEventBus> {
    const bus = new RedisEventBus(redis, log);
    await redis.listen(CHANNEL, (message) => bus.#receive(message));
    return bus;
  }

  publish(topic: string, event: string, data: unknown): void {
    this.#local.publish(topic, event, data);
    const envelope: Envelope = { origin: this.#origin, topic, event, data };
    // Progress is advisory (a console also reloads what it shows): a lost event is logged, not thrown at the publisher.
    this.#redis.client.publish(CHANNEL, JSON.stringify(envelope)).catch((err: unknown) => this.#log.warn({ err, topic, event }, 'could not publish an event to redis'));
  }

  subscribe(topic: string, listener: (event: string, data: unknown) => void): () => void {
    return this.#local.subscribe(topic, listener);
  }

  #receive(message: string): void {
    const envelope = JSON.parse(message) as Envelope;
    if (envelope.origin === this.#origin) return;
    this.#local.publish(envelope.topic, envelope.event, envelope.data);
  }
}
