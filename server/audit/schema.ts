import { z } from 'zod';

export const AuditEntry = z
  .object({
    id: z.string(),
    at: z.string(),
    action: z.string(),
    outcome: z.enum(['success', 'failure']),
    actor: z.object({ type: z.enum(['user', 'apiKey', 'anonymous', 'system']), id: z.string().nullable(), name: z.string().nullable() }),
    target: z.object({ type: z.string(), id: z.string(), name: z.string().nullable() }).nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).nullable(),
  })
  .meta({ id: 'AuditEntry' });

export const AuditPage = z.object({ entries: z.array(AuditEntry), nextCursor: z.string().nullable() });

export const AuditActionList = z.object({ actions: z.array(z.string()), groups: z.array(z.string()) });
