import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Acting, Principal } from '../auth/principal.ts';
import type { AuditLog } from '../audit/audit.ts';
import type { Clock } from '../clock.ts';
import { presentConversation, presentMessage, type ConversationDoc, type ConversationService } from '../conversations/conversations.ts';
import type { Collections } from '../db.ts';
import { presentDocument, type DocumentDoc, type DocumentService } from '../documents/documents.ts';
import { errors } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { BaseDocument, Collection, Filter } from '../store/store.ts';
import { presentUser } from '../users/users.ts';
import { jsonLines, ZipArchive } from './archive.ts';

// What an organisation admin downloads: everything of the organisation as one ZIP —
//   manifest.json            format, who exported when, counts, and each entry's size and SHA-256
//   organisation.json        name, creation date, settings
//   users.jsonl              people (no password hashes, two-step secrets or recovery codes)
//   api-keys.jsonl           names, roles, who made them, use (no secret hashes)
//   knowledge-bases.jsonl
//   documents.jsonl          each document's record, and where its original is in the archive
//   documents/<id>/<name>    the originals, as uploaded (decrypted when encryption at rest is on)
//   conversations.jsonl      one conversation a line, with its messages
//   audit.jsonl, usage.jsonl oldest first
// and what a person downloads: their own conversations, one a line.

export const EXPORT_FORMAT = 'lectern-organisation-export';

export interface ExportDeps {
  db: Pick<Collections, 'organisations' | 'users' | 'apiKeys' | 'kbs' | 'documents' | 'audit' | 'usage'>;
  documents: Pick<DocumentService, 'openFile'>;
  conversations: Pick<ConversationService, 'withMessages'>;
  audit: Pick<AuditLog, 'recordFor'>;
  clock: Clock;
  log: Logger;
}

const PAGE = 500;

/** Every record matching `filter`, in `order` (then `_id`), read a page at a time. */
async function* records<T extends BaseDocument>(collection: Collection<T>, filter: Filter<T>, order: keyof T & string = '_id'): AsyncGenerator<T> {
  let last: { key: unknown; id: string } | null = null;
  for (;;) {
    const after: Filter<T> | null =
      last === null ? null : order === '_id' ? ({ _id: { $gt: last.id } } as unknown as Filter<T>) : ({ $or: [{ [order]: { $gt: last.key } }, { [order]: last.key, _id: { $gt: last.id } }] } as unknown as Filter<T>);
    const page: T[] = await collection.find(after ? ({ $and: [filter, after] } as Filter<T>) : filter, { sort: { [order]: 1, _id: 1 }, limit: PAGE }).toArray();
    if (page.length === 0) return;
    yield* page;
    const tail: T = page.at(-1)!;
    last = { key: tail[order], id: tail._id };
    await nextTurn();
  }
}

/** A file name that is one safe path segment of a ZIP entry. */
function entryName(name: string): string {
  const safe = name.replace(/[\p{Cc}/\\:*?"<>|]/gu, '_').replace(/^\.+/, '_').slice(0, 200);
  return safe || 'original';
}

const conversationLine = ({ conversation, messages }: { conversation: ConversationDoc; messages: Parameters<typeof presentMessage>[0][] }) => ({
  ...presentConversation(conversation),
  messages: messages.map(presentMessage),
});

export class Exports {
  readonly #d: ExportDeps;

  constructor(deps: ExportDeps) {
    this.#d = deps;
  }

  /**
   * Starts writing the organisation's archive and returns it at once: the caller hands
   * `archive.output` to the response, and entries are produced as the client reads.
   */
  async organisation(acting: Acting): Promise<{ archive: ZipArchive; fileName: string }> {
    const { organisationId } = acting.principal;
    const org = await this.#d.db.organisations.findOne({ _id: organisationId });
    if (!org) throw errors.notFound('organisation');
    await this.#d.audit.recordFor(acting, { action: 'export', target: { type: 'organisation', id: organisationId, name: null }, details: { scope: 'organisation' } });
    const now = this.#d.clock.now();
    const archive = new ZipArchive(now);
    this.#writeOrganisation(archive, acting.principal, org, now).catch((err: unknown) => {
      if (err instanceof Error && err.name === 'ArchiveAbandoned') return;
      this.#d.log.error({ err, organisationId }, 'organisation export failed');
      archive.fail(err instanceof Error ? err : new Error(String(err)));
    });
    return { archive, fileName: `lectern-export-${now.toISOString().slice(0, 10)}.zip` };
  }

  async #writeOrganisation(archive: ZipArchive, principal: Principal, org: NonNullable<Awaited<ReturnType<ExportDeps['db']['organisations']['findOne']>>>, now: Date): Promise<void> {
    const { db } = this.#d;
    const ofOrg = { organisationId: org._id };
    const counts: Record<string, number> = {};
    const counted = async function* <T>(name: string, values: AsyncIterable<T>): AsyncGenerator<T> {
      counts[name] = 0;
      for await (const value of values) {
        counts[name]++;
        yield value;
      }
    };

    await archive.add('organisation.json', [`${JSON.stringify({ id: org._id, name: org.name, createdAt: org.createdAt, settings: org.settings ?? {} }, null, 2)}\n`]);
    await archive.add('users.jsonl', jsonLines(counted('users', records(db.users, ofOrg, 'createdAt')), presentUser));
    await archive.add(
      'api-keys.jsonl',
      jsonLines(counted('apiKeys', records(db.apiKeys, ofOrg, 'createdAt')), (k) => ({ id: k._id, name: k.name, role: k.role, createdAt: k.createdAt, createdBy: k.createdBy, lastUsedAt: k.lastUsedAt, revokedAt: k.revokedAt })),
    );
    await archive.add(
      'knowledge-bases.jsonl',
      jsonLines(counted('knowledgeBases', records(db.kbs, ofOrg, 'createdAt')), (kb) => ({ id: kb._id, name: kb.name, description: kb.description, settings: kb.settings, createdAt: kb.createdAt, updatedAt: kb.updatedAt })),
    );

    // The records first, then each original: a document's line says where its original is, or why it is not there.
    const originals: Array<{ doc: DocumentDoc; entry: string }> = [];
    await archive.add(
      'documents.jsonl',
      jsonLines(counted('documents', records(db.documents, ofOrg, 'createdAt')), (doc) => {
        const entry = `documents/${doc._id}/${entryName(doc.name)}`;
        const withheld = doc.scan?.result === 'infected' ? 'quarantined: the malware scanner flagged it' : null;
        if (!withheld) originals.push({ doc, entry });
        return { ...presentDocument(doc), original: withheld ? null : entry, ...(withheld ? { originalWithheld: withheld } : {}) };
      }),
    );
    counts['originals'] = 0;
    for (const { doc, entry } of originals) {
      let stream: NodeJS.ReadableStream;
      try {
        ({ stream } = await this.#d.documents.openFile(org._id, doc.kbId, doc._id));
      } catch (err) {
        // Not yet scanned, quarantined meanwhile, or deleted meanwhile: listed, without its bytes.
        this.#d.log.info({ err, documentId: doc._id }, 'export: an original was left out');
        continue;
      }
      await archive.add(entry, stream as unknown as AsyncIterable<Uint8Array>);
      counts['originals']++;
    }

    await archive.add('conversations.jsonl', jsonLines(counted('conversations', this.#d.conversations.withMessages(org._id, {})), conversationLine));
    await archive.add(
      'audit.jsonl',
      jsonLines(counted('auditEntries', records(db.audit, ofOrg, 'at')), (a) => ({ id: a._id, at: a.at, action: a.action, outcome: a.outcome, actor: a.actor, target: a.target, ip: a.ip, details: a.details })),
    );
    await archive.add('usage.jsonl', jsonLines(counted('usageRecords', records(db.usage, ofOrg, 'at')), ({ _id, ...u }) => ({ id: _id, ...u })));

    const manifest = {
      format: EXPORT_FORMAT,
      version: 1,
      exportedAt: now.toISOString(),
      exportedBy: principal.actor,
      organisation: { id: org._id, name: org.name },
      counts,
      entries: archive.entries,
    };
    archive.finish('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /** The caller's own conversations (a person's, or an API key's), one JSON line each with its messages. */
  async ownConversations(acting: Acting): Promise<{ lines: AsyncIterable<string>; fileName: string }> {
    const { principal } = acting;
    const own: Filter<ConversationDoc> = principal.userId ? { userId: principal.userId } : { apiKeyId: principal.apiKeyId };
    await this.#d.audit.recordFor(acting, { action: 'export', target: null, details: { scope: 'own conversations' } });
    return {
      lines: jsonLines(this.#d.conversations.withMessages(principal.organisationId, own), conversationLine),
      fileName: `lectern-conversations-${this.#d.clock.now().toISOString().slice(0, 10)}.jsonl`,
    };
  }
}
