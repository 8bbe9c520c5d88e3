import { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { ComponentCheck } from '../ops/health.ts';

// One Redis for every process of an instance (REDIS_URL). Two connections per process: commands
// (counters, PUBLISH) on one, and one in subscriber mode, which Redis allows no other command on.
// Every channel this process listens to shares that one subscriber.

/** Channel and key names start with this, so a Redis shared with other software stays tidy. */
export const REDIS_PREFIX = 'lectern:';

/** Past this a boot that cannot reach Redis fails, naming it, rather than serving with limits that do not count. */
const CONNECT_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 1_000;

export interface RedisConnection {
  /** Commands: counters, PUBLISH. */
  client: Redis;
  /** Calls `handler` with each message on `channel` (SUBSCRIBE); resolves once Redis has confirmed. */
  listen(channel: string, handler: (message: string) => void): Promise<void>;
  /** The `redis` readiness component: PING on both connections. */
  check: ComponentCheck;
  close(): Promise<void>;
}

/** The URL without its password, for logs and messages. */
export function redisAddress(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

export async function openRedis(url: string, log: Logger): Promise<RedisConnection> {
  const address = redisAddress(url);
  const options = {
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A command fails after one reconnect attempt instead of twenty: a request counting a rate
    // limit should fail fast (500, `/readyz` down) while Redis is away, not hang for seconds.
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  };
  const client = new Redis(url, { ...options, connectionName: 'lectern' });
  const subscriber = new Redis(url, { ...options, connectionName: 'lectern-subscriber' });
  const handlers = new Map<string, (message: string) => void>();
  for (const [role, connection] of [['client', client], ['subscriber', subscriber]] as const) {
    // Without a listener an unreachable Redis would crash the process; ioredis reconnects by itself.
    connection.on('error', (err: Error) => log.warn({ err: { message: err.message }, connection: role, redis: address }, 'redis connection error'));
  }
  subscriber.on('message', (channel: string, message: string) => {
    try {
      handlers.get(channel)?.(message);
    } catch (err) {
      log.error({ err, channel }, 'a redis message handler failed');
    }
  });
  try {
    await Promise.all([client.connect(), subscriber.connect()]);
  } catch (err) {
    client.disconnect();
    subscriber.disconnect();
    throw new Error(`cannot reach Redis at ${address} (REDIS_URL): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  log.info({ redis: address }, 'redis connected');
  return {
    client,
    async listen(channel, handler) {
      if (handlers.has(channel)) throw new Error(`already listening on ${channel}`);
      handlers.set(channel, handler);
      await subscriber.subscribe(channel);
    },
    check: {
      name: 'redis',
      kind: 'redis',
      check: async () => {
        await Promise.all([client.ping(), subscriber.ping()]);
        return { state: 'ok', message: address };
      },
    },
    async close() {
      handlers.clear();
      // QUIT lets replies in flight arrive; with Redis away it would wait for a reconnect that may never come.
      const quit = Promise.allSettled([client.quit(), subscriber.quit()]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([quit, new Promise((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)))]);
      clearTimeout(timer);
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
