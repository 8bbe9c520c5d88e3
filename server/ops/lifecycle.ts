import type { Logger } from '../logger.ts';

interface Step {
  name: string;
  run(): Promise<void> | void;
  /** Runs before every other step: the listener, opened before the parts it serves, still stops taking requests first. */
  first: boolean;
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

  onShutdown(name: string, run: Step['run'], options: { first?: boolean } = {}): void {
    this.#steps.push({ name, run, first: options.first ?? false });
  }

  /** Idempotent: a second signal waits for the first shutdown instead of starting another. */
  shutdown(reason: string): Promise<void> {
    this.#stopping ??= (async () => {
      this.#log.info({ reason }, 'shutting down');
      const reversed = [...this.#steps].reverse();
      for (const step of [...reversed.filter((s) => s.first), ...reversed.filter((s) => !s.first)]) {
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
