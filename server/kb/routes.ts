import { z } from 'zod';
import type { AuditLog } from '../audit/audit.ts';
import { changedFields } from '../audit/changes.ts';
import { actingOf, principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import type { DocumentService } from '../documents/documents.ts';
import type { ConversationService } from '../conversations/conversations.ts';
import { errors } from '../errors.ts';
import { presentKb, type KbDoc, type KnowledgeBaseService } from './knowledge-bases.ts';
import type { EmbeddingsStatus, KbSearch } from './search.ts';
import { Chunk, Kb, KbList, KbSettingsInput, Reindexed, SearchBody, SearchResponse, kbDescription, kbName } from './schema.ts';

const tag = 'Knowledge bases';
const kbParams = z.object({ kbId: idParam });
const audited = (kb: KbDoc) => ({ type: 'kb' as const, id: kb._id, name: kb.name });

export interface KbRouteDeps {
  audit: AuditLog;
  kbs: KnowledgeBaseService;
  conversations: ConversationService;
  documents: DocumentService;
  search: KbSearch;
  embeddingsStatus: () => EmbeddingsStatus;
  /** The embedding model configured for this instance; the only one a knowledge base may name. */
  embeddingModel: string;
  /** OCR languages: the instance default (OCR_LANGUAGES) and, read on each call, those installed, which a knowledge base may choose among. */
  ocrLanguages: { default: string[]; installed: () => string[] };
}

export function kbRoutes(d: KbRouteDeps) {
  const ocr = () => ({ default: d.ocrLanguages.default, installed: d.ocrLanguages.installed() });
  const present = async (kb: KbDoc) => presentKb(kb, await d.documents.stats(kb.organisationId, kb._id), d.embeddingsStatus(), ocr());
  const checkModel = (model: string | null | undefined) => {
    if (model && model !== d.embeddingModel) {
      throw errors.validation([{ path: 'settings.embeddingModel', message: `this instance embeds with ${d.embeddingModel} (EMBEDDING_MODEL); use it or null` }]);
    }
  };
  const checkOcrLanguages = (languages: string[] | null | undefined) => {
    const installed = d.ocrLanguages.installed();
    const missing = (languages ?? []).filter((code) => !installed.includes(code));
    if (missing.length > 0) {
      const names = missing.map((code) => `"${code}"`).join(', ');
      throw errors.validation([
        {
          path: 'settings.ocrLanguages',
          message: `OCR language ${names} ${missing.length === 1 ? 'is' : 'are'} not installed; installed: ${installed.join(', ') || 'none'}. An administrator adds one with npm install @tesseract.js-data/<code> (or Debian's tesseract-ocr-<code>)`,
        },
      ]);
    }
  };

  return [
    route({
      method: 'get',
      path: '/kbs',
      summary: "List your organisation's knowledge bases",
      tag,
      access: 'viewer',
      responses: { 200: { description: 'Knowledge bases', schema: KbList } },
      handler: async (ctx) => ({ kbs: await Promise.all((await d.kbs.list(principalOf(ctx).organisationId)).map(present)) }),
    }),
    route({
      method: 'post',
      path: '/kbs',
      summary: 'Create a knowledge base',
      tag,
      access: 'editor',
      body: z.strictObject({ name: kbName, description: kbDescription.optional(), settings: KbSettingsInput.optional() }),
      status: 201,
      responses: { 201: { description: 'Created', schema: Kb } },
      handler: async (ctx, { body }) => {
        checkModel(body.settings?.embeddingModel);
        checkOcrLanguages(body.settings?.ocrLanguages);
        const kb = await d.kbs.create(principalOf(ctx).organisationId, body);
        await d.audit.recordFor(actingOf(ctx), { action: 'kb.create', target: audited(kb) });
        return present(kb);
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId',
      summary: 'A knowledge base with its settings and document counts',
      tag,
      access: 'viewer',
      params: kbParams,
      responses: { 200: { description: 'The knowledge base', schema: Kb }, 404: { description: 'No such knowledge base in your organisation' } },
      handler: async (ctx, { params }) => present(await d.kbs.get(principalOf(ctx).organisationId, params.kbId)),
    }),
    route({
      method: 'patch',
      path: '/kbs/:kbId',
      summary: 'Rename, describe or change the settings of a knowledge base (new chunking settings re-index it)',
      tag,
      access: 'editor',
      params: kbParams,
      body: z.strictObject({ name: kbName.optional(), description: kbDescription.optional(), settings: KbSettingsInput.optional() }),
      responses: { 200: { description: 'Updated', schema: Kb }, 404: { description: 'No such knowledge base' } },
      handler: async (ctx, { params, body }) => {
        checkModel(body.settings?.embeddingModel);
        checkOcrLanguages(body.settings?.ocrLanguages);
        const organisationId = principalOf(ctx).organisationId;
        const before = await d.kbs.get(organisationId, params.kbId);
        const { kb, chunkingChanged } = await d.kbs.update(organisationId, params.kbId, body);
        if (chunkingChanged) await d.documents.reindexKb(organisationId, kb._id);
        // A description is free text: that it changed is recorded, not what it says.
        const changes = { ...changedFields({ name: before.name, settings: before.settings }, { name: kb.name, settings: kb.settings }), ...(before.description === kb.description ? {} : { description: 'changed' }) };
        if (Object.keys(changes).length > 0) await d.audit.recordFor(actingOf(ctx), { action: 'kb.update', target: audited(kb), details: { ...changes, reindexed: chunkingChanged } });
        return present(kb);
      },
    }),
    route({
      method: 'delete',
      path: '/kbs/:kbId',
      summary: 'Delete a knowledge base with all its documents, chunks and files',
      tag,
      access: 'editor',
      params: kbParams,
      status: 204,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such knowledge base' } },
      handler: async (ctx, { params }) => {
        const organisationId = principalOf(ctx).organisationId;
        const kb = await d.kbs.get(organisationId, params.kbId);
        const { documents } = await d.documents.stats(organisationId, kb._id);
        await d.documents.removeKb(organisationId, params.kbId);
        await d.conversations.removeForKb(organisationId, params.kbId);
        await d.kbs.remove(organisationId, params.kbId);
        await d.audit.recordFor(actingOf(ctx), { action: 'kb.delete', target: audited(kb), details: { documents } });
      },
    }),
    route({
      method: 'post',
      path: '/kbs/:kbId/reindex',
      summary: 'Process every document of the knowledge base again',
      tag,
      access: 'editor',
      params: kbParams,
      status: 202,
      responses: { 202: { description: 'Queued', schema: Reindexed } },
      handler: async (ctx, { params }) => {
        const organisationId = principalOf(ctx).organisationId;
        const kb = await d.kbs.get(organisationId, params.kbId);
        const documents = await d.documents.reindexKb(organisationId, params.kbId);
        await d.audit.recordFor(actingOf(ctx), { action: 'kb.reindex', target: audited(kb), details: { documents } });
        return { documents };
      },
    }),
    route({
      method: 'post',
      path: '/kbs/:kbId/search',
      summary: 'Search a knowledge base: keyword, vector or hybrid',
      tag,
      access: 'viewer',
      limit: 'searches',
      params: kbParams,
      body: SearchBody,
      responses: {
        200: { description: 'Hits, best first', schema: SearchResponse },
      },
      handler: async (ctx, { params, body }) => {
        const organisationId = principalOf(ctx).organisationId;
        const kb = await d.kbs.get(organisationId, params.kbId);
        return d.search.search({ organisationId, kbId: kb._id, query: body.query, k: body.k, mode: body.mode ?? kb.settings.retrievalMode, documentIds: body.documentIds });
      },
    }),
    route({
      method: 'get',
      path: '/kbs/:kbId/chunks/:chunkId',
      summary: 'One chunk: the passage a citation points at',
      tag,
      access: 'viewer',
      params: z.object({ kbId: idParam, chunkId: z.string().regex(/^[a-z2-7]{1,64}-\d{1,7}$/) }),
      responses: {
        200: { description: 'The chunk', schema: Chunk },
      },
      handler: async (ctx, { params }) => {
        const c = await d.search.chunk(principalOf(ctx).organisationId, params.kbId, params.chunkId);
        if (!c) throw errors.notFound('chunk');
        await d.audit.recordViewFor(actingOf(ctx), { action: 'document.view', target: { type: 'document', id: c.documentId, name: c.documentName }, details: { kbId: params.kbId } });
        return {
          id: c._id,
          documentId: c.documentId,
          documentName: c.documentName,
          firstPage: c.page,
          lastPage: c.pageEnd,
          pages: c.pages ?? [],
          headings: c.headings,
          text: c.text,
          start: c.start,
          end: c.end,
        };
      },
    }),
  ];
}
