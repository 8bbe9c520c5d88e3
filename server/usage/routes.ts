import { z } from 'zod';
import { principalOf } from '../http/context.ts';
import { route } from '../http/route.ts';
import { usageGroups, type UsageLedger } from './ledger.ts';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/, 'an ISO date (YYYY-MM-DD) or UTC time');

export function usageRoutes(ledger: UsageLedger, clock: { now(): Date }) {
  return [
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
