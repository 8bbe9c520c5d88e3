// Which backups to keep: the newest of each of the last N days, ISO weeks and months (as
// restic's --keep-daily/--keep-weekly/--keep-monthly count them), and always the newest.

import type { Keep } from './settings.ts';

const day = (at: Date): string => at.toISOString().slice(0, 10);
const month = (at: Date): string => at.toISOString().slice(0, 7);
/** The ISO week (Monday first) a UTC time falls in, as year-Www. */
function week(at: Date): string {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - weekday + 3); // the Thursday of that week decides its year
  const firstThursday = new Date(Date.UTC(d.getUTCFullYear(), 0, 4));
  const n = 1 + Math.round(((d.getTime() - firstThursday.getTime()) / 86_400_000 - 3 + ((firstThursday.getUTCDay() + 6) % 7)) / 7);
  return `${d.getUTCFullYear()}-W${String(n).padStart(2, '0')}`;
}

/** The backups to delete, newest first; `backups` in any order. */
export function toPrune<T extends { at: Date }>(backups: readonly T[], keep: Keep): T[] {
  const newestFirst = [...backups].sort((a, b) => b.at.getTime() - a.at.getTime());
  const kept = new Set<T>(newestFirst.slice(0, 1));
  for (const [bucket, count] of [[day, keep.daily], [week, keep.weekly], [month, keep.monthly]] as const) {
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      const key = bucket(backup.at);
      if (seen.has(key)) continue;
      if (seen.size >= count) break;
      seen.add(key);
      kept.add(backup);
    }
  }
  return newestFirst.filter((b) => !kept.has(b));
}
