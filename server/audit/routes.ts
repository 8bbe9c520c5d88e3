import { Readable } from 'node:stream';
import { z } from 'zod';
import { errors } from '../errors.ts';
import { actingOf, principalOf, type AppContext } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { auditActions, auditGroups } from './actions.ts';
import { presentAuditEntry, type AuditDoc, type AuditLog, type AuditScope } from './audit.ts';
import { csvRow } from './csv.ts';
import { decodeCursor, encodeCursor, type AuditQuery } from './query.ts';
import { AuditActionList, AuditEntry, AuditPage } from './schema.ts';

type Entry = z.output<typeof AuditEntry>;

const isoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/, 'an ISO date (YYYY-MM-DD, UTC midnight) or time with its offset')
  .refine((v) => !Number.isNaN(Date.parse(v)), 'not a real date');

const filters = {
  actor: idParam.optional().describe('Only what this user or API key did (its id)'),
  action: z
    .enum([...auditActions, ...auditGroups] as [string, ...string[]])
    .optional()
    .describe('One action, or every action of a group when it ends with a dot (`document.`)'),
  from: isoTime.optional().describe('Entries at or after this time'),
  to: isoTime.optional().describe('Entries before this time (a date: before that day begins, UTC)'),
  outcome: z.enum(['success', 'failure']).optional(),
};

/** The filters as the store compares them: times as the entries write them, UTC with milliseconds. */
function auditQuery(query: { actor?: string | undefined; action?: string | undefined; from?: string | undefined; to?: string | undefined; outcome?: AuditDoc['outcome'] | undefined }): AuditQuery {
  const instant = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());
  return { actor: query.actor, action: query.action, from: instant(query.from), to: instant(query.to), outcome: query.outcome };
}

function scopeOf(ctx: AppContext): AuditScope {
  const principal = principalOf(ctx);
  return { organisationId: principal.organisationId, includeUnscoped: principal.instanceOwner };
}

const CSV_COLUMNS = ['id', 'at', 'action', 'outcome', 'actor_type', 'actor_id', 'actor_name', 'target_type', 'target_id', 'target_name', 'ip', 'details'];

function csvLine(e: Entry): string {
  return csvRow([e.id, e.at, e.action, e.outcome, e.actor.type, e.actor.id, e.actor.name, e.target?.type ?? null, e.target?.id ?? null, e.target?.name ?? null, e.ip, e.details ? JSON.stringify(e.details) : null]);
}

const formats = {
  csv: { type: 'text/csv; charset=utf-8; header=present', header: csvRow(CSV_COLUMNS), line: csvLine },
  jsonl: { type: 'application/x-ndjson; charset=utf-8', header: '', line: (e: Entry) => `${JSON.stringify(e)}\n` },
} as const;

export function auditRoutes(audit: AuditLog) {
  return [
    route({
      method: 'get',
      path: '/audit',
      summary: 'Security and access events of your organisation, newest first, filtered (the instance owner also sees events tied to no organisation)',
      tag: 'Audit',
      access: 'admin',
      query: z.strictObject({
        ...filters,
        limit: z.coerce.number().int().min(1).max(500).default(100),
        before: z.string().max(200).optional().describe("The previous page's `nextCursor`"),
      }),
      responses: {
        200: { description: 'Entries, and the cursor of the next page (null after the last)', schema: AuditPage },
      },
      handler: async (ctx, { query }) => {
        const before = query.before === undefined ? undefined : decodeCursor(query.before);
        if (before === null) throw errors.validation([{ path: 'query.before', message: 'is not a cursor this listing gave' }]);
        const { entries, next } = await audit.list(scopeOf(ctx), auditQuery(query), { limit: query.limit, before });
        return { entries: entries.map(presentAuditEntry), nextCursor: next ? encodeCursor(next) : null };
      },
    }),
    route({
      method: 'get',
      path: '/audit/export',
      summary: 'Every entry the same filters select, as CSV (RFC 4180; cells a spreadsheet would run as formulas start with a quote) or JSON Lines, streamed; the export is itself audited',
      tag: 'Audit',
      access: 'admin',
      query: z.strictObject({ ...filters, format: z.enum(['csv', 'jsonl']) }),
      responses: { 200: { description: 'text/csv or application/x-ndjson, as an attachment' } },
      handler: async (ctx, { query }) => {
        const filter = auditQuery(query);
        // Recorded before anything is sent: an export cut off halfway has still taken what it sent.
        await audit.recordFor(actingOf(ctx), {
          action: 'audit.export',
          details: { format: query.format, actor: filter.actor ?? null, action: filter.action ?? null, from: filter.from ?? null, to: filter.to ?? null, outcome: filter.outcome ?? null },
        });
        const format = formats[query.format];
        const entries = audit.entries(scopeOf(ctx), filter);
        ctx.type = format.type;
        ctx.set('content-disposition', `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.${query.format}"`);
        ctx.set('cache-control', 'no-store');
        ctx.set('x-content-type-options', 'nosniff');
        // Pulled batch by batch as the client reads, so a large log streams in bounded memory.
        return Readable.from(
          (async function* () {
            if (format.header) yield format.header;
            for await (const doc of entries) yield format.line(presentAuditEntry(doc));
          })(),
          { objectMode: false },
        );
      },
    }),
    route({
      method: 'get',
      path: '/audit/actions',
      summary: 'The actions the audit log records, and the groups the `action` filter accepts',
      tag: 'Audit',
      access: 'admin',
      responses: { 200: { description: 'Actions and groups', schema: AuditActionList } },
      handler: () => ({ actions: [...auditActions], groups: [...auditGroups] }),
    }),
  ];
}
