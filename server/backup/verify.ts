// A restore drill: the backup restored into a scratch folder beside it (not /tmp, which may be
// memory and too small), opened, compared with its manifest, and removed. The result is kept
// with the backup (list-backups shows it).

import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import type { DataKey } from '../crypto/data-key.ts';
import { recordVerification, type Verification } from './list.ts';
import { BackupDamagedError } from './manifest.ts';
import { removeRestored, restoreInto, type Restored } from './restore.ts';

export type Verified = { ok: true; restored: Restored; verification: Verification } | { ok: false; message: string; verification: Verification };

export async function verifyBackup(backup: string, key: DataKey | null, now: () => Date, loadStore?: (from: string) => Promise<Record<string, number>>): Promise<Verified> {
  const scratch = await mkdtemp(path.join(path.dirname(path.resolve(backup)), '.verify-'));
  try {
    const restored = await restoreInto(backup, scratch, key, loadStore);
    const verification = { at: now().toISOString(), ok: true, message: null };
    await recordVerification(backup, verification);
    return { ok: true, restored, verification };
  } catch (err) {
    if (!(err instanceof BackupDamagedError)) throw err;
    const verification = { at: now().toISOString(), ok: false, message: err.message };
    await recordVerification(backup, verification).catch(() => undefined);
    return { ok: false, message: err.message, verification };
  } finally {
    await removeRestored(scratch);
  }
}
