import { randomUUID } from 'node:crypto';
import { REDIS_PREFIX, type RedisConnection } from './connection.ts';

/**
 * One pub/sub channel shared by every process, for messages each process has already handled
 * itself: what a process sends reaches every other process, and Redis's echo of it back to the
 * sender is dropped.
 */
export class FanOut<T> {
  readonly #origin = randomUUID();
  readonly #channel: string;
  readonly #redis: RedisConnection;

  private constructor(redis: RedisConnection, name: string) {
    this.#redis = redis;
    this.#channel = `${REDIS_PREFIX}${name}`;
  }

  /** Listens on the channel; `deliver` gets what other processes send. */
  static async open<T>(redis: RedisConnection, name: string, deliver: (payload: T) => void): Promise<FanOut<T>> {
    const fanOut = new FanOut<T>(redis, name);
    await redis.listen(fanOut.#channel, (message) => {
      const { origin, payload } = JSON.parse(message) as { origin: string; payload: T };
      if (origin !== fanOut.#origin) deliver(payload);
    });
    return fanOut;
  }

  async send(payload: T): Promise<void> {
    await this.#redis.client.publish(this.#channel, JSON.stringify({ origin: this.#origin, payload }));
  }
}
