// backup: one backup now, while the server runs, into BACKUP_DIR; its path is the last line.

import { parseArgs } from 'node:util';
import { systemClock } from '../clock.ts';
import { createLogger } from '../logger.ts';
import { BackupService } from '../backup/service.ts';
import { backupSettings } from '../backup/settings.ts';
import { storeHalves } from '../backup/store-halves.ts';
import { EXIT, type AdminCommand } from './command.ts';
import { openConfiguredStore } from './open-store.ts';

export const backupCommand: AdminCommand = {
  name: 'backup',
  summary: 'Back up the store, originals and settings into BACKUP_DIR now (safe while the server runs); prints its path last.',
  help: `Usage: npm run admin -- backup

Writes one backup into BACKUP_DIR, as the schedule does: the store (SQLite's online backup,
the embedded search index with it; with MONGODB_URL a dump of every collection and the GridFS
originals), the originals under DATA_DIR, and the settings minus secrets, each file encrypted
under BACKUP_KEY_FILE, with a manifest of counts and checksums. Old backups are then pruned
(BACKUP_KEEP_DAILY/WEEKLY/MONTHLY) and, with RESTIC_REPOSITORY, the new one is sent there.

It may run while the server runs: the store is copied as one consistent snapshot, and processes
sharing a store take turns (a lock in the store). The last line printed is the backup's path,
which \`restore\` and \`verify-backup\` take. Exits 78 when backups are not configured (no
BACKUP_KEY_FILE and BACKUP_ENCRYPTION not off), 1 when the backup failed.`,

  async run(args, { config, out }) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    // Not configured: refused before the store is opened (BackupConfigError, exit 78).
    backupSettings(config);
    const store = await openConfiguredStore(config, out);
    if (!store) return EXIT.failed;
    try {
      const service = new BackupService({ config, store, clock: systemClock, log: createLogger({ level: 'silent' }), ...storeHalves(store) });
      let folder: string | null;
      try {
        folder = await service.run();
      } catch (err) {
        out.warn(`backup failed: ${(err as Error).message}`);
        return EXIT.failed;
      }
      const { lastSuccess } = await service.status();
      out.say(`Backup written: ${lastSuccess?.bytes ?? 0} bytes${lastSuccess?.message ? `; ${lastSuccess.message}` : ''}.`);
      out.say(folder ?? '');
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
