import type { Logger } from '../logger.ts';
import type { ComponentCheck, ComponentState, Readiness } from '../ops/health.ts';
import type { Lifecycle } from '../ops/lifecycle.ts';

/** What opening a port gives the registry: the port itself, which implementation it is, and how to watch and close it. */
export interface Opened<T> {
  port: T;
  /** The implementation (embedded, mongodb, redis, memory, …), for /readyz and the log. */
  kind: string;
  /** Readiness; absent for in-process implementations, which are up once they exist. */
  check?: ComponentCheck['check'];
  close?: () => Promise<void> | void;
}

export interface OpenedPort {
  name: string;
  kind: string;
}

/** A port that could not be opened: which one, and the implementation configuration asked for. */
export class PortOpenError extends Error {
  readonly port: string;
  constructor(port: string, cause: unknown) {
    super(`could not open the ${port} port: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'PortOpenError';
    this.port = port;
  }
}

const up = async (): Promise<{ state: ComponentState }> => ({ state: 'ok' });

/**
 * The one place ports are opened. Each is registered with its readiness check (so /readyz lists
 * every port and its implementation) and its shutdown step (run in reverse, so a port closes
 * before the ports it was opened from), and the log says which implementation each port got.
 */
export class PortRegistry {
  readonly #lifecycle: Lifecycle;
  readonly #readiness: Readiness;
  readonly #log: Logger;
  readonly #opened: OpenedPort[] = [];

  constructor(parts: { lifecycle: Lifecycle; readiness: Readiness; log: Logger }) {
    this.#lifecycle = parts.lifecycle;
    this.#readiness = parts.readiness;
    this.#log = parts.log;
  }

  async open<T>(name: string, open: () => Opened<T> | Promise<Opened<T>>): Promise<T> {
    const started = performance.now();
    let opened: Opened<T>;
    try {
      opened = await open();
    } catch (err) {
      throw new PortOpenError(name, err);
    }
    if (opened.close) this.#lifecycle.onShutdown(name, opened.close);
    this.#readiness.add({ name, kind: opened.kind, check: opened.check ?? up });
    this.#opened.push({ name, kind: opened.kind });
    this.#log.info({ port: name, kind: opened.kind, ms: Math.round(performance.now() - started) }, `${name} port opened (${opened.kind})`);
    return opened.port;
  }

  /** Every port opened so far, in order. */
  opened(): readonly OpenedPort[] {
    return this.#opened;
  }
}
