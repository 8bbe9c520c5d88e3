import { z } from 'zod';

const Outcome = z.object({
  at: z.string(),
  ok: z.boolean(),
  backup: z.string().nullable(),
  bytes: z.number().nullable(),
  ms: z.number(),
  message: z.string().nullable(),
});

export const BackupJob = z
  .object({
    id: z.string(),
    startedAt: z.string(),
    stage: z.enum(['waiting', 'copying', 'pruning', 'off-site', 'done', 'failed']),
    backup: z.string().nullable(),
    message: z.string().nullable(),
  })
  .meta({ id: 'BackupJob' });

export const BackupsReport = z
  .object({
    problem: z.string().nullable().describe('Why backups cannot run as configured; null when they can'),
    schedule: z.string(),
    nextRun: z.string().nullable(),
    offsite: z.boolean().describe('Each backup is also sent to a restic repository'),
    job: BackupJob.nullable().describe("This process's current or last backup started from the console or the schedule"),
    lastSuccess: Outcome.nullable(),
    lastFailure: Outcome.nullable(),
    lastDrill: Outcome.nullable().describe('The last weekly restore drill (a verify of the latest backup)'),
    backups: z.array(
      z.object({
        name: z.string(),
        at: z.string(),
        bytes: z.number(),
        verified: z.object({ at: z.string(), ok: z.boolean(), message: z.string().nullable() }).nullable(),
      }),
    ),
  })
  .meta({ id: 'Backups' });
