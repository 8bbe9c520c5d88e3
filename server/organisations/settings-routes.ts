import { z } from 'zod';
import { actingOf, principalOf } from '../http/context.ts';
import { route } from '../http/route.ts';
import { llmPolicies } from '../engines/policy.ts';
import type { OrganisationService } from './organisations.ts';
import { securitySettings, Settings, voiceSettings } from './schema.ts';
import type { RateLimits } from '../limits/rate-limits.ts';
import { applyLimitsPatch, limitsPatch } from '../limits/values.ts';
import { applyRetentionPatch, retentionInForce, retentionPatch, type Retention } from '../retention/policy.ts';

/** What an admin choosing a policy needs to know about the engines this instance has. */
export interface EngineOverview {
  local: { installed: boolean; model: string | null; reason: string | null };
  cloud: { configured: boolean; name: string | null; model: string | null; host: string | null };
}

export function settingsRoutes(organisations: OrganisationService, engines: () => EngineOverview, limits: Pick<RateLimits, 'limitsOf' | 'defaults'>, retentionDefaults: Retention) {
  const retentionOf = async (organisationId: string) => ({ retention: retentionInForce((await organisations.settings(organisationId)).retention, retentionDefaults), retentionDefaults });
  // `limits` in force, not just the organisation's overrides.
  const limitsOf = async (organisationId: string) => ({ limits: await limits.limitsOf(organisationId), limitDefaults: limits.defaults });
  return [
    route({
      method: 'get',
      path: '/settings',
      summary: "Your organisation's settings: where answers may be generated, and the engines this instance offers",
      tag: 'Settings',
      access: 'viewer',
      responses: { 200: { description: 'Settings', schema: Settings } },
      handler: async (ctx) => ({
        ...(await organisations.settings(principalOf(ctx).organisationId)),
        engines: engines(),
        ...(await limitsOf(principalOf(ctx).organisationId)),
        ...(await retentionOf(principalOf(ctx).organisationId)),
      }),
    }),
    route({
      method: 'patch',
      path: '/settings',
      summary: 'Change the engine policy (`local-only`: nothing leaves the box, `local-then-cloud` or `cloud-first`) or the rate limits and quotas',
      tag: 'Settings',
      access: 'admin',
      body: z.strictObject({
        llmPolicy: z.enum(llmPolicies).optional(),
        limits: limitsPatch.optional().describe('Rate limits and quotas to change: a number sets one for this organisation, null returns it to the default.'),
        security: securitySettings.optional(),
        voice: voiceSettings.optional(),
        retention: retentionPatch.optional().describe('Retention to change: days, null to keep for ever, or "default" to follow the instance\'s default again.'),
      }),
      responses: { 200: { description: 'Updated settings', schema: Settings } },
      handler: async (ctx, { body }) => {
        const acting = actingOf(ctx);
        const { limits: patch, retention: retentionChange, ...rest } = body;
        const changes = patch ? { ...rest, limits: applyLimitsPatch((await organisations.settings(acting.principal.organisationId)).limits, patch) } : rest;
        const retention = retentionChange ? { retention: applyRetentionPatch((await organisations.settings(acting.principal.organisationId)).retention, retentionChange) } : {};
        return { ...(await organisations.updateSettings(acting, { ...changes, ...retention })), engines: engines(), ...(await limitsOf(acting.principal.organisationId)), ...(await retentionOf(acting.principal.organisationId)) };
      },
    }),
  ];
}
