import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DataKey, Keyring } from '../crypto/data-key.ts';
import { createLogger } from '../logger.ts';
import { ada, detachedSessionsContract, droppedSession } from '../realtime/resume-state-contract.ts';
import { redisMissing, startRedis, type RedisServer } from '../../test/helpers/redis.ts';
import { openRedis, REDIS_PREFIX, type RedisConnection } from './connection.ts';
import { RedisDetachedSessions } from './resume-state.ts';

// "Two processes" are two connections to one redis-server, each with its own adapter: what two
// Lectern processes on one REDIS_URL hold.

const log = createLogger({ level: 'silent' });
const keyOf = (id: string) => `${REDIS_PREFIX}realtime:detached:${id}`;

describe('Redis detached sessions', { skip: redisMissing() }, () => {
  detachedSessionsContract('redis', async () => {
    const server = await startRedis();
    const [a, b] = await Promise.all([openRedis(server.url, log), openRedis(server.url, log)]);
    return {
      sessions: new RedisDetachedSessions(a, { keys: null, log }),
      peer: new RedisDetachedSessions(b, { keys: null, log }),
      close: async () => {
        await Promise.all([a.close(), b.close()]);
        await server.stop();
      },
    };
  });

  detachedSessionsContract('redis, sealed with a data key', async () => {
    const server = await startRedis();
    const [a, b] = await Promise.all([openRedis(server.url, log), openRedis(server.url, log)]);
    const keys = new Keyring(new DataKey(randomBytes(32)));
    return {
      sessions: new RedisDetachedSessions(a, { keys, log }),
      peer: new RedisDetachedSessions(b, { keys, log }),
      close: async () => {
        await Promise.all([a.close(), b.close()]);
        await server.stop();
      },
    };
  });

  describe('at rest', () => {
    let server: RedisServer;
    let redis: RedisConnection;
    const keys = new Keyring(new DataKey(randomBytes(32)));
    before(async () => {
      server = await startRedis();
      redis = await openRedis(server.url, log);
    });
    after(async () => {
      await redis.close();
      await server.stop();
    });

    it('holds no conversation text with a data key, and expires with the resume window', async () => {
      const sessions = new RedisDetachedSessions(redis, { keys, log });
      const snapshot = droppedSession();
      await sessions.detach(snapshot, ada, 60_000);
      const stored = await redis.client.hgetall(keyOf(snapshot.config.id));
      assert.deepEqual({ owner: stored['owner'], kbId: stored['kbId'] }, ada);
      assert.match(stored['snapshot'] ?? '', /^lectern:sealed:1:/);
      assert.doesNotMatch(stored['snapshot'] ?? '', /chuck key|conv1|msg1/);
      const ttl = await redis.client.pttl(keyOf(snapshot.config.id));
      assert.ok(ttl > 55_000 && ttl <= 60_000, `expires in ${ttl} ms`);
      assert.deepEqual(await sessions.reclaim(snapshot.config.id, ada), snapshot);
    });

    it('without a data key keeps the snapshot as JSON', async () => {
      const snapshot = droppedSession();
      await new RedisDetachedSessions(redis, { keys: null, log }).detach(snapshot, ada, 60_000);
      assert.deepEqual(JSON.parse((await redis.client.hget(keyOf(snapshot.config.id), 'snapshot')) ?? 'null'), snapshot);
    });

    it('does not resume a session handed to another holder in Redis, nor a plain one when a data key is set', async () => {
      const sessions = new RedisDetachedSessions(redis, { keys, log });
      const moved = droppedSession();
      await sessions.detach(moved, ada, 60_000);
      const mallory = { owner: 'org1:mallory', kbId: ada.kbId };
      await redis.client.hset(keyOf(moved.config.id), 'owner', mallory.owner);
      assert.equal(await sessions.reclaim(moved.config.id, mallory), null, 'the seal is bound to its holder');

      const plain = droppedSession();
      await new RedisDetachedSessions(redis, { keys: null, log }).detach(plain, ada, 60_000);
      assert.equal(await sessions.reclaim(plain.config.id, ada), null);

      const underOtherKey = droppedSession();
      await new RedisDetachedSessions(redis, { keys: new Keyring(new DataKey(randomBytes(32))), log }).detach(underOtherKey, ada, 60_000);
      assert.equal(await sessions.reclaim(underOtherKey.config.id, ada), null);
    });

    it('refuses a snapshot of another session stored under this id', async () => {
      const sessions = new RedisDetachedSessions(redis, { keys: null, log });
      const snapshot = droppedSession();
      await sessions.detach(snapshot, ada, 60_000);
      await redis.client.hset(keyOf('sess_other'), { owner: ada.owner, kbId: ada.kbId, snapshot: JSON.stringify(snapshot) });
      assert.equal(await sessions.reclaim('sess_other', ada), null);
      await redis.client.hset(keyOf('sess_broken'), { owner: ada.owner, kbId: ada.kbId, snapshot: '{"config":' });
      assert.equal(await sessions.reclaim('sess_broken', ada), null);
    });
  });
});
