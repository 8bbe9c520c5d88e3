import { z } from 'zod';
import { roleAtLeast } from '../auth/roles.ts';
import { principalOf } from '../http/context.ts';
import { route } from '../http/route.ts';
import { usageGroups, type UsageLedger } from './ledger.ts';
import { limitNames, type RateLimits } from '../limits/rate-limits.ts';
import { limitKeys, limitValuesSchema } from '../limits/values.ts';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/, 'an ISO date (YYYY-MM-DD) or UTC time');

const Standing = z.object({
  limit: z.number().describe('0: not limited.'),
  used: z.number(),
  resetSeconds: z.number().nullable().describe('Until the window starts afresh; null for open sessions.'),
});

const LimitsReport = z.object({
  limits: limitValuesSchema,
  usage: z.array(
    z.object({
      name: z.enum(limitNames),
      setting: z.enum(limitKeys).describe('The setting that holds this limit (`settings.limits.<setting>`).'),
      window: z.enum(['minute', 'day', 'open']).describe('A minute from the first use, a UTC day, or what is open right now.'),
      caller: Standing.describe('You (this user, or this API key), in the limit\'s unit: files, searches, questions, sessions, minutes of voice input.'),
      organisation: Standing.nullable().describe('The organisation as a whole; admins only.'),
      refusedToday: z.object({ caller: z.number(), organisation: z.number().nullable() }).describe('Requests refused with 429 today (UTC) for this limit.'),
    }),
  ),
});

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
          schema: z.object({
            groupBy: z.enum(usageGroups),
            from: z.string(),
            to: z.string(),
            rows: z.array(
              z.object({
                key: z.string(),
                messages: z.number(),
                promptTokens: z.number(),
                completionTokens: z.number(),
                cachedPromptTokens: z.number(),
                cost: z.number(),
                cloudMessages: z.number(),
                avgFirstTokenMs: z.number().nullable(),
                avgTotalMs: z.number(),
                audioInSeconds: z.number().describe('Speech received in realtime voice turns.'),
                audioOutSeconds: z.number().describe('Speech synthesised and sent.'),
                charactersSynthesised: z.number(),
              }),
            ),
          }),
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
