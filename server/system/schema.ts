import { z } from 'zod';
import { modelRoles } from './catalog.ts';

const ComponentReport = z.object({
  name: z.string(),
  kind: z.string(),
  state: z.enum(['ok', 'degraded', 'loading', 'down']),
  message: z.string().optional(),
  ms: z.number(),
});

export const HealthReport = z.object({ status: z.enum(['ready', 'loading', 'not_ready']), components: z.array(ComponentReport) });

export const ModelsStatus = z.object({
  roles: z.array(
    z.object({
      role: z.enum(modelRoles),
      using: z.string().nullable(),
      note: z.string(),
      installed: z.array(z.object({ id: z.string(), name: z.string() })),
      missing: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          profiles: z.array(z.string()),
          missingFiles: z.array(z.string()),
          sizeBytes: z.number().int().nullable().describe('All its files together; null when the manifest leaves a size open'),
        }),
      ),
    }),
  ),
  fetchCommand: z.string(),
});

/** A model download started from the System page (server/models/downloads.ts). */
export const ModelDownload = z
  .object({
    model: z.string(),
    state: z.enum(['queued', 'running', 'done', 'failed']),
    bytes: z.number().int().describe('Bytes of the model in place so far, finished files and partial ones'),
    totalBytes: z.number().int().nullable().describe('The size of all its files; null when the manifest leaves one open'),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'ModelDownload' });

export const ModelDownloads = z.object({ downloads: z.array(ModelDownload) });

export const ModelParams = z.object({ id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/) });

export const DiskStatus = z.object({
  /** What the numbers are of: the filesystem holding DATA_DIR. */
  of: z.literal('DATA_DIR'),
  freeBytes: z.number(),
  totalBytes: z.number(),
});

/** The last day (or less), a point per minute, for the System page's charts. */
export const SystemHistory = z
  .object({
    points: z.array(
      z.object({
        at: z.string(),
        requests: z.number().int(),
        serverErrors: z.number().int(),
        p95Ms: z.number().nullable(),
        answers: z.number().int(),
        firstAudioMs: z.number().nullable(),
        documents: z.number().int(),
        pages: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'SystemHistory' });

export const HistoryQuery = z.strictObject({ minutes: z.coerce.number().int().min(1).max(1440).default(180) });
