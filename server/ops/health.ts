export type ComponentState = 'ok' | 'degraded' | 'loading' | 'down';

export interface ComponentCheck {
  name: string;
  /** Which implementation serves this concern (embedded, mongodb, …), for operators. */
  kind: string;
  /** A degraded component works with reduced function; `loading` and `down` make the instance unready. */
  check(): Promise<{ state: ComponentState; message?: string }>;
}

export interface ReadinessReport {
  /** `loading` while a component is still starting (and none is down). */
  status: 'ready' | 'loading' | 'not_ready';
  components: Array<{ name: string; kind: string; state: ComponentState; message?: string; ms: number }>;
}

const CHECK_TIMEOUT_MS = 2_000;

export class Readiness {
  readonly #checks: ComponentCheck[] = [];
  #draining = false;

  add(check: ComponentCheck): void {
    this.#checks.push(check);
  }

  /** Once shutdown starts, report not ready so a load balancer stops sending traffic. */
  drain(): void {
    this.#draining = true;
  }

  async report(): Promise<ReadinessReport> {
    const components = await Promise.all(
      this.#checks.map(async (c) => {
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<{ state: ComponentState; message: string }>((resolve) => {
          timer = setTimeout(() => resolve({ state: 'down', message: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
        });
        const result = await Promise.race([c.check().catch((err: Error) => ({ state: 'down' as const, message: err.message })), timeout]);
        clearTimeout(timer);
        return { name: c.name, kind: c.kind, ...result, ms: Math.round(performance.now() - started) };
      }),
    );
    if (this.#draining) components.push({ name: 'server', kind: 'http', state: 'down', message: 'shutting down', ms: 0 });
    const status = components.some((c) => c.state === 'down') ? 'not_ready' : components.some((c) => c.state === 'loading') ? 'loading' : 'ready';
    return { status, components };
  }
}
