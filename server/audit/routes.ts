import { z } from 'zod';
import { principalOf } from '../http/context.ts';
import { route } from '../http/route.ts';
import type { AuditDoc, AuditLog } from './audit.ts';

const AuditEntry = z
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

function present(doc: AuditDoc): z.output<typeof AuditEntry> {
  return { id: doc._id, at: doc.at, action: doc.action, outcome: doc.outcome, actor: doc.actor, target: doc.target, ip: doc.ip, details: doc.details };
}

export function auditRoutes(audit: AuditLog) {
  return [
    route({
      method: 'get',
      path: '/audit',
      summary: "Security events of your organisation, newest first (the instance owner also sees events tied to no organisation)",
      tag: 'Audit',
      access: 'admin',
      query: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
      responses: { 200: { description: 'Entries', schema: z.object({ entries: z.array(AuditEntry) }) } },
      handler: async (ctx, { query }) => {
        const principal = principalOf(ctx);
        const entries = await audit.list(principal.organisationId, { limit: query.limit, includeUnscoped: principal.instanceOwner });
        return { entries: entries.map(present) };
      },
    }),
  ];
}
