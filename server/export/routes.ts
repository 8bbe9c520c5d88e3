import { Readable } from 'node:stream';
import { actingOf, type AppContext } from '../http/context.ts';
import { route } from '../http/route.ts';
import type { Exports } from './export.ts';

/** A download: named, never cached, never sniffed as something else. */
function download(ctx: AppContext, fileName: string, type: string): void {
  ctx.attachment(fileName);
  ctx.type = type;
  ctx.set('cache-control', 'no-store');
  // An export streams for as long as the client reads; the request timeout is for requests, not downloads.
  ctx.req.socket.setTimeout(0);
}

export function exportRoutes(exports: Exports) {
  return [
    route({
      method: 'get',
      path: '/organisation/export',
      summary:
        'Everything of your organisation as one ZIP, streamed: documents (originals and records), knowledge bases, conversations with their messages, audit log, usage, users and API keys (no password hashes, secrets or key hashes), and a manifest with counts and the SHA-256 of each entry. Audited (`export`).',
      tag: 'Export',
      access: 'admin',
      responses: { 200: { description: 'A ZIP archive (application/zip), streamed as it is written' } },
      handler: async (ctx) => {
        const { archive, fileName } = await exports.organisation(actingOf(ctx));
        download(ctx, fileName, 'application/zip');
        return archive.output;
      },
    }),
    route({
      method: 'get',
      path: '/me/conversations/export',
      summary: 'Your own conversations with their messages and citations, one JSON object a line (JSON Lines). Audited (`export`).',
      tag: 'Export',
      access: 'viewer',
      responses: { 200: { description: 'JSON Lines (jsonl, application/x-ndjson), streamed' } },
      handler: async (ctx) => {
        const { lines, fileName } = await exports.ownConversations(actingOf(ctx));
        download(ctx, fileName, 'application/x-ndjson');
        return Readable.from(lines);
      },
    }),
  ];
}
