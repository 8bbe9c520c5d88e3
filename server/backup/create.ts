// Taking one backup: a folder under BACKUP_DIR named by its UTC time, written as
// `.partial-<name>` and renamed once whole, so a folder with a backup's name is always complete.

import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configSchema, secretNames, type Config } from '../config.ts';
import type { DataKey } from '../crypto/data-key.ts';
import { snapshotEmbedded, STORE_FILE } from './embedded.ts';
import { copyFile } from './files.ts';
import { FORMAT, writeManifest, type FileEntry, type Manifest } from './manifest.ts';
import { VERSION } from '../version.ts';

export const CONFIG_FILE = 'config.json';
/** Backup folder names: sortable, and free of ':' (which some filesystems and tools refuse). */
const NAME = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(\.\d{3})?Z$/;

export const backupName = (at: Date): string => at.toISOString().replace(/:/g, '-');
export const isBackupName = (name: string): boolean => NAME.test(name);
/** The time a backup's name gives. */
export const backupTime = (name: string): Date => new Date(name.replace(/T(\d{2})-(\d{2})-(\d{2})/, 'T$1:$2:$3'));


/** The settings in force, minus secrets (for the record: a restore does not apply them). */
export function configWithoutSecrets(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(configSchema.shape)) {
    if ((secretNames as readonly string[]).includes(name)) continue;
    const value = (config as Record<string, unknown>)[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export interface BackupTarget {
  config: Config;
  /** The folder backups go to (BACKUP_DIR). */
  dir: string;
  key: DataKey | null;
  /** The time the backup is named by. */
  now: Date;
  /** The MongoDB half, when the store is MongoDB (server/backup/mongo.ts); null: the embedded store in DATA_DIR. */
  dumpStore?: ((into: string, key: DataKey | null) => Promise<{ files: FileEntry[]; counts: Record<string, number> }>) | null;
}

/** Writes one backup and returns its folder and manifest. */
export async function createBackup(target: BackupTarget): Promise<{ path: string; manifest: Manifest }> {
  const { config, dir, key, now } = target;
  let name = backupName(now);
  if (existsSync(path.join(dir, name))) name = backupName(new Date(now.getTime() + 1)); // two within a millisecond
  const partial = path.join(dir, `.partial-${name}`);
  await mkdir(partial, { recursive: true, mode: 0o700 });
  try {
    let part;
    if (target.dumpStore) part = await target.dumpStore(partial, key);
    else {
      if (!existsSync(path.join(config.dataDir, STORE_FILE))) throw new Error(`DATA_DIR holds no Lectern store (${path.join(config.dataDir, STORE_FILE)})`);
      part = await snapshotEmbedded(config.dataDir, partial, key);
    }
    const plainConfig = path.join(partial, `${CONFIG_FILE}.plain`);
    await writeFile(plainConfig, `${JSON.stringify(configWithoutSecrets(config), null, 2)}\n`, { mode: 0o600 });
    const copied = await copyFile(plainConfig, path.join(partial, CONFIG_FILE), key, 'seal');
    await rm(plainConfig);
    const manifest: Manifest = {
      format: FORMAT,
      lectern: VERSION,
      createdAt: now.toISOString(),
      store: target.dumpStore ? 'mongodb' : 'embedded',
      search: config.MEILI_URL ? 'rebuild' : 'in-store',
      sealedWith: key?.id ?? null,
      dataKeyId: config.dataKeys?.current.id ?? null,
      counts: part.counts,
      files: [...part.files, { path: CONFIG_FILE, size: copied.source.size, sha256: copied.source.sha256, stored: copied.target }].sort((a, b) => a.path.localeCompare(b.path)),
    };
    await writeManifest(partial, manifest);
    const final = path.join(dir, name);
    await rename(partial, final);
    return { path: final, manifest };
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  }
}
