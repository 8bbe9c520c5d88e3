import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { cryptoRandom, type Clock } from '../clock.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import { SessionService, type SessionDoc } from './sessions.ts';

const HOUR = 3_600_000;

describe('SessionService', () => {
  let now: number;
  let sessions: SessionService;
  let raw: ReturnType<ReturnType<typeof openEmbeddedStore>['collection']>;
  const clock: Clock = { now: () => new Date(now) };

  beforeEach(() => {
    now = Date.parse('2026-01-01T00:00:00Z');
    const store = openEmbeddedStore({ path: ':memory:' });
    raw = store.collection<SessionDoc>('sessions');
    sessions = new SessionService({ sessions: store.collection<SessionDoc>('sessions'), clock, random: cryptoRandom, ttlMs: 10 * HOUR });
  });

  it('stores only a hash of the secret', async () => {
    const { token, session } = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: '10.0.0.1', userAgent: 'test' });
    const secret = token.split('.')[1]!;
    const stored = JSON.stringify(await raw.findOne({ _id: session._id }));
    assert.ok(!stored.includes(secret));
    assert.equal((await sessions.validate(token))?.session.userId, 'u1');
    assert.equal(await sessions.validate(`${session._id}.${'a'.repeat(32)}`), null, 'right id, wrong secret');
  });

  it('slides the expiry when used in the second half of its life, and lapses when idle', async () => {
    const { token } = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: null, userAgent: null });
    now += 4 * HOUR;
    assert.equal((await sessions.validate(token))?.refreshed, false);
    now += 2 * HOUR;
    const renewed = await sessions.validate(token);
    assert.equal(renewed?.refreshed, true);
    assert.equal(renewed?.session.expiresAt, new Date(now + 10 * HOUR).toISOString());
    now += 9 * HOUR;
    assert.ok(await sessions.validate(token), 'still alive thanks to the renewal');
    now += 10 * HOUR + 1;
    assert.equal(await sessions.validate(token), null);
    assert.equal(await raw.countDocuments({}), 0, 'an expired session is deleted when seen');
  });

  it('revokes one or all sessions of a user, and purges expired ones', async () => {
    const a = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: null, userAgent: null });
    const b = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: null, userAgent: null });
    const c = await sessions.create({ _id: 'u2', organisationId: 'o1' }, { ip: null, userAgent: null });
    await sessions.revoke(a.session._id);
    assert.equal(await sessions.validate(a.token), null);
    assert.equal(await sessions.revokeAllForUser('u1'), 1);
    assert.equal(await sessions.validate(b.token), null);
    assert.ok(await sessions.validate(c.token));
    now += 11 * HOUR;
    assert.equal(await sessions.purgeExpired(), 1);
  });
});
