// verify-backup: a restore drill on demand — restores into a scratch folder, opens the store,
// compares counts and checksums with the manifest.

import { parseArgs } from 'node:util';
import path from 'node:path';
import { backupKey } from '../backup/settings.ts';
import { verifyBackup } from '../backup/verify.ts';
import { EXIT, UsageError, type AdminCommand } from './command.ts';

export const verifyBackupCommand: AdminCommand = {
  name: 'verify-backup',
  summary: 'Restore a backup into a scratch folder and check it against its manifest.',
  help: `Usage: npm run admin -- verify-backup <backup>

Restores <backup> (a folder \`backup\` printed, or list-backups lists) into a scratch folder
beside it, checking every file's size and SHA-256 against the manifest before and after
decrypting it with BACKUP_KEY_FILE, opens the restored store (SQLite's integrity check) and
compares its document counts per collection with the manifest; then removes the scratch folder.
The result is kept with the backup (list-backups shows it). Safe while the server runs.

Exits 0 when the backup is whole, 1 naming the first file or collection that differs, 78 when
BACKUP_KEY_FILE is missing or holds another key than the backup's.`,

  async run(args, { config, out }) {
    const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
    if (positionals.length !== 1 || !positionals[0]) throw new UsageError('the path of one backup is required');
    const backup = path.resolve(positionals[0]);
    // An unencrypted backup needs none; an encrypted one without it is refused (BackupKeyError, exit 78), naming its key.
    const key = config.BACKUP_KEY_FILE ? backupKey(config) : null;
    const result = await verifyBackup(backup, key, () => new Date());
    if (!result.ok) {
      out.warn(`backup ${backup} is damaged: ${result.message}`);
      return EXIT.failed;
    }
    const { manifest, files, bytes } = result.restored;
    const documents = Object.values(manifest.counts).reduce((a, b) => a + b, 0);
    out.say(`Backup ${backup} is whole: ${files} files (${bytes} bytes) match their checksums; ${Object.keys(manifest.counts).length} collections, ${documents} documents, match the manifest.`);
    return EXIT.ok;
  },
};
