import type { AdminCommand } from './command.ts';
import { createOwner } from './create-owner.ts';
import { models } from './models.ts';
import { reindex } from './reindex.ts';
import { backupCommand } from './backup.ts';
import { listBackupsCommand } from './list-backups.ts';
import { resetPassword } from './reset-password.ts';
import { restoreCommand } from './restore.ts';
import { rotateDataKey } from './rotate-data-key.ts';
import { verifyBackupCommand } from './verify-backup.ts';
import { status } from './status.ts';

/** Every command of `npm run admin`, in the order `help` lists them. A new command is a file beside this one and a line here. */
export const adminCommands: readonly AdminCommand[] = [status, createOwner, resetPassword, rotateDataKey, reindex, models, backupCommand, restoreCommand, verifyBackupCommand, listBackupsCommand];
