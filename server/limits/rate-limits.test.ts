import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Principal } from '../auth/principal.ts';
import { AppError } from '../errors.ts';
import { memoryCounters } from './counters.ts';
import { countersContract } from './contract.ts';
import { rateLimitHeaders, RateLimits } from './rate-limits.ts';
import { applyLimitsPatch, effectiveLimits, limitsPatch, type LimitOverrides, type LimitValues } from './values.ts';

const DEFAULTS: LimitValues = { uploadsPerMinute: 10, searchesPerMinute: 100, asksPerMinute: 100, realtimeSessions: 3, audioMinutesPerDay: 2, organisationMultiplier: 2 };

const user = (id: string, organisationId = 'org1'): Principal => ({
  via: 'session',
  organisationId,
  role: 'editor',
  instanceOwner: false,
  userId: id,
  sessionId: `s-${id}`,
  apiKeyId: null,
  actor: { type: 'user', id, name: id },
});
const key = (id: string, organisationId = 'org1'): Principal => ({ ...user('x', organisationId), via: 'apiKey', userId: null, sessionId: null, apiKeyId: id });

function limits(overrides: Record<string, LimitOverrides> = {}, now = () => new Date()) {
  return new RateLimits({ counters: memoryCounters, defaults: DEFAULTS, overridesOf: async (id) => overrides[id], clock: { now } });
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
    return err;
  }
  assert.fail('was not refused');
}

const reportOf = async (l: RateLimits, p: Principal, name: string) => (await l.report(p)).find((r) => r.name === name)!;

describe('RateLimits', () => {
  it('refuses the use past a caller limit with 429 rate_limited, naming the limit, and counts nothing for it', async () => {
    const l = limits();
    const ada = user('ada');
    for (let i = 0; i < 10; i++) await l.take(ada, 'uploads');
    const err = await refusal(l.take(ada, 'uploads'));
    assert.equal(err.status, 429);
    assert.equal(err.code, 'rate_limited');
    assert.deepEqual(err.details, [{ path: 'limits.uploadsPerMinute', message: 'at most 10 uploaded files per minute for each user' }]);
    const retry = Number(err.headers['Retry-After']);
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
    assert.equal(err.headers['RateLimit-Remaining'], '0');
    const report = await reportOf(l, ada, 'uploads');
    assert.deepEqual({ ...report.caller, resetSeconds: null }, { limit: 10, used: 10, resetSeconds: null });
    assert.deepEqual(report.refusedToday, { caller: 1, organisation: 1 });
  });

  it('counts many items at once and refuses all of them when they do not fit', async () => {
    const l = limits();
    const ada = user('ada');
    const standing = await l.take(ada, 'uploads', 8);
    assert.deepEqual(rateLimitHeaders(standing), { 'RateLimit-Limit': '10', 'RateLimit-Remaining': '2', 'RateLimit-Reset': '60' });
    await refusal(l.take(ada, 'uploads', 3));
    await l.take(ada, 'uploads', 2);
    const tooMany = await refusal(limits().take(ada, 'uploads', 11));
    assert.match(tooMany.message, /this upload has 11 files; at most 10/);
  });

  it('counts an API key apart from users, and the organisation as a whole up to the multiplier', async () => {
    const l = limits({ org1: { searchesPerMinute: 2 } });
    const [ada, bob, robot] = [user('ada'), user('bob'), key('k1')];
    await l.take(ada, 'searches', 2);
    await refusal(l.take(ada, 'searches'));
    await l.take(robot, 'searches');
    await l.take(bob, 'searches');
    // 4 = 2 × 2 for the organisation: bob has one left of his own, but the organisation none.
    const err = await refusal(l.take(bob, 'searches'));
    assert.deepEqual(err.details, [{ path: 'limits.searchesPerMinute', message: 'at most 4 searches per minute for the whole organisation' }]);
    assert.equal((await reportOf(l, bob, 'searches')).caller.used, 1, 'what the organisation refused is given back to the caller');
    // Another organisation is untouched.
    await l.take(user('eve', 'org2'), 'searches', 100);
    const keyed = await refusal(limits({ org1: { asksPerMinute: 1 } }).take(robot, 'asks', 2));
    assert.match(keyed.details?.[0]?.message ?? '', /for each API key$/);
  });

  it('applies an organisation\'s override at once, and 0 counts without refusing', async () => {
    const overrides: Record<string, LimitOverrides> = {};
    const l = limits(overrides);
    const ada = user('ada');
    await l.take(ada, 'asks', 100);
    await refusal(l.take(ada, 'asks'));
    overrides['org1'] = { asksPerMinute: 0 };
    const standing = await l.take(ada, 'asks', 500);
    assert.deepEqual(rateLimitHeaders(standing), {}, 'nothing to announce for what is not limited');
    assert.equal((await reportOf(l, ada, 'asks')).caller.used, 600);
  });

  it('holds open sessions until they are released', async () => {
    const l = limits();
    const ada = user('ada');
    for (let i = 0; i < 3; i++) await l.take(ada, 'realtimeSessions');
    const err = await refusal(l.take(ada, 'realtimeSessions'));
    assert.equal(err.headers['Retry-After'], '10');
    await l.release(ada, 'realtimeSessions');
    await l.take(ada, 'realtimeSessions');
    assert.deepEqual((await reportOf(l, ada, 'realtimeSessions')).caller, { limit: 3, used: 3, resetSeconds: null });
  });

  it('counts voice input per UTC day in milliseconds and reports it in minutes, until midnight', async () => {
    const l = limits({}, () => new Date('2025-03-04T23:00:00Z'));
    const ada = user('ada');
    await l.take(ada, 'audio', 90_000);
    const err = await refusal(l.take(ada, 'audio', 40_000));
    assert.equal(err.headers['Retry-After'], '3600', 'until the UTC day ends');
    assert.deepEqual(err.details, [{ path: 'limits.audioMinutesPerDay', message: 'at most 2 minutes of voice input per day (UTC) for each user' }]);
    const report = await reportOf(l, ada, 'audio');
    assert.deepEqual(report.caller, { limit: 2, used: 1.5, resetSeconds: 3600 });
    assert.deepEqual(report.organisation, { limit: 4, used: 1.5, resetSeconds: 3600 });
  });

  it('refuses a caller with nothing left before any work, without counting', async () => {
    const l = limits({ org1: { uploadsPerMinute: 1 } });
    const ada = user('ada');
    await l.ensureLeft(ada, 'uploads');
    await l.take(ada, 'uploads');
    const err = await refusal(l.ensureLeft(ada, 'uploads'));
    assert.equal(err.code, 'rate_limited');
    assert.equal((await reportOf(l, ada, 'uploads')).caller.used, 1);
  });
});

describe('limit settings', () => {
  it('a patch sets values, null returns one to the default, and the result is what applies', () => {
    const patch = limitsPatch.parse({ uploadsPerMinute: 20, asksPerMinute: null });
    const overrides = applyLimitsPatch({ asksPerMinute: 5, searchesPerMinute: 7 }, patch);
    assert.deepEqual(overrides, { uploadsPerMinute: 20, searchesPerMinute: 7 });
    assert.deepEqual(effectiveLimits(DEFAULTS, overrides), { ...DEFAULTS, uploadsPerMinute: 20, searchesPerMinute: 7 });
    assert.equal(limitsPatch.safeParse({ uploadsPerMinute: -1 }).success, false);
    assert.equal(limitsPatch.safeParse({ organisationMultiplier: 0 }).success, false);
    assert.equal(limitsPatch.safeParse({ perFortnight: 1 }).success, false);
  });
});

countersContract('memory', async () => ({ counters: memoryCounters, close: async () => {} }));
