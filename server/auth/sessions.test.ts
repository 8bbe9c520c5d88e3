import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { cryptoRandom, type Clock } from '../clock.ts';
import { openEmbeddedStore } from '../store/embedded.ts';
import { LocalRevocations, type Revoked } from './revocation.ts';
import { SessionService, type SessionDoc } from './sessions.ts';

const HOUR = 3_600_000;

describe('SessionService', () => {
  let now: number;
  let sessions: SessionService;
  let raw: ReturnType<ReturnType<typeof openEmbeddedStore>['collection']>;
  let notices: Revoked[];
  const clock: Clock = { now: () => new Date(now) };

  beforeEach(() => {
    now = Date.parse('2026-01-01T00:00:00Z');
    const store = openEmbeddedStore({ path: ':memory:' });
    raw = store.collection<SessionDoc>('sessions');
    const revocations = new LocalRevocations({ onListenerError: (err) => assert.fail(err as Error) });
    notices = [];
    revocations.subscribe((notice) => notices.push(notice));
    sessions = new SessionService({ sessions: store.collection<SessionDoc>('sessions'), clock, random: cryptoRandom, revocations, ttlMs: 10 * HOUR, maxLifetimeMs: 24 * HOUR });
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

  it('ends a session 24 h after sign-in however often it is used, and never sets a cookie past that', async () => {
    const { token, session } = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: null, userAgent: null });
    const cap = new Date(now + 24 * HOUR).toISOString();
    const expiries = [];
    for (let hours = 6; hours < 24; hours += 6) {
      now += 6 * HOUR;
      const valid = await sessions.validate(token);
      assert.ok(valid, `alive after ${hours} h of use`);
      expiries.push(valid.session.expiresAt);
    }
    const at = (hours: number) => new Date(Date.parse(session.createdAt) + hours * HOUR).toISOString();
    assert.deepEqual(expiries, [at(16), at(22), cap], 'renewals stop at the absolute end');
    assert.ok(await sessions.live(session._id));
    now += 6 * HOUR;
    assert.equal(await sessions.live(session._id), null);
    assert.equal(await sessions.validate(token), null);
  });

  it('purges sessions past their absolute lifetime that an older version extended beyond it', async () => {
    const { session } = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: null, userAgent: null });
    await raw.updateOne({ _id: session._id }, { $set: { expiresAt: new Date(now + 100 * HOUR).toISOString() } });
    now += 24 * HOUR;
    assert.equal(await sessions.live(session._id), null);
    assert.equal(await sessions.purgeExpired(), 1);
  });

  it('publishes a notice for each revocation, so open connections end', async () => {
    const a = await sessions.create({ _id: 'u1', organisationId: 'o1' }, { ip: null, userAgent: null });
    await sessions.revoke(a.session._id, 'signed out');
    await sessions.revokeAllForUser('u1', 'user disabled');
    assert.deepEqual(notices, [
      { scope: 'session', id: a.session._id, reason: 'signed out' },
      { scope: 'user', id: 'u1', reason: 'user disabled' },
    ]);
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
