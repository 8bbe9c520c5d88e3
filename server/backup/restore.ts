// Restoring a backup into a folder: every file checked against the manifest before it is opened
// (a damaged copy is named without the key), opened with the backup key, checked again once
// opened, and the restored store opened and counted. verify-backup runs the same into a
// temporary folder.

import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { DataKey } from '../crypto/data-key.ts';
import { SealedDataError } from '../crypto/data-key.ts';
import { CONFIG_FILE } from './create.ts';
import { countTables, STORE_FILE } from './embedded.ts';
import { copyFile, hashFile } from './files.ts';
import { countDump } from './mongo.ts';
import { BackupDamagedError, MANIFEST, readManifest, type Manifest } from './manifest.ts';
import { VERIFIED } from './list.ts';

/** What the settings of the backed-up server are restored as, in DATA_DIR (for the record; nothing reads them). */
export const RESTORED_SETTINGS = 'restored-settings.json';

export interface Restored {
  manifest: Manifest;
  files: number;
  bytes: number;
}

/** The backup cannot be opened with the key given (none, or another): not damage, a setting. */
export class BackupKeyError extends Error {
  override name = 'BackupKeyError';
}

/**
 * Restores the backup in `backup` into `into` (which should be empty) and checks it; throws a
 * BackupDamagedError naming the first thing that differs from the manifest. `loadStore` loads a
 * MongoDB dump into its database (server/backup/mongo.ts); without it, the dump is only counted.
 */
export async function restoreInto(backup: string, into: string, key: DataKey | null, loadStore?: (from: string) => Promise<Record<string, number>>): Promise<Restored> {
  const manifest = await readManifest(backup);
  if (manifest.sealedWith !== null && key === null) throw new BackupKeyError(`the backup is encrypted under backup key ${manifest.sealedWith}; set BACKUP_KEY_FILE to the file holding it`);
  if (manifest.sealedWith !== null && key !== null && key.id !== manifest.sealedWith) throw new BackupKeyError(`the backup is encrypted under backup key ${manifest.sealedWith}, and BACKUP_KEY_FILE holds key ${key.id}`);
  const opener = manifest.sealedWith === null ? null : key;

  await mkdir(into, { recursive: true, mode: 0o700 });
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const extra of await filesIn(backup)) {
    if (!listed.has(extra) && extra !== MANIFEST && extra !== VERIFIED) throw new BackupDamagedError(`${extra}: in the backup but not in its manifest`);
  }
  let bytes = 0;
  for (const entry of manifest.files) {
    const stored = path.join(backup, entry.path);
    if (!existsSync(stored)) throw new BackupDamagedError(`${entry.path}: missing from the backup`);
    const onDisk = await hashFile(stored);
    if (onDisk.size !== entry.stored.size || onDisk.sha256 !== entry.stored.sha256) {
      throw new BackupDamagedError(`${entry.path}: its ${onDisk.size !== entry.stored.size ? `size (${onDisk.size} bytes, manifest: ${entry.stored.size})` : 'SHA-256'} differs from the manifest — the backup was changed or damaged`);
    }
    const target = path.join(into, entry.path === CONFIG_FILE ? RESTORED_SETTINGS : entry.path);
    let opened;
    try {
      opened = await copyFile(stored, target, opener, 'open');
    } catch (err) {
      if (err instanceof SealedDataError) throw new BackupDamagedError(`${entry.path}: does not decrypt (${err.message})`);
      throw err;
    }
    if (opened.target.sha256 !== entry.sha256 || opened.target.size !== entry.size) throw new BackupDamagedError(`${entry.path}: restored, its SHA-256 differs from the manifest`);
    bytes += opened.target.size;
  }

  // A MongoDB dump is loaded by `loadStore` (restore), else only counted (verify-backup, the drill).
  const counts = manifest.store === 'embedded' ? openAndCount(path.join(into, STORE_FILE)) : loadStore ? await loadStore(into) : await countDump(into);
  for (const [name, expected] of Object.entries(manifest.counts)) {
    const found = counts[name] ?? 0;
    if (found !== expected) throw new BackupDamagedError(`${name}: ${found} documents restored, the manifest says ${expected}`);
  }
  return { manifest, files: manifest.files.length, bytes };
}

/** Opens the restored store file, checks SQLite's integrity, and counts its tables. */
function openAndCount(file: string): Record<string, number> {
  if (!existsSync(file)) throw new BackupDamagedError(`${STORE_FILE}: not in the backup`);
  const db = new DatabaseSync(file);
  try {
    const rows = db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>;
    if (rows[0]?.integrity_check !== 'ok') throw new BackupDamagedError(`${STORE_FILE}: SQLite integrity check failed: ${rows.map((r) => r.integrity_check).slice(0, 3).join('; ')}`);
  } finally {
    db.close();
  }
  return countTables(file);
}

/** Every file under `dir`, relative to it. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Whether `dir` may be restored into: missing, or empty but for a stopped server's lock file. */
export async function isEmptyDataDir(dir: string): Promise<boolean> {
  if (!existsSync(dir)) return true;
  const left = (await readdir(dir)).filter((name) => name !== 'lectern.lock');
  return left.length === 0;
}

export const removeRestored = (dir: string) => rm(dir, { recursive: true, force: true });
