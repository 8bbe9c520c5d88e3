import type { Logger } from '../logger.ts';

interface Step {
  name: string;
  run(): Promise<void> | void;
}

/**
 * Shutdown steps, registered by the composition root as each resource is opened and run in
 * reverse order, so what was opened last (the listener) closes first and the store last.
 */
export class Lifecycle {
  readonly #steps: Step[] = [];
  readonly #log: Logger;
  #stopping: Promise<void> | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  onShutdown(name: string, run: Step['run']): void {
    this.#steps.push({ name, run });
  }

  /** Idempotent: a second signal waits for the first shutdown instead of starting another. */
  shutdown(reason: string): Promise<void> {
    this.#stopping ??= (async () => {
      this.#log.info({ reason }, 'shutting down');
      for (const step of [...this.#steps].reverse()) {
        const started = performance.now();
        try {
          await step.run();
          this.#log.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'stopped');
        } catch (err) {
          this.#log.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
    })();
    return this.#stopping;
  }
}
