// list-backups: what BACKUP_DIR holds, newest first, with size and what the last verify found.

import { parseArgs } from 'node:util';
import { listBackups } from '../backup/list.ts';
import { backupSettings } from '../backup/settings.ts';
import { EXIT, type AdminCommand } from './command.ts';

export const listBackupsCommand: AdminCommand = {
  name: 'list-backups',
  summary: 'List the backups in BACKUP_DIR: time, size, and whether they were verified.',
  help: `Usage: npm run admin -- list-backups

One line per backup in BACKUP_DIR, newest first: its time (UTC), its size, and the result of
the last verify-backup or restore drill of it ("not verified" when there was none). Safe while
the server runs.`,

  async run(args, { config, out }) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    const { dir } = backupSettings(config);
    const backups = await listBackups(dir);
    if (backups.length === 0) {
      out.say(`No backups in ${dir}.`);
      return EXIT.ok;
    }
    for (const b of backups) {
      const verified = b.verified ? (b.verified.ok ? `verified ${b.verified.at}` : `VERIFY FAILED ${b.verified.at}: ${b.verified.message}`) : 'not verified';
      out.say(`${b.at.toISOString()}  ${megabytes(b.bytes).padStart(10)}  ${verified}  ${b.path}`);
    }
    return EXIT.ok;
  },
};

const megabytes = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;
