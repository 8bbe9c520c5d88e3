// Reading an OpenAI-compatible endpoint's failures, and waiting before trying it again. Shared by
// the cloud LLM (`/chat/completions`) and cloud speech (`/audio/*`), which talk to the same kind of
// server and must read its errors and back off from it the same way.

import { setTimeout as sleepFor } from 'node:timers/promises';
import { systemClock, type Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';

const MAX_ERROR_DETAIL = 300;
const DEFAULT_AZURE_API_VERSION = '2024-10-21';

/** What an endpoint client is given rather than reaching for globals, so tests can pin it. */
export interface EndpointDeps {
  fetch?: typeof fetch;
  /** [0, 1); drives the backoff jitter. */
  random?: () => number;
  clock?: Clock;
  /** Waits between attempts; rejects with the signal's reason when it aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: Logger;
}

/** The injected dependencies, with the real ones where none were given. */
export function endpointDeps(deps: EndpointDeps): Required<Omit<EndpointDeps, 'log'>> {
  return {
    fetch: deps.fetch ?? globalThis.fetch,
    clock: deps.clock ?? systemClock,
    random: deps.random ?? Math.random,
    sleep: deps.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal })),
  };
}

/** Where a request goes and how it authenticates: a Bearer key, or Azure OpenAI's `api-key` and `api-version`. */
export function endpointAddress(
  baseUrl: string,
  path: string,
  auth: { flavour?: 'openai' | 'azure' | undefined; apiKey?: string | undefined; apiVersion?: string | undefined },
): { url: string; origin: string; headers: Record<string, string> } {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}${path}`);
  const headers: Record<string, string> = {};
  if (auth.flavour === 'azure') {
    url.searchParams.set('api-version', auth.apiVersion ?? DEFAULT_AZURE_API_VERSION);
    if (auth.apiKey) headers['api-key'] = auth.apiKey;
  } else if (auth.apiKey) {
    headers.authorization = `Bearer ${auth.apiKey}`;
  }
  return { url: url.href, origin: url.origin, headers };
}

/** The human part of an error body: OpenAI's `{error: {message, code}}`, `{detail}`, a bare string, or the raw text. */
export function errorDetail(body: unknown): string {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim().slice(0, MAX_ERROR_DETAIL);
    }
  }
  const record = (value ?? {}) as { error?: unknown; message?: unknown; detail?: unknown };
  const inner = typeof record.error === 'object' && record.error !== null ? (record.error as { message?: unknown; code?: unknown }) : record;
  const message =
    typeof inner.message === 'string'
      ? inner.message
      : typeof record.error === 'string'
        ? record.error
        : typeof record.detail === 'string'
          ? record.detail
          : JSON.stringify(value);
  const code = 'code' in inner && typeof inner.code === 'string' ? ` (${inner.code})` : '';
  return `${message}${code}`.slice(0, MAX_ERROR_DETAIL);
}

/** OpenAI's `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers, now: number): number | null {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return null;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** fetch wraps socket errors as "fetch failed" / "terminated"; the useful part is in the cause chain. */
export function describeFailure(error: unknown): string {
  const parts: string[] = [];
  for (let current = error; current instanceof Error && parts.length < 4; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
  }
  return parts.length > 0 ? `connection failed: ${parts.join(': ')}` : `connection failed: ${String(error)}`;
}

/**
 * How long to wait before attempt `attempt + 1`: what the server asked for (capped), else full
 * jitter — anywhere from 0 to the exponential cap, so that many clients do not retry in step.
 */
export function backoffDelay(attempt: number, retryAfter: number | null, limits: { baseDelayMs: number; maxDelayMs: number }, random: () => number): number {
  if (retryAfter !== null) return Math.min(retryAfter, limits.maxDelayMs);
  return random() * Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** (attempt - 1));
}

/** A failure as the retry loop sees it: what to throw, and whether asking again at once may work. */
export interface Classified {
  failure: Error;
  retryable: boolean;
  retryAfterMs: number | null;
}

export interface RetryingCall<T> {
  /** The caller's signal: its reason is what an aborted call rejects with. */
  signal: AbortSignal | undefined;
  started: number;
  totalMs: number;
  /** The reason the call is aborted with when the total deadline passes. */
  timeoutError: () => Error;
  /** Calls in flight, which the engine's close() aborts. */
  inflight: Set<AbortController>;
  attempts: number;
  backoff: { baseDelayMs: number; maxDelayMs: number };
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** One attempt; `signal` ends with the caller's, the deadline or close(). */
  attempt: (signal: AbortSignal) => Promise<T>;
  classify: (error: unknown) => Classified;
  onRetry: (attempt: number, delayMs: number, failure: Error) => void;
}

/**
 * One call to an endpoint, attempts and all: the caller's abort, a total deadline, retries with
 * backoff for failures `classify` calls retryable — never one that could not finish before the
 * deadline — and the cleanup.
 */
export async function callWithRetries<T>(o: RetryingCall<T>): Promise<T> {
  const call = new AbortController();
  const onAbort = (): void => call.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const total = setTimeout(() => call.abort(o.timeoutError()), o.totalMs);
  o.inflight.add(call);
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await o.attempt(call.signal);
      } catch (error) {
        if (o.signal?.aborted) throw o.signal.reason;
        const { failure, retryable, retryAfterMs } = o.classify(error);
        if (!retryable || attempt >= o.attempts) throw failure;
        const delay = backoffDelay(attempt, retryAfterMs, o.backoff, o.random);
        // A retry that cannot finish before the total deadline only delays the caller's fallback.
        if (o.now() + delay - o.started >= o.totalMs) throw failure;
        o.onRetry(attempt, delay, failure);
        try {
          await o.sleep(delay, call.signal);
        } catch {
          if (o.signal?.aborted) throw o.signal.reason;
          throw call.signal.reason;
        }
      }
    }
  } finally {
    clearTimeout(total);
    o.signal?.removeEventListener('abort', onAbort);
    o.inflight.delete(call);
  }
}
