import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toPrune } from './retention.ts';
import { nextRun, parseSchedule } from './schedule.ts';

describe('backup schedule', () => {
  it('fires daily at the hour, or hourly at the minute, always after now (UTC)', () => {
    const daily = parseSchedule('daily@03:00')!;
    assert.equal(nextRun(daily, new Date('2026-12-06T02:59:59Z')).toISOString(), '2026-12-06T03:00:00.000Z');
    assert.equal(nextRun(daily, new Date('2026-12-06T03:00:00Z')).toISOString(), '2026-12-07T03:00:00.000Z');
    assert.equal(nextRun(daily, new Date('2026-12-31T23:00:00Z')).toISOString(), '2027-01-01T03:00:00.000Z');
    const hourly = parseSchedule('hourly@15')!;
    assert.equal(nextRun(hourly, new Date('2026-12-06T10:20:00Z')).toISOString(), '2026-12-06T11:15:00.000Z');
    assert.equal(parseSchedule('off'), null);
  });
});

describe('backup retention', () => {
  const at = (iso: string) => ({ at: new Date(iso), name: iso });
  it('keeps the newest of each of the last days, ISO weeks and months, and always the newest', () => {
    // Two a day for 70 days back from Sunday 2026-12-06.
    const all = [];
    for (let d = 0; d < 70; d++) {
      const day = new Date(Date.UTC(2026, 11, 6 - d));
      all.push(at(new Date(day.getTime() + 3 * 3_600_000).toISOString()), at(new Date(day.getTime() + 15 * 3_600_000).toISOString()));
    }
    const pruned = new Set(toPrune(all, { daily: 7, weekly: 4, monthly: 6 }).map((b) => b.name));
    const kept = all.filter((b) => !pruned.has(b.name)).map((b) => b.name.slice(0, 13));
    assert.deepEqual(kept, [
      // the last 7 days' newest
      '2026-12-06T15', '2026-12-05T15', '2026-12-04T15', '2026-12-03T15', '2026-12-02T15', '2026-12-01T15', '2026-11-30T15',
      // the newest of the 3 ISO weeks before this one (Sundays) — this week's is already kept
      '2026-11-29T15', '2026-11-22T15', '2026-11-15T15',
      // the newest of October and September (December's and November's are kept already)
      '2026-10-31T15', '2026-09-30T15',
    ]);
    assert.deepEqual(toPrune([at('2026-12-06T03:00:00Z')], { daily: 1, weekly: 0, monthly: 0 }), [], 'the newest is never deleted');
  });
});
