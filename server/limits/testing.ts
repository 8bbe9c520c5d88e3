/**
 * Configuration that turns every rate limit and quota off (0: counted, never refused), for
 * benchmarks that measure what the server can do rather than what it allows one user.
 */
export const NO_RATE_LIMITS = {
  LIMIT_UPLOADS_PER_MINUTE: '0',
  LIMIT_SEARCHES_PER_MINUTE: '0',
  LIMIT_ASKS_PER_MINUTE: '0',
  LIMIT_REALTIME_SESSIONS: '0',
  LIMIT_AUDIO_MINUTES_PER_DAY: '0',
} as const satisfies Record<string, string>;
