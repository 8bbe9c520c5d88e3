import path from 'node:path';
import { LocalRevocations, type Revocations } from '../auth/revocation.ts';
import { LoginThrottle } from '../auth/throttle.ts';
import type { Clock, Random } from '../clock.ts';
import type { Config } from '../config.ts';
import { confirmDataKey, rotateCommand } from '../crypto/key-record.ts';
import { collections } from '../db.ts';
import { LocalEventBus, type EventBus } from '../events/bus.ts';
import { DiskBlobStore } from '../files/disk.ts';
import type { BlobStore } from '../files/files.ts';
import { memoryCounters, type Counters } from '../limits/counters.ts';
import type { Logger } from '../logger.ts';
import { GridFsBlobStore } from '../mongo/gridfs-blobs.ts';
import { mongoDatabaseOf } from '../mongo/mongo.ts';
import { StoreQueue } from '../queue/store-queue.ts';
import type { JobQueue } from '../queue/queue.ts';
import { newId } from '../auth/tokens.ts';
import type { ComponentCheck } from '../ops/health.ts';
import { MemoryDetachedSessions, type DetachedSessions } from '../realtime/resume-state.ts';
import { openRedisPorts, type RedisPorts } from '../redis/open.ts';
import { openScanner, scannerCheck } from '../scan/open.ts';
import type { MalwareScanner } from '../scan/scanner.ts';
import { openSearchIndex } from '../search/open.ts';
import type { SearchIndex } from '../search/search.ts';
import { openStore, sqliteFileOf } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import type { PortRegistry } from './registry.ts';

/** Where rate limits, quotas and the two sign-in throttles count. */
export interface LimitPorts {
  counters: Counters;
  throttle: LoginThrottle;
  codeThrottle: LoginThrottle;
}

/** Every infrastructural port, each in the implementation configuration chose. */
export interface Ports {
  store: Store;
  blobs: BlobStore;
  /** Where infected originals are moved, out of reach of every route. */
  quarantine: BlobStore;
  /** Scans uploads before parsing (CLAMAV_URL); null: no scanning. */
  scanner: MalwareScanner | null;
  index: SearchIndex;
  /** Reports, for the search port's readiness, how bringing the index up to date with the store goes (null once it agrees). */
  searchReconciling(message: string | null): void;
  bus: EventBus;
  limits: LimitPorts;
  revocations: Revocations;
  /** Dropped realtime sessions waiting to be resumed: in Redis, on whichever process the client reconnects to. */
  detachedSessions: DetachedSessions;
  /** The Redis connection's ports when REDIS_URL is set; the queue opens on it last. */
  redis: RedisPorts | null;
}

export interface PortContext {
  config: Config;
  log: Logger;
  clock: Clock;
  random: Random;
  registry: PortRegistry;
}

/**
 * Opens every port but the queue from configuration, in dependency order: the store (and its data
 * key checked before anything reads it), files, the scanner, Redis when REDIS_URL is set, then
 * search. The queue opens after the engines (`openQueue`), so it stops first: running jobs are
 * returned to it while the parser and models they use are still there.
 */
export async function openPorts(context: PortContext): Promise<Ports> {
  const { config, log, clock, registry } = context;

  const store = await registry.open('store', async () => {
    const store = await openStore(config, log.child({ component: 'store' }));
    return { port: store, kind: store.kind, check: async () => (await store.ping(), { state: 'ok' }), close: () => store.close() };
  });
  // DATA_DIR must be encrypted under the configured data key (or not at all) before anything reads it.
  if (await confirmDataKey(collections(store, config.dataKeys).meta, config.dataKeys, clock.now().toISOString())) {
    log.info({ dataKey: config.dataKeys?.current.id }, `encryption at rest turned on; anything stored before stays readable, unencrypted, until \`${rotateCommand}\` seals it`);
  }

  const blobs = await registry.open('files', () => blobStore(config, store, 'files'));
  const quarantine = await registry.open('quarantine', () => blobStore(config, store, 'quarantine'));
  const scanner = openScanner(config);
  if (scanner) await registry.open('scan', () => ({ port: scanner, ...scannerCheck(scanner) }));

  const redis = config.REDIS_URL ? await registry.open('redis', () => openRedis(config, log)) : null;
  const sharedCheck = redis?.check.check;
  const shared = <T>(port: T, local: string) => (redis && sharedCheck ? { port, kind: 'redis', check: sharedCheck } : { port, kind: local });
  const bus = await registry.open('events', () => shared(redis?.bus ?? new LocalEventBus(), 'local'));
  const revocations = await registry.open('revocations', () =>
    shared(redis?.revocations ?? new LocalRevocations({ onListenerError: (err) => log.error({ err }, 'a revocation listener failed') }), 'local'),
  );
  const loginLimits = { perAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT, perIp: config.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS };
  const limits = await registry.open('limits', () =>
    shared<LimitPorts>(
      redis
        ? { counters: redis.counters, throttle: redis.throttle, codeThrottle: redis.codeThrottle }
        : { counters: memoryCounters, throttle: LoginThrottle.inMemory(loginLimits), codeThrottle: LoginThrottle.inMemory(loginLimits) },
      'memory',
    ),
  );
  const detachedSessions = await registry.open('resume', () => shared(redis?.detachedSessions ?? new MemoryDetachedSessions(), 'memory'));

  // Null once the index agrees with the store; until then, what is being done about it.
  let reconciling: string | null = 'comparing with the store';
  const index = await registry.open('search', async () => {
    const index = await openSearchIndex(config, log.child({ component: 'search' }), { storeFile: sqliteFileOf(store) });
    const check: ComponentCheck['check'] = async () => {
      await index.ping();
      const progress = index.progress();
      if (reconciling !== null) return { state: 'loading', message: reconciling };
      return progress.ready ? { state: 'ok' } : { state: 'loading', message: progress.message };
    };
    return { port: index, kind: index.kind, check, close: () => index.close() };
  });
  if (sqliteFileOf(store) === null && index.kind === 'embedded') {
    // Each process would index only what it ingests itself; search would differ between processes.
    log.warn({ store: store.kind }, 'the store can be shared by processes but search is embedded in this one: run a single Lectern process on this store, or set MEILI_URL');
  }

  return { store, blobs, quarantine, scanner, index, searchReconciling: (message) => (reconciling = message), bus, limits, revocations, detachedSessions, redis };
}

/**
 * A blob store named `name`: a GridFS bucket when the store is MongoDB, so every process on that
 * database reads the originals any of them took in (a job may run on another process than the
 * upload); else a folder of DATA_DIR.
 */
function blobStore(config: Config, store: Store, name: string) {
  const db = mongoDatabaseOf(store);
  const keys = config.dataKeys;
  const blobs: BlobStore = db ? new GridFsBlobStore(db, name, { keys }) : new DiskBlobStore(path.join(config.dataDir, name), { keys });
  return { port: blobs, kind: blobs.kind, check: async () => (await blobs.ping(), { state: 'ok' as const }) };
}

async function openRedis(config: Config, log: Logger) {
  const redis: RedisPorts = await openRedisPorts({ ...config, REDIS_URL: config.REDIS_URL! }, log.child({ component: 'redis' }));
  return { port: redis, kind: 'redis', check: redis.check.check, close: () => redis.close() };
}

/**
 * The job queue, opened last: its shutdown step runs first, returning running jobs before anything
 * they use closes. On Redis (BullMQ) when REDIS_URL is set and the store is shared by processes;
 * with the embedded store the queue stays in it, since a Redis queue shared by processes with
 * stores of their own would hand one store's jobs to another.
 */
export function openQueue(context: PortContext, ports: Pick<Ports, 'store' | 'redis'>): Promise<JobQueue> {
  const { config, log, clock, random, registry } = context;
  const { store, redis } = ports;
  return registry.open('queue', async () => {
    const needs = { log: log.child({ component: 'queue' }), newId: () => newId(random), concurrency: config.INGEST_CONCURRENCY };
    const onRedis = redis !== null && sqliteFileOf(store) === null;
    const queue = onRedis ? await redis.queue(needs) : new StoreQueue({ ...needs, jobs: collections(store, config.dataKeys).jobs, clock, kind: store.kind });
    const check: ComponentCheck['check'] = async () => {
      const c = await queue.counts();
      return { state: 'ok', message: `${c.pending} pending, ${c.running} running, ${c.failed} failed` };
    };
    return { port: queue, kind: queue.kind, check, close: () => queue.stop() };
  });
}
