// The backups in BACKUP_DIR, newest first: time, size, and what the last verify of each found
// (kept beside its manifest as verified.json).

import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { backupTime, isBackupName } from './create.ts';

export const VERIFIED = 'verified.json';

export interface Verification {
  at: string;
  ok: boolean;
  /** What differed, when not ok. */
  message: string | null;
}

export interface BackupInfo {
  name: string;
  path: string;
  at: Date;
  bytes: number;
  verified: Verification | null;
}

export async function listBackups(dir: string): Promise<BackupInfo[]> {
  if (!existsSync(dir)) return [];
  const out: BackupInfo[] = [];
  for (const name of await readdir(dir)) {
    if (!isBackupName(name)) continue;
    const folder = path.join(dir, name);
    out.push({ name, path: folder, at: backupTime(name), bytes: await sizeOf(folder), verified: await readVerification(folder) });
  }
  return out.sort((a, b) => b.at.getTime() - a.at.getTime());
}

export async function recordVerification(folder: string, verification: Verification): Promise<void> {
  await writeFile(path.join(folder, VERIFIED), `${JSON.stringify(verification)}\n`, { mode: 0o600 });
}

async function readVerification(folder: string): Promise<Verification | null> {
  try {
    return JSON.parse(await readFile(path.join(folder, VERIFIED), 'utf8')) as Verification;
  } catch {
    return null;
  }
}

async function sizeOf(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}
