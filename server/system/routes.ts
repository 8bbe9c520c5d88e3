import { z } from 'zod';
import { route } from '../http/route.ts';
import type { Readiness } from '../ops/health.ts';
import { modelRoles, scanModels, type ModelRole } from './catalog.ts';

/** What each role runs on right now, as the live engines report it. */
export type RoleInUse = Record<ModelRole, { using: string | null; note: string }>;

const ComponentReport = z.object({
  name: z.string(),
  kind: z.string(),
  state: z.enum(['ok', 'degraded', 'loading', 'down']),
  message: z.string().optional(),
  ms: z.number(),
});

export function systemRoutes(d: { modelsDir: string; manifestPath: string; inUse: () => RoleInUse; readiness: Pick<Readiness, 'report'> }) {
  return [
    route({
      method: 'get',
      path: '/system/health',
      summary: "Readiness of every component with its implementation and state: what /readyz tells a probe on the host itself",
      tag: 'System',
      access: 'instanceOwner',
      responses: {
        200: {
          description: 'The readiness report',
          schema: z.object({ status: z.enum(['ready', 'loading', 'not_ready']), components: z.array(ComponentReport) }),
        },
      },
      handler: () => d.readiness.report(),
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
          schema: z.object({
            roles: z.array(
              z.object({
                role: z.enum(modelRoles),
                using: z.string().nullable(),
                note: z.string(),
                installed: z.array(z.object({ id: z.string(), name: z.string() })),
                missing: z.array(z.object({ id: z.string(), name: z.string(), profiles: z.array(z.string()), missingFiles: z.array(z.string()) })),
              }),
            ),
            fetchCommand: z.string(),
          }),
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
