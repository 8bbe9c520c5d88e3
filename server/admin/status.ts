// status: what runs and how it is, read from the configured store and the host — useful while the
// server runs, since it only reads (SQLite readers never block the server's writer).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { newId } from '../auth/tokens.ts';
import { cryptoRandom } from '../clock.ts';
import type { Config } from '../config.ts';
import { collections } from '../db.ts';
import { documentStatuses } from '../documents/documents.ts';
import { createLogger } from '../logger.ts';
import type { QueueCounts } from '../queue/queue.ts';
import { openRedisPorts } from '../redis/open.ts';
import type { Store } from '../store/store.ts';
import { diskSpace, formatBytes } from '../system/disk.ts';
import { EXIT, UsageError, type AdminCommand, type AdminOutput } from './command.ts';
import { expectedModels, fetchCommand } from './models.ts';
import { openConfiguredStore } from './open-store.ts';
import { storeFileIn, storeInUse } from './store-in-use.ts';

/** The server's lock on DATA_DIR (server/ops/data-dir.ts): a SQLite file it holds exclusively while it runs. */
const LOCK_FILE = 'lectern.lock';

/** Where the embedded search index is kept when the store is not embedded (server/search/open.ts). */
export const separateIndexFileIn = (dataDir: string): string => path.join(dataDir, 'search', 'index.sqlite');

/**
 * Whether a server holds DATA_DIR: its lock (taken by `npm start`), or an open embedded store or
 * embedded search index (what an in-process server, or one from before the lock, holds).
 */
export function serverHolds(dataDir: string): boolean {
  return [path.join(dataDir, LOCK_FILE), storeFileIn(dataDir), separateIndexFileIn(dataDir)].some((file) => storeInUse(file));
}

export const status: AdminCommand = {
  name: 'status',
  summary: 'What runs and how it is: the store, counts, queue depth, whether a server holds DATA_DIR, disk free, models.',
  help: `Usage: npm run admin -- status

Reads the configured store (the embedded one in DATA_DIR, or MongoDB with MONGODB_URL) and the
host, and prints: which store and search index this configuration uses; whether a Lectern server
holds DATA_DIR; whether setup is done; counts of organisations, users, knowledge bases and
documents by status; the job queue's depth (in the store, or in Redis with REDIS_URL and
MONGODB_URL); free disk space under DATA_DIR; and how many of the expected models are installed.

Read-only: it may run while the server runs. Exits 0 when it could read what it reports, 1 with
the reason when the store cannot be read.`,

  async run(args, { config, out }) {
    const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UsageError(`status takes no arguments (got ${positionals.join(' ')})`);
    const held = serverHolds(config.dataDir);
    out.say(`DATA_DIR      ${config.dataDir} — ${held ? 'held by a running Lectern server' : 'no server holds it'}`);
    out.say(`Store         ${config.MONGODB_URL ? 'MongoDB (MONGODB_URL)' : `embedded (${path.relative(config.dataDir, storeFileIn(config.dataDir))} in DATA_DIR)`}`);
    out.say(`Search        ${config.MEILI_URL ? `Meilisearch at ${config.MEILI_URL}` : 'embedded'}`);

    let code: number = EXIT.ok;
    if (!config.MONGODB_URL && !existsSync(storeFileIn(config.dataDir))) {
      out.say('              no store yet: the server creates it when it first starts on this DATA_DIR');
    } else {
      const store = await openConfiguredStore(config, out);
      if (!store) return EXIT.failed;
      try {
        await counts(store, config, out);
      } catch (err) {
        out.warn(`the store cannot be read: ${(err as Error).message}`);
        code = EXIT.failed;
      } finally {
        await store.close();
      }
    }

    const disk = await diskSpace(config.dataDir).catch(() => null);
    if (disk) out.say(`Disk          ${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)} (${Math.round((100 * disk.freeBytes) / disk.totalBytes)} %) under DATA_DIR`);
    else out.say('Disk          DATA_DIR does not exist yet');

    const expected = await expectedModels(config, config.manifestPath);
    const missing = expected.filter((m) => m.state === 'missing');
    const ready = expected.filter((m) => m.state === 'installed' || m.state === 'bundled' || m.state === 'system');
    out.say(`Models        ${ready.length} ready, ${missing.length} missing${missing.length ? ` (${missing.map((m) => `${m.role} ${m.id}`).join(', ')})` : ''}`);
    const command = fetchCommand(config, expected);
    if (command) out.say(`              fetch them: ${command}   (details: npm run admin -- models)`);
    return code;
  },
};

async function counts(store: Store, config: Config, out: AdminOutput): Promise<void> {
  const db = collections(store, null);
  const setUp = (await db.meta.findOne({ _id: 'setup' })) !== null || (await db.users.countDocuments({})) > 0;
  out.say(`Setup         ${setUp ? 'done' : 'not done: open the console, or run npm run admin -- create-owner'}`);
  const [organisations, users, kbs] = await Promise.all([db.organisations.countDocuments({}), db.users.countDocuments({}), db.kbs.countDocuments({})]);
  out.say(`Counts        ${organisations} organisations, ${users} users, ${kbs} knowledge bases`);
  const byStatus = await Promise.all(documentStatuses.map(async (s) => [s, await db.documents.countDocuments({ status: s })] as const));
  const documents = byStatus.reduce((n, [, c]) => n + c, 0);
  out.say(`Documents     ${documents} (${byStatus.map(([s, c]) => `${c} ${s}`).join(', ')})`);
  const queue = await queueCounts(store, config);
  out.say(`Queue         ${queue.where}: ${queue.counts ? `${queue.counts.pending} pending, ${queue.counts.running} running, ${queue.counts.failed} failed` : queue.reason}`);
}

/** The queue where the server keeps it (server/ports/open.ts openQueue): Redis with REDIS_URL and a shared store, else the store. */
async function queueCounts(store: Store, config: Config): Promise<{ where: string; counts: QueueCounts | null; reason?: string }> {
  if (config.REDIS_URL && config.MONGODB_URL) {
    try {
      const redis = await openRedisPorts({ ...config, REDIS_URL: config.REDIS_URL }, createLogger({ level: 'silent' }));
      try {
        const queue = await redis.queue({ log: createLogger({ level: 'silent' }), newId: () => newId(cryptoRandom), concurrency: 1 });
        return { where: 'in Redis', counts: await queue.counts() };
      } finally {
        await redis.close();
      }
    } catch (err) {
      return { where: 'in Redis', counts: null, reason: `cannot be read (${(err as Error).message})` };
    }
  }
  const jobs = collections(store, null).jobs;
  const [pending, running, failed] = await Promise.all([
    jobs.countDocuments({ status: 'pending' }),
    jobs.countDocuments({ status: { $in: ['running', 'cancelled'] } }),
    jobs.countDocuments({ status: 'failed' }),
  ]);
  return { where: 'in the store', counts: { pending, running, failed } };
}
