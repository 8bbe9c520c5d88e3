import type { LlmPolicy } from '../engines/policy.ts';
import type { EngineGateway } from './gateway.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { CircuitBreaker, CircuitOpenError, type BreakerOptions, type BreakerStatus } from './breaker.ts';
import { LlmError, type GenerateRequest, type GenerateResult, type LlmEngine } from './llm.ts';

// Picks the engine for each generation under the organisation's policy. `local-only` is the
// default and the privacy promise: under it a cloud engine is never even considered, so no byte
// of a knowledge base can leave the box whatever fails locally. Fallback happens only while
// nothing has been streamed, and only on failures another engine might not share (unavailable,
// timeout); a bad request or a half-streamed answer goes back to the caller as it is.

const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, coolDownMs: 30_000 };

export interface LlmRouterOptions {
  local: LlmEngine | null;
  cloud: LlmEngine[];
  /** Defaults: open after 5 consecutive failures, one trial after 30 s. */
  breaker?: BreakerOptions | undefined;
  log: Logger;
  clock: Clock;
}

export interface EngineStatus {
  name: string;
  kind: 'local' | 'cloud';
  model: string;
  breaker: BreakerStatus;
  /** Generations started on this engine. */
  requests: number;
  /** Of those, how many failed (caller aborts excluded). */
  failures: number;
  lastError: { kind: string; message: string; at: string } | null;
}

interface Slot {
  engine: LlmEngine;
  breaker: CircuitBreaker;
  requests: number;
  failures: number;
  lastError: EngineStatus['lastError'];
}

export class LlmRouter implements EngineGateway {
  readonly #local: Slot | null;
  readonly #cloud: Slot[];
  readonly #log: Logger;
  readonly #clock: Clock;

  constructor(options: LlmRouterOptions) {
    const slot = (engine: LlmEngine): Slot => ({
      engine,
      breaker: new CircuitBreaker(engine.name, { ...(options.breaker ?? DEFAULT_BREAKER), clock: options.clock }),
      requests: 0,
      failures: 0,
      lastError: null,
    });
    this.#local = options.local ? slot(options.local) : null;
    this.#cloud = options.cloud.map(slot);
    this.#log = options.log;
    this.#clock = options.clock;
  }

  candidates(policy: LlmPolicy): LlmEngine[] {
    return this.#ordered(policy)
      .filter((slot) => slot.breaker.admits)
      .map((slot) => slot.engine);
  }

  async generate(policy: LlmPolicy, request: GenerateRequest): Promise<{ result: GenerateResult; engine: LlmEngine; reason: string }> {
    const ordered = this.#ordered(policy);
    if (ordered.length === 0) throw new LlmError('unavailable', 'none', `no LLM allowed by policy ${policy} is installed`);
    const notes = this.#absences(policy);
    const failures: LlmError[] = [];
    let streamed = false;
    const tracked: GenerateRequest = {
      ...request,
      onDelta: (text) => {
        streamed = true;
        request.onDelta?.(text);
      },
    };
    for (const slot of ordered) {
      request.signal?.throwIfAborted();
      const { engine } = slot;
      try {
        const result = await slot.breaker.execute(() => {
          slot.requests += 1;
          return engine.generate(tracked);
        }, request.signal);
        const reason = `policy ${policy}` + (notes.length > 0 ? `: ${notes.join('; ')}, ${failures.length > 0 ? 'fell back to' : 'using'} ${label(engine)}` : '');
        if (failures.length > 0) this.#log.warn({ policy, engine: engine.name, reason }, 'LLM fallback');
        return { result, engine, reason };
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        const refused = error instanceof CircuitOpenError;
        if (!refused) this.#recordFailure(slot, error);
        if (!(error instanceof LlmError) || (error.kind !== 'unavailable' && error.kind !== 'timeout')) throw error;
        if (streamed) {
          // Part of an answer already reached the caller; another engine would start a second one.
          throw new LlmError('interrupted', engine.name, `${error.message} after part of the answer was streamed`, { cause: error });
        }
        failures.push(error);
        notes.push(`${label(engine)} ${refused ? 'skipped' : error.kind === 'timeout' ? 'timed out' : 'unavailable'} (${error.message})`);
        this.#log.warn({ policy, engine: engine.name, kind: error.kind, err: error.message }, 'LLM engine failed; trying the next one the policy allows');
      }
    }
    const kind = failures.every((failure) => failure.kind === 'timeout') ? 'timeout' : 'unavailable';
    throw new LlmError(kind, 'none', `policy ${policy}: every allowed engine failed: ${notes.join('; ')}`, { cause: new AggregateError(failures) });
  }

  status(): EngineStatus[] {
    return [...(this.#local ? [this.#local] : []), ...this.#cloud].map((slot) => ({
      name: slot.engine.name,
      kind: slot.engine.kind,
      model: slot.engine.model.id,
      breaker: slot.breaker.status(),
      requests: slot.requests,
      failures: slot.failures,
      lastError: slot.lastError,
    }));
  }

  /** Installed engines the policy allows, in its order, whatever their breakers say. */
  #ordered(policy: LlmPolicy): Slot[] {
    const local = this.#local ? [this.#local] : [];
    if (policy === 'local-then-cloud') return [...local, ...this.#cloud];
    if (policy === 'cloud-first') return [...this.#cloud, ...local];
    return local;
  }

  /** What the policy would have liked to use but is not installed, for the admin-facing reason. */
  #absences(policy: LlmPolicy): string[] {
    const notes: string[] = [];
    if (policy !== 'local-only' && this.#cloud.length === 0) notes.push('no cloud engine configured');
    if (policy !== 'cloud-first' && !this.#local) notes.push('no local engine installed');
    return notes;
  }

  #recordFailure(slot: Slot, error: unknown): void {
    slot.failures += 1;
    const kind = error instanceof LlmError ? error.kind : 'error';
    slot.lastError = { kind, message: error instanceof Error ? error.message : String(error), at: this.#clock.now().toISOString() };
  }
}

function label(engine: LlmEngine): string {
  return engine.kind === 'local' ? 'local engine' : engine.name;
}
