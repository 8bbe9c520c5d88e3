import { errors } from '../errors.ts';
import { route } from '../http/route.ts';
import { BackupJob, BackupsReport } from './schema.ts';
import type { BackupService } from './service.ts';

/** Backups are the instance's, not an organisation's: for the instance owner. */
export function backupRoutes(backups: BackupService) {
  return [
    route({
      method: 'get',
      path: '/system/backups',
      summary: 'Backups in BACKUP_DIR (time, size, verified), the running job, the last success, failure and restore drill',
      tag: 'System',
      access: 'instanceOwner',
      responses: { 200: { description: 'The backups and their status', schema: BackupsReport } },
      handler: async () => {
        const { dir: _dir, ...status } = await backups.status();
        const list = await backups.list();
        return { ...status, backups: list.map((b) => ({ name: b.name, at: b.at.toISOString(), bytes: b.bytes, verified: b.verified })) };
      },
    }),
    route({
      method: 'post',
      path: '/system/backups',
      summary: 'Start a backup now; follow it in GET /system/backups (job)',
      tag: 'System',
      access: 'instanceOwner',
      status: 202,
      responses: { 202: { description: 'Started (or the one already running)', schema: BackupJob }, 409: { description: 'Backups are not configured (`backups_not_configured`)' } },
      handler: async () => {
        const { problem } = await backups.status();
        if (problem) throw errors.backupsNotConfigured(problem);
        return backups.start();
      },
    }),
  ];
}
