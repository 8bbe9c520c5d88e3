import type { AuditActor, AuditLog } from '../audit/audit.ts';
import type { Acting } from '../auth/principal.ts';
import type { Revocations } from '../auth/revocation.ts';
import type { Clock } from '../clock.ts';
import type { ConversationService } from '../conversations/conversations.ts';
import type { Collections } from '../db.ts';
import type { DocumentService } from '../documents/documents.ts';
import { errors } from '../errors.ts';
import type { KnowledgeBaseService } from '../kb/knowledge-bases.ts';
import type { Logger } from '../logger.ts';
import { deleteInBatches } from '../retention/batches.ts';
import type { SearchSync } from '../search/sync.ts';
import type { BaseDocument, Collection, Filter } from '../store/store.ts';
import type { OrganisationDoc } from './organisations.ts';

// Deleting an organisation removes everything of it: people and credentials first (so nothing
// new arrives, and what they have open closes), then conversations, then each document the way a
// single document is deleted (chunks, index entries, extracted text, and its original unless a
// document elsewhere shares those bytes), then the usage ledger, the audit log, and whatever else
// names the organisation. What stays is one entry in the audit log of the instance owner's
// organisation saying who deleted which organisation and how much went.
//
// It runs in the background, a batch or a document at a time, so the server keeps answering; the
// organisation is marked while it runs (the listing shows the step), and a deletion cut short by
// a restart picks up where it was at the next start.

/** A type alias so the store takes it as a JSON value. */
export type OrganisationDeletion = {
  requestedAt: string;
  by: { [K in keyof AuditActor]: AuditActor[K] };
  /** The organisation of who asked: its audit log records the deletion. */
  requestedIn: string;
  ip: string | null;
  step: 'starting' | 'access' | 'conversations' | 'documents' | 'records';
};

export interface OrganisationDeletionDeps {
  organisations: Collection<OrganisationDoc>;
  /** Every collection, for the final sweep of anything else that names the organisation. */
  db: Collections;
  kbs: Pick<KnowledgeBaseService, 'list' | 'remove'>;
  documents: Pick<DocumentService, 'list' | 'remove' | 'removeKb'>;
  conversations: Pick<ConversationService, 'removeWhere'>;
  sync: Pick<SearchSync, 'remove'>;
  revocations: Pick<Revocations, 'publish'>;
  audit: Pick<AuditLog, 'record'>;
  clock: Clock;
  log: Logger;
}

class Stopping extends Error {}

export class OrganisationDeletions {
  readonly #d: OrganisationDeletionDeps;
  readonly #running = new Map<string, Promise<void>>();
  #stopping = false;

  constructor(deps: OrganisationDeletionDeps) {
    this.#d = deps;
  }

  /** Marks the organisation for deletion, ends what its people have open, and starts deleting it. */
  async request(acting: Acting, id: string, confirm: string): Promise<OrganisationDoc> {
    const { principal } = acting;
    if (id === principal.organisationId) throw errors.conflict('You cannot delete the organisation you belong to.');
    const org = await this.#d.organisations.findOne({ _id: id });
    if (!org) throw errors.notFound('organisation');
    if (confirm.trim() !== org.name) throw errors.validation([{ path: 'confirm', message: "must be the organisation's name, exactly as it is shown" }]);
    if (!org.deletion) {
      const deletion: OrganisationDeletion = { requestedAt: this.#d.clock.now().toISOString(), by: { ...principal.actor }, requestedIn: principal.organisationId, ip: acting.ip, step: 'starting' };
      await this.#d.organisations.updateOne({ _id: id, deletion: { $exists: false } }, { $set: { deletion } });
    }
    await this.#d.revocations.publish({ scope: 'organisation', id, reason: 'organisation deleted' });
    this.#start(id);
    return (await this.#d.organisations.findOne({ _id: id })) ?? org;
  }

  /** After a restart: continues every deletion that was cut short. */
  async resume(): Promise<number> {
    const marked = await this.#d.organisations.find({ deletion: { $exists: true } }, { projection: { _id: 1 } }).toArray();
    for (const { _id } of marked) this.#start(_id);
    return marked.length;
  }

  /** Settles when the deletions in progress have stopped between two steps (they resume at the next start) or finished. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.allSettled(this.#running.values());
  }

  /** Settles when the deletion of `id`, if one runs, has finished (for tests and the admin command). */
  async settled(id: string): Promise<void> {
    await this.#running.get(id);
  }

  #start(id: string): void {
    if (this.#running.has(id) || this.#stopping) return;
    const run = this.#run(id)
      .catch((err: unknown) => {
        if (err instanceof Stopping) this.#d.log.info({ organisationId: id }, 'organisation deletion paused by shutdown; it resumes at the next start');
        else this.#d.log.error({ err, organisationId: id }, 'organisation deletion failed; it is retried at the next start');
      })
      .finally(() => this.#running.delete(id));
    this.#running.set(id, run);
  }

  async #step(id: string, step: OrganisationDeletion['step']): Promise<void> {
    if (this.#stopping) throw new Stopping();
    await this.#d.organisations.updateOne({ _id: id }, { $set: { 'deletion.step': step } });
  }

  async #run(id: string): Promise<void> {
    const d = this.#d;
    const org = await d.organisations.findOne({ _id: id });
    if (!org?.deletion) return;
    const started = performance.now();
    const ofOrg = { organisationId: id };
    const counts: Record<string, number> = {};
    const sweep = async <T extends BaseDocument>(name: string, collection: Collection<T>, filter: Filter<T> = ofOrg as Filter<T>) => {
      counts[name] = (counts[name] ?? 0) + (await deleteInBatches(collection, filter));
    };

    await this.#step(id, 'access');
    await sweep('sessions', d.db.sessions);
    await sweep('apiKeys', d.db.apiKeys);
    await sweep('clientSecrets', d.db.realtimeSecrets);
    await sweep('users', d.db.users);

    await this.#step(id, 'conversations');
    const removed = await d.conversations.removeWhere(id, {});
    counts['conversations'] = removed.conversations;
    counts['messages'] = removed.messages;

    await this.#step(id, 'documents');
    counts['knowledgeBases'] = 0;
    counts['documents'] = 0;
    for (const kb of await d.kbs.list(id)) {
      // One document at a time, as a user deleting it would: the index and the store stay in step.
      for (const doc of await d.documents.list(id, kb._id)) {
        if (this.#stopping) throw new Stopping();
        await d.documents.remove(id, kb._id, doc._id);
        counts['documents']++;
      }
      await d.documents.removeKb(id, kb._id);
      await d.kbs.remove(id, kb._id);
      counts['knowledgeBases']++;
    }
    await d.sync.remove({ organisationId: id });

    await this.#step(id, 'records');
    await sweep('usage', d.db.usage);
    await sweep('audit', d.db.audit);
    // Whatever else names the organisation (records written meanwhile, or by features added later).
    for (const [name, collection] of Object.entries(d.db) as Array<[keyof Collections, Collection<BaseDocument>]>) {
      if (name === 'organisations') continue;
      await sweep(name, collection);
    }
    await sweep('jobs', d.db.jobs, { 'payload.organisationId': id });

    await d.organisations.deleteOne({ _id: id });
    const { deletion } = org;
    await d.audit.record({
      organisationId: deletion.requestedIn,
      action: 'organisation.delete',
      actor: deletion.by,
      target: { type: 'organisation', id, name: org.name },
      ip: deletion.ip,
      details: { ...Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)), requestedAt: deletion.requestedAt },
    });
    d.log.info({ organisationId: id, ms: Math.round(performance.now() - started), ...counts }, 'organisation deleted');
  }
}
