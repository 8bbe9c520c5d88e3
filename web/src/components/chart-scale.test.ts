import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addDays, everyDay, niceCeiling } from './chart-scale.ts';

test('the axis top is a round number at or above the largest value, with a whole half', () => {
  assert.deepEqual(
    [0, 0.4, 1, 2, 3, 7, 10, 11, 24, 26, 99, 101, 4800, 12_345].map(niceCeiling),
    [2, 2, 2, 2, 4, 8, 10, 20, 40, 40, 100, 200, 6000, 20_000],
  );
  assert.equal(niceCeiling(Number.NaN), 2);
});

test('days are UTC calendar days across month, year and leap-day boundaries', () => {
  assert.equal(addDays('2024-02-28', 1), '2024-02-29');
  assert.equal(addDays('2024-12-31', 1), '2025-01-01');
  assert.equal(addDays('2025-03-01', -1), '2025-02-28');
  assert.equal(addDays('2025-03-30', 1), '2025-03-31', 'no daylight-saving drift');
});

test('every day of the range appears once, missing days as empty rows', () => {
  const rows = [
    { key: '2025-01-02', n: 4 },
    { key: '2025-01-04', n: 1 },
    { key: '2024-12-01', n: 9 },
  ];
  const days = everyDay(rows, '2025-01-01', '2025-01-04', (key) => ({ key, n: 0 }));
  assert.deepEqual(
    days.map((d) => `${d.key}:${d.n}`),
    ['2025-01-01:0', '2025-01-02:4', '2025-01-03:0', '2025-01-04:1'],
  );
  assert.deepEqual(everyDay(rows, '2025-01-05', '2025-01-01', (key) => ({ key, n: 0 })), [], 'an inverted range is empty');
  assert.equal(everyDay([], '2020-01-01', '2025-01-01', (key) => ({ key, n: 0 }), 30).length, 30, 'capped');
});
