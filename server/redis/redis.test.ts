import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { revocationsContract } from '../auth/revocation-contract.ts';
import { LoginThrottle } from '../auth/throttle.ts';
import { AppError } from '../errors.ts';
import { eventBusContract } from '../events/contract.ts';
import { countersContract } from '../limits/contract.ts';
import { createLogger } from '../logger.ts';
import { redisMissing, startRedis, type RedisServer } from '../../test/helpers/redis.ts';
import { RedisEventBus } from './bus.ts';
import { openRedis, redisAddress, type RedisConnection } from './connection.ts';
import { redisCounters, redisLimiter } from './counters.ts';
import { RedisRevocations } from './revocations.ts';

// Each suite gets its own redis-server, and "two processes" are two connections to it, each with
// its own adapter instances: exactly what two Lectern processes on one REDIS_URL hold.

const log = createLogger({ level: 'silent' });
const skip = redisMissing();

/** Two connections to a fresh Redis; `close` ends them and the server. */
async function twoProcesses(): Promise<{ a: RedisConnection; b: RedisConnection; close(): Promise<void> }> {
  const server = await startRedis();
  const [a, b] = await Promise.all([openRedis(server.url, log), openRedis(server.url, log)]);
  return {
    a,
    b,
    close: async () => {
      await Promise.all([a.close(), b.close()]);
      await server.stop();
    },
  };
}

describe('Redis adapters', { skip }, () => {
  eventBusContract('redis', async () => {
    const { a, b, close } = await twoProcesses();
    return { bus: await RedisEventBus.open(a, log), peer: await RedisEventBus.open(b, log), close };
  });

  revocationsContract('redis', async () => {
    const { a, b, close } = await twoProcesses();
    return { revocations: await RedisRevocations.open(a, log), peer: await RedisRevocations.open(b, log), close };
  });

  countersContract('redis', async () => {
    const { a, b, close } = await twoProcesses();
    return { counters: redisCounters(a), peer: redisCounters(b), close };
  });

  describe('login throttle', () => {
    let processes: Awaited<ReturnType<typeof twoProcesses>>;
    before(async () => void (processes = await twoProcesses()));
    after(() => processes.close());

    it('locks an account on every process once the attempts of all of them reach the limit', async () => {
      const limits = { perAccount: 5, perIp: 20, windowSeconds: 60 };
      const [a, b] = [processes.a, processes.b].map((redis) => LoginThrottle.withStore(limits, { name: 'login', limiter: redisLimiter(redis) }));
      for (const throttle of [a, a, b, a, b]) await (await throttle!.admit('ada@example.test', '127.0.0.1')).failed();
      for (const throttle of [a, b]) {
        const refused = await throttle!.admit('ada@example.test', '127.0.0.1').then(() => null, (err: unknown) => err);
        assert.ok(refused instanceof AppError && refused.status === 429, `refused with ${String(refused)}`);
      }
      // Two-step codes are counted apart from passwords in the same Redis.
      const codes = LoginThrottle.withStore(limits, { name: 'login_code', limiter: redisLimiter(processes.b) });
      await codes.admit('ada@example.test', '127.0.0.1');
    });
  });

  describe('connection', () => {
    let server: RedisServer;
    before(async () => void (server = await startRedis()));

    it('answers the readiness check with PING, and is down once Redis is gone', async () => {
      const redis = await openRedis(server.url, log);
      assert.deepEqual(await redis.check.check(), { state: 'ok', message: server.url });
      await server.stop();
      await assert.rejects(redis.check.check());
      await redis.close();
    });

    it('fails to open with a message naming REDIS_URL and never the password', async () => {
      const err = await openRedis('redis://:hunter2@127.0.0.1:1', log).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.match(err.message, /^cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(REDIS_URL\)/);
      assert.doesNotMatch(err.message, /hunter2/);
      assert.equal(redisAddress('rediss://user:pw@cache:6380/2'), 'rediss://cache:6380/2');
    });
  });
});
