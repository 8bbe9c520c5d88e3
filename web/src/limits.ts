import type { LimitKey } from './api.ts';

export type { LimitKey };

/** How the console names each rate limit and quota, in Settings and on the usage page. */
export const LIMIT_LABELS: Record<LimitKey, { label: string; hint: string }> = {
  uploadsPerMinute: { label: 'Files uploaded per minute', hint: 'Counted per file: one upload may carry many.' },
  searchesPerMinute: { label: 'Searches per minute', hint: 'Knowledge-base searches.' },
  asksPerMinute: { label: 'Questions per minute', hint: 'Questions in the chat and through the API, including /v1/chat/completions.' },
  realtimeSessions: { label: 'Open voice sessions', hint: 'Voice sessions open at once.' },
  audioMinutesPerDay: { label: 'Minutes of voice input per day', hint: 'Speech sent to voice sessions, per UTC day; past it the session ends until the next day.' },
  organisationMultiplier: { label: 'Organisation multiplier', hint: 'The whole organisation may use this many times each limit above, across all its users and keys.' },
};

export const LIMIT_KEYS = Object.keys(LIMIT_LABELS) as LimitKey[];

const plainNumber = new Intl.NumberFormat();

/** A limit's value as read: 0 is no limit, the multiplier a factor. */
export function showLimit(key: LimitKey, value: number): string {
  if (key === 'organisationMultiplier') return `× ${value}`;
  return value === 0 ? 'No limit' : plainNumber.format(value);
}
