import { route } from '../http/route.ts';
import type { Readiness } from '../ops/health.ts';
import { modelRoles, scanModels, type ModelRole } from './catalog.ts';
import { diskSpace } from './disk.ts';
import type { MetricsHistory } from '../metrics/history.ts';
import { DiskStatus, HealthReport, HistoryQuery, ModelsStatus, SystemHistory } from './schema.ts';

/** What each role runs on right now, as the live engines report it. */
export type RoleInUse = Record<ModelRole, { using: string | null; note: string }>;

export function systemRoutes(d: { dataDir: string; modelsDir: string; manifestPath: string; inUse: () => RoleInUse; readiness: Pick<Readiness, 'report'>; history: Pick<MetricsHistory, 'points'> }) {
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
            missing: scanned[role].filter((m) => !m.installed).map(({ id, name, profiles, missingFiles }) => ({ id, name, profiles, missingFiles })),
          })),
          fetchCommand: 'npm run models -- --profile small',
        };
      },
    }),
  ];
}
