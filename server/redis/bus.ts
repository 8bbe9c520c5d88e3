import { LocalEventBus, type EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import type { RedisConnection } from './connection.ts';
import { FanOut } from './fan-out.ts';

interface BusEvent {
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
  readonly #local: LocalEventBus;
  readonly #fanOut: FanOut<BusEvent>;
  readonly #log: Logger;

  private constructor(local: LocalEventBus, fanOut: FanOut<BusEvent>, log: Logger) {
    this.#local = local;
    this.#fanOut = fanOut;
    this.#log = log;
  }

  static async open(redis: RedisConnection, log: Logger): Promise<RedisEventBus> {
    const local = new LocalEventBus();
    const fanOut = await FanOut.open<BusEvent>(redis, 'events', ({ topic, event, data }) => local.publish(topic, event, data));
    return new RedisEventBus(local, fanOut, log);
  }

  publish(topic: string, event: string, data: unknown): void {
    this.#local.publish(topic, event, data);
    // Progress is advisory (a console also reloads what it shows): a lost event is logged, not thrown at the publisher.
    this.#fanOut.send({ topic, event, data }).catch((err: unknown) => this.#log.warn({ err, topic, event }, 'could not publish an event to redis'));
  }

  subscribe(topic: string, listener: (event: string, data: unknown) => void): () => void {
    return this.#local.subscribe(topic, listener);
  }
}
