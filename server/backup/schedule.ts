// BACKUP_SCHEDULE: deliberately not cron. `daily@HH:MM` or `hourly@MM`, in UTC, is what an
// appliance needs, and an operator reads it without a manual.

export type Schedule = { every: 'day'; hour: number; minute: number } | { every: 'hour'; minute: number };

/** Null for `off`; the configuration has already checked the shape. */
export function parseSchedule(text: string): Schedule | null {
  if (text === 'off') return null;
  const daily = /^daily@(\d{2}):(\d{2})$/.exec(text);
  if (daily) return { every: 'day', hour: Number(daily[1]), minute: Number(daily[2]) };
  const hourly = /^hourly@(\d{2})$/.exec(text);
  if (hourly) return { every: 'hour', minute: Number(hourly[1]) };
  throw new Error(`not a backup schedule: ${JSON.stringify(text)}`);
}

/** The first time strictly after `now` the schedule fires. */
export function nextRun(schedule: Schedule, now: Date): Date {
  const next = new Date(now);
  next.setUTCSeconds(0, 0);
  next.setUTCMinutes(schedule.minute);
  if (schedule.every === 'day') next.setUTCHours(schedule.hour);
  while (next.getTime() <= now.getTime()) {
    if (schedule.every === 'day') next.setUTCDate(next.getUTCDate() + 1);
    else next.setUTCHours(next.getUTCHours() + 1);
  }
  return next;
}
