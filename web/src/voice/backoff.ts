// When to try the realtime socket again after it dropped. Exponential, capped, with jitter so that
// every console on a network that blipped does not come back in the same millisecond. The whole
// schedule stays well inside the server's resume window (REALTIME_RESUME_SECONDS, 120 s by
// default), so a reconnect that succeeds can still continue the same conversation.

export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  factor: number;
  maxMs: number;
  /** Up to this share of each delay is random, taken off rather than added: the cap stays a cap. */
  jitter: number;
  /** Retries before giving up. */
  attempts: number;
}

export const RECONNECT: BackoffOptions = { baseMs: 500, factor: 2, maxMs: 8_000, jitter: 0.25, attempts: 8 };

/** The delay before retry number `attempt` (0-based), or null once the retries are used up. */
export function backoffDelay(attempt: number, options: BackoffOptions = RECONNECT, random: () => number = Math.random): number | null {
  if (attempt < 0 || attempt >= options.attempts) return null;
  const full = Math.min(options.maxMs, options.baseMs * options.factor ** attempt);
  return Math.round(full * (1 - options.jitter * random()));
}

/** The longest the whole schedule can take, for checking it against the resume window. */
export function backoffTotalMs(options: BackoffOptions = RECONNECT): number {
  let total = 0;
  for (let attempt = 0; attempt < options.attempts; attempt++) total += backoffDelay(attempt, options, () => 0) ?? 0;
  return total;
}
