import { z } from 'zod';
import { limitNames } from '../limits/rate-limits.ts';
import { limitKeys, limitValuesSchema } from '../limits/values.ts';
import { usageGroups } from './ledger.ts';

const Standing = z.object({
  limit: z.number().describe('0: not limited.'),
  used: z.number(),
  resetSeconds: z.number().nullable().describe('Until the window starts afresh; null for open sessions.'),
});

export const LimitsReport = z.object({
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

export const UsageReport = z.object({
  groupBy: z.enum(usageGroups),
  from: z.string(),
  to: z.string(),
  rows: z.array(
    z.object({
      key: z.string().describe('A day (YYYY-MM-DD, UTC), a user id or `apiKey:<id>`, a knowledge-base id, or an engine name'),
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
});
