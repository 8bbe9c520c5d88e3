import type { Clock } from '../clock.ts';
import { LlmError } from './llm.ts';

// One circuit breaker per engine. A dead endpoint then costs one fast skip instead of a connect
// timeout on every question, and a struggling one gets a rest before a single trial request.
//
// Own implementation rather than cockatiel's: cockatiel reads Date.now() directly (tests would
// need fake timers) and does not expose when the circuit opened or why, which the status page
// shows. The state machine is small enough to read in one screen.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive unavailable/timeout failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial request is let through. */
  coolDownMs: number;
}

export interface BreakerStatus {
  state: BreakerState;
  /** Consecutive failures counted towards (or since) opening. */
  failures: number;
  /** ISO time the circuit last opened; null while it has never opened since the last success. */
  openedAt: string | null;
  lastError: string | null;
}

/**
 * What an outcome means for the endpoint's health. 'invalid' proves the endpoint answered, so it
 * counts as healthy; an abort by the caller or a failure after streaming says nothing either way.
 */
export function breakerVerdict(error: unknown, signal?: AbortSignal): 'healthy' | 'failure' | 'neutral' {
  if (signal?.aborted || !(error instanceof LlmError) || error.overloaded) return 'neutral';
  if (error.kind === 'unavailable' || error.kind === 'timeout') return 'failure';
  return error.kind === 'invalid' ? 'healthy' : 'neutral';
}

/** Thrown instead of calling the engine while the circuit refuses requests. */
export class CircuitOpenError extends LlmError {
  constructor(engine: string, message: string) {
    super('unavailable', engine, message);
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  readonly #engine: string;
  readonly #options: BreakerOptions;
  readonly #clock: Clock;
  #failures = 0;
  #openedAt: Date | null = null;
  #lastError: string | null = null;
  #trialInFlight = false;

  constructor(engine: string, options: BreakerOptions & { clock: Clock }) {
    if (!(options.failureThreshold >= 1)) throw new RangeError('failureThreshold must be at least 1');
    this.#engine = engine;
    this.#options = { failureThreshold: options.failureThreshold, coolDownMs: options.coolDownMs };
    this.#clock = options.clock;
  }

  get state(): BreakerState {
    if (this.#openedAt === null) return 'closed';
    return this.#clock.now().getTime() - this.#openedAt.getTime() >= this.#options.coolDownMs ? 'half-open' : 'open';
  }

  /** Whether a request would be let through now (without claiming the half-open trial). */
  get admits(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.#trialInFlight);
  }

  status(): BreakerStatus {
    return { state: this.state, failures: this.#failures, openedAt: this.#openedAt?.toISOString() ?? null, lastError: this.#lastError };
  }

  /**
   * Runs `operation` if the circuit admits it, and records the outcome. Rejects with a
   * CircuitOpenError without calling it when the circuit is open or its trial is taken.
   */
  async execute<T>(operation: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const state = this.state;
    if (!this.admits) throw new CircuitOpenError(this.#engine, this.#describeRefusal(state));
    const trial = state === 'half-open';
    if (trial) this.#trialInFlight = true;
    try {
      const result = await operation();
      this.#close();
      return result;
    } catch (error) {
      const verdict = breakerVerdict(error, signal);
      if (verdict === 'healthy') this.#close();
      else if (verdict === 'failure') this.#fail(error instanceof Error ? error.message : String(error), trial);
      throw error;
    } finally {
      if (trial) this.#trialInFlight = false;
    }
  }

  #describeRefusal(state: BreakerState): string {
    const since = this.#openedAt?.toISOString() ?? '?';
    const last = this.#lastError === null ? '' : `; last error: ${this.#lastError}`;
    return state === 'open'
      ? `circuit open since ${since} after ${this.#failures} consecutive failures${last}`
      : `circuit half-open since ${since}: a trial request is in flight${last}`;
  }

  #close(): void {
    this.#failures = 0;
    this.#openedAt = null;
  }

  #fail(message: string, trial: boolean): void {
    this.#failures += 1;
    this.#lastError = message;
    // A failed trial re-opens at once; a closed circuit opens when the streak reaches the threshold.
    if (trial || (this.#openedAt === null && this.#failures >= this.#options.failureThreshold)) this.#openedAt = this.#clock.now();
  }
}
