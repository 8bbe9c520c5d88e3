import { z } from 'zod';
import { roleAtLeast } from '../auth/roles.ts';
import { principalOf } from '../http/context.ts';
import { route } from '../http/route.ts';
import { usageGroups, type UsageLedger } from './ledger.ts';
import type { RateLimits } from '../limits/rate-limits.ts';
import { LimitsReport, UsageReport } from './schema.ts';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/, 'an ISO date (YYYY-MM-DD) or UTC time');

export function usageRoutes(ledger: UsageLedger, clock: { now(): Date }, limits: Pick<RateLimits, 'report' | 'limitsOf'>) {
  return [
    route({
      method: 'get',
      path: '/usage/limits',
      summary: "The rate limits and quotas that apply to you, what you (and, for admins, the organisation) used of each in the current window, and today's refusals",
      tag: 'Usage',
      access: 'viewer',
      responses: { 200: { description: 'Limits and use', schema: LimitsReport } },
      handler: async (ctx) => {
        const principal = principalOf(ctx);
        const admin = roleAtLeast(principal.role, 'admin');
        const usage = (await limits.report(principal)).map((r) => ({
          ...r,
          organisation: admin ? r.organisation : null,
          refusedToday: { caller: r.refusedToday.caller, organisation: admin ? r.refusedToday.organisation : null },
        }));
        return { limits: await limits.limitsOf(principal.organisationId), usage };
      },
    }),
    route({
      method: 'get',
      path: '/usage',
      summary: 'Usage and cost per day, user, knowledge base or engine within [from, to) (default: the last 30 days)',
      tag: 'Usage',
      access: 'admin',
      query: z.strictObject({ groupBy: z.enum(usageGroups).default('day'), from: isoDate.optional(), to: isoDate.optional() }),
      responses: {
        200: {
          description: 'Totals per group',
          schema: UsageReport,
        },
      },
      handler: async (ctx, { query }) => {
        const now = clock.now();
        const to = query.to ?? new Date(now.getTime() + 86_400_000).toISOString().slice(0, 10);
        const from = query.from ?? new Date(now.getTime() - 30 * 86_400_000).toISOString().slice(0, 10);
        const rows = await ledger.summarise(principalOf(ctx).organisationId, query.groupBy, { from, to });
        return { groupBy: query.groupBy, from, to, rows };
      },
    }),
  ];
}
