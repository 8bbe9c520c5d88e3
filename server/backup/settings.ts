// What the backup domain needs of the configuration, resolved once: where backups go, the key
// they are sealed under, how many are kept, when they run, and where they are copied off-site.

import path from 'node:path';
import type { Config } from '../config.ts';
import { DataKeyError, isInside, readDataKey, type DataKey } from '../crypto/data-key.ts';
import { parseSchedule, type Schedule } from './schedule.ts';

export interface Keep {
  daily: number;
  weekly: number;
  monthly: number;
}

export interface BackupSettings {
  dataDir: string;
  dir: string;
  /** Null only when BACKUP_ENCRYPTION=off was chosen explicitly. */
  key: DataKey | null;
  keep: Keep;
  schedule: Schedule | null;
  restic: { repository: string; passwordFile: string } | null;
}

/** Backups cannot be taken as configured (no key and encryption not turned off, a key inside DATA_DIR): one line. */
export class BackupConfigError extends Error {
  override name = 'BackupConfigError';
}

/** `<DATA_DIR>/../backups`: beside DATA_DIR, never inside it (a backup would be copied into every later one, and restore needs DATA_DIR empty). */
export const defaultBackupDir = (dataDir: string): string => path.join(path.dirname(path.resolve(dataDir)), 'backups');

/**
 * The backup settings; throws BackupConfigError when backups would leave the box readable by
 * whoever holds the disk: without a key, only BACKUP_ENCRYPTION=off allows them.
 */
export function backupSettings(config: Config): BackupSettings {
  const dir = path.resolve(config.BACKUP_DIR ?? defaultBackupDir(config.dataDir));
  if (isInside(dir, config.dataDir)) throw new BackupConfigError(`BACKUP_DIR ${dir} is inside DATA_DIR; put backups beside it or on another disk`);
  return {
    dataDir: config.dataDir,
    dir,
    key: backupKey(config),
    keep: { daily: config.BACKUP_KEEP_DAILY, weekly: config.BACKUP_KEEP_WEEKLY, monthly: config.BACKUP_KEEP_MONTHLY },
    schedule: parseSchedule(config.BACKUP_SCHEDULE),
    restic: config.RESTIC_REPOSITORY && config.RESTIC_PASSWORD_FILE ? { repository: config.RESTIC_REPOSITORY, passwordFile: path.resolve(config.RESTIC_PASSWORD_FILE) } : null,
  };
}

/** The key backups are sealed under, from BACKUP_KEY_FILE (kept apart from DATA_DIR, as the data key is). */
export function backupKey(config: Config): DataKey | null {
  const file = config.BACKUP_KEY_FILE;
  if (!file) {
    if (config.BACKUP_ENCRYPTION === 'off') return null;
    throw new BackupConfigError('backups are encrypted: set BACKUP_KEY_FILE to a file holding 64 hex digits (openssl rand -hex 32 > backup.key), outside DATA_DIR — or BACKUP_ENCRYPTION=off to write them in the clear');
  }
  if (isInside(file, config.dataDir)) throw new BackupConfigError(`BACKUP_KEY_FILE ${path.resolve(file)} is inside DATA_DIR; keep the key apart from the data it locks`);
  try {
    return readDataKey(path.resolve(file));
  } catch (err) {
    throw new BackupConfigError(`BACKUP_KEY_FILE: ${(err as DataKeyError).message}`, { cause: err });
  }
}
