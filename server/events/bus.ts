import { EventEmitter } from 'node:events';

// Live updates (document progress) fan out through this port: in-process now, Redis pub/sub when
// several server processes share work. Topics are strings like `kb:<id>`; payloads are JSON.

export interface EventBus {
  publish(topic: string, event: string, data: unknown): void;
  /** Returns the unsubscribe function. */
  subscribe(topic: string, listener: (event: string, data: unknown) => void): () => void;
}

export class LocalEventBus implements EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Every open console tab is a listener; the default warning at 10 would be noise.
    this.#emitter.setMaxListeners(0);
  }

  publish(topic: string, event: string, data: unknown): void {
    this.#emitter.emit(topic, event, data);
  }

  subscribe(topic: string, listener: (event: string, data: unknown) => void): () => void {
    this.#emitter.on(topic, listener);
    return () => this.#emitter.off(topic, listener);
  }
}
