// restore: a backup back into an empty DATA_DIR (or MongoDB database), with the server stopped.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BackupDamagedError, readManifest } from '../backup/manifest.ts';
import { isEmptyDatabase, loadMongo } from '../backup/mongo.ts';
import type { Config } from '../config.ts';
import { createLogger } from '../logger.ts';
import { mongoDatabaseOf } from '../mongo/mongo.ts';
import { openStore } from '../store/open.ts';
import { isEmptyDataDir, restoreInto } from '../backup/restore.ts';
import { backupKey } from '../backup/settings.ts';
import { EXIT, UsageError, type AdminCommand, type AdminOutput } from './command.ts';
import { storeFileIn, storeInUse } from './store-in-use.ts';

/** The server's DATA_DIR lock (server/ops/data-dir.ts): an SQLite file a running server holds exclusively. */
const SERVER_LOCK = 'lectern.lock';

export const restoreCommand: AdminCommand = {
  name: 'restore',
  summary: 'Restore a backup into an empty DATA_DIR, or an empty MongoDB database (server stopped).',
  help: `Usage: npm run admin -- restore <backup>

Restores <backup> — the path \`backup\` printed as its last line, or one list-backups lists —
into DATA_DIR, which must be empty or missing: the store (with the embedded search index), the
originals and quarantined files, each checked against the manifest's SHA-256 and the restored
store against its document counts. The backed-up settings (secrets left out) are written to
DATA_DIR/restored-settings.json for reference; nothing reads them.

  BACKUP_KEY_FILE  the key the backup was encrypted under
  DATA_DIR         where to restore (empty); DATA_KEY_FILE must then hold the data key the
                   manifest names, if DATA_DIR was encrypted at rest, for the server to start

The files are restored into a folder beside DATA_DIR and moved into place only once all of
them check out, so a failed restore leaves DATA_DIR as it was.

A backup of a MongoDB store (MONGODB_URL) is restored into the database MONGODB_URL names,
which must be empty (no server on it): indexes first, then every collection and the GridFS
originals; DATA_DIR is not touched. With Meilisearch (MEILI_URL),
rebuild search after starting the server: it is derived from the store and not in the backup.

Exits 75 while a server holds DATA_DIR, 1 when DATA_DIR is not empty or the backup is damaged
(naming what differs), 78 when BACKUP_KEY_FILE does not hold the backup's key.`,

  async run(args, { config, out }) {
    const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
    if (positionals.length !== 1 || !positionals[0]) throw new UsageError('the path of one backup is required');
    const backup = path.resolve(positionals[0]);
    const dataDir = config.dataDir;
    let manifest;
    try {
      manifest = await readManifest(backup);
    } catch (err) {
      if (!(err instanceof BackupDamagedError)) throw err;
      out.warn(err.message);
      return EXIT.failed;
    }
    if (manifest.store === 'mongodb' && !config.MONGODB_URL) {
      out.warn('this backup holds a MongoDB store: set MONGODB_URL (or MONGODB_URL_FILE) to the empty database to restore it into');
      return EXIT.failed;
    }
    if (manifest.store === 'embedded' && config.MONGODB_URL) {
      out.warn('this backup holds an embedded store: unset MONGODB_URL to restore it into DATA_DIR');
      return EXIT.failed;
    }
    if (manifest.store === 'mongodb') return restoreMongo(backup, config, out);
    if (storeInUse(path.join(dataDir, SERVER_LOCK)) || storeInUse(storeFileIn(dataDir))) {
      out.warn(`DATA_DIR ${dataDir} is in use by a running Lectern server; stop it first`);
      return EXIT.busy;
    }
    if (!(await isEmptyDataDir(dataDir))) {
      out.warn(`DATA_DIR ${dataDir} is not empty; restore only into an empty DATA_DIR (move the old one aside first)`);
      return EXIT.failed;
    }
    const key = config.BACKUP_KEY_FILE ? backupKey(config) : null;
    await mkdir(path.dirname(dataDir), { recursive: true });
    const staging = await mkdtemp(`${dataDir}.restoring-`);
    try {
      const restored = await restoreInto(backup, staging, key);
      if (existsSync(dataDir)) {
        for (const name of await readdir(dataDir)) await rm(path.join(dataDir, name), { force: true }); // a stopped server's lock file
        await rmdir(dataDir);
      }
      await rename(staging, dataDir);
      const { manifest, files, bytes } = restored;
      const documents = Object.values(manifest.counts).reduce((a, b) => a + b, 0);
      out.say(`Restored ${backup} (taken ${manifest.createdAt}, Lectern ${manifest.lectern}) into ${dataDir}: ${files} files, ${bytes} bytes, ${documents} documents in ${Object.keys(manifest.counts).length} collections, all matching the manifest.`);
      if (manifest.dataKeyId) out.say(`DATA_DIR is encrypted at rest under data key ${manifest.dataKeyId}: start the server with DATA_KEY_FILE holding it.`);
      if (manifest.search === 'rebuild') out.say('Search (Meilisearch) is not in the backup: after starting the server, rebuild it from the store (npm run admin -- reindex).');
      out.say('Start the server.');
      return EXIT.ok;
    } catch (err) {
      if (err instanceof BackupDamagedError) {
        out.warn(`backup ${backup} is damaged, nothing was restored: ${err.message}`);
        return EXIT.failed;
      }
      throw err;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  },
};

/** A MongoDB backup into the (empty) database MONGODB_URL names; DATA_DIR is not touched. */
async function restoreMongo(backup: string, config: Config, out: AdminOutput): Promise<number> {
  const key = config.BACKUP_KEY_FILE ? backupKey(config) : null;
  const store = await openStore(config, createLogger({ level: 'silent' }));
  const scratch = await mkdtemp(path.join(path.dirname(backup), '.restore-'));
  try {
    const db = mongoDatabaseOf(store)!;
    // A server on it has migrated it at least: so this also refuses while one runs.
    if (!(await isEmptyDatabase(db))) {
      out.warn(`the database ${db.databaseName} is not empty; restore only into an empty database (a server on it must be stopped, and the database dropped or another named)`);
      return EXIT.failed;
    }
    const { manifest, files, bytes } = await restoreInto(backup, scratch, key, (from) => loadMongo(db, from));
    const documents = Object.values(manifest.counts).reduce((a, b) => a + b, 0);
    out.say(`Restored ${backup} (taken ${manifest.createdAt}, Lectern ${manifest.lectern}) into the database ${db.databaseName}: ${files} files, ${bytes} bytes checked, ${documents} documents in ${Object.keys(manifest.counts).length} collections, all matching the manifest.`);
    if (manifest.dataKeyId) out.say(`The data is encrypted at rest under data key ${manifest.dataKeyId}: start the server with DATA_KEY_FILE holding it.`);
    if (manifest.search === 'rebuild') out.say('Search (Meilisearch) is not in the backup: after starting the server, rebuild it from the store (npm run admin -- reindex).');
    out.say('Start the server.');
    return EXIT.ok;
  } catch (err) {
    if (err instanceof BackupDamagedError) {
      out.warn(`backup ${backup} is damaged: ${err.message} (the database may hold part of it: drop it before trying another backup)`);
      return EXIT.failed;
    }
    throw err;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await store.close();
  }
}
