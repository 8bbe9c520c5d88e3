// Pure helpers for the usage chart: a readable axis top and every day of a range, gaps as zero.

/**
 * The smallest of 2, 4, 6, 8, 10 × 10^k that is ≥ `value` (at least 2): the axis tops out at a
 * round number whose half, the middle gridline, is a whole number too.
 */
export function niceCeiling(value: number): number {
  if (!(value > 2)) return 2;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 4, 6, 8, 10].find((s) => s * magnitude >= value - 1e-9) ?? 10;
  return step * magnitude;
}

const DAY_MS = 86_400_000;

/** `day` (YYYY-MM-DD) moved by `delta` days, in UTC like the usage ledger's days. */
export function addDays(day: string, delta: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + delta * DAY_MS).toISOString().slice(0, 10);
}

/** Every day from `from` to `to` inclusive (capped at `max` days), each with its row or `empty`. */
export function everyDay<T extends { key: string }>(rows: readonly T[], from: string, to: string, empty: (day: string) => T, max = 366): T[] {
  const byDay = new Map(rows.map((r) => [r.key, r]));
  const out: T[] = [];
  for (let day = from; day <= to && out.length < max; day = addDays(day, 1)) out.push(byDay.get(day) ?? empty(day));
  return out;
}
