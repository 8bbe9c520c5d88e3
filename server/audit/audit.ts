import type { Clock, Random } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { Collection, Filter } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import { newId } from '../auth/tokens.ts';
import type { Acting } from '../auth/principal.ts';
import type { AuditAction } from './actions.ts';
import { auditFilter, type AuditCursor, type AuditQuery } from './query.ts';
import { RecentKeys, type RecentKeysLimits } from './recent.ts';
import type { z } from 'zod';
import type { AuditEntry } from './schema.ts';

export type { AuditAction } from './actions.ts';

export interface AuditActor {
  /** `system`: the appliance itself (e.g. the malware scanner), acting for no one. */
  type: 'user' | 'apiKey' | 'anonymous' | 'system';
  id: string | null;
  name: string | null;
}

export interface AuditTarget {
  type: 'user' | 'apiKey' | 'organisation' | 'session' | 'conversation' | 'document' | 'kb';
  id: string;
  name: string | null;
}

export interface AuditDoc {
  _id: string;
  /** null for events that belong to no organisation, such as a login attempt for an unknown email. */
  organisationId: string | null;
  at: string;
  action: AuditAction;
  outcome: 'success' | 'failure';
  actor: AuditActor;
  target: AuditTarget | null;
  ip: string | null;
  details: Record<string, string | number | boolean | null> | null;
}

export type AuditEvent = Omit<AuditDoc, '_id' | 'at' | 'target' | 'details' | 'ip' | 'outcome'> &
  Partial<Pick<AuditDoc, 'target' | 'details' | 'ip' | 'outcome'>>;

export const anonymous: AuditActor = { type: 'anonymous', id: null, name: null };

interface AuditLogDeps {
  audit: Collection<AuditDoc>;
  clock: Clock;
  random: Random;
  log: Logger;
  /** How reads are deduplicated (`recordViewFor`); five minutes and 10,000 keys unless a test says otherwise. */
  views?: RecentKeysLimits;
}

/** Whose entries a listing may show: an organisation's, and for the instance owner also those of none. */
export interface AuditScope {
  organisationId: string;
  includeUnscoped: boolean;
}

export const defaultViewWindow: RecentKeysLimits = { windowMs: 5 * 60_000, maxKeys: 10_000 };

export class AuditLog {
  readonly #deps: AuditLogDeps;
  readonly #views: RecentKeys;

  constructor(deps: AuditLogDeps) {
    this.#deps = deps;
    this.#views = new RecentKeys(deps.clock, deps.views ?? defaultViewWindow);
  }

  async record(event: AuditEvent): Promise<void> {
    const doc: AuditDoc = { target: null, details: null, ip: null, outcome: 'success', ...event, _id: newId(this.#deps.random), at: this.#deps.clock.now().toISOString() };
    // Security events are also logged, so they reach a log shipper even if the store is lost.
    this.#deps.log.info({ audit: { action: doc.action, outcome: doc.outcome, actor: doc.actor, target: doc.target, organisationId: doc.organisationId } }, 'audit');
    await this.#deps.audit.insertOne(doc);
  }

  /** Records an event done by a principal in its own organisation, from where it acted. */
  recordFor(acting: Acting, event: Omit<AuditEvent, 'organisationId' | 'actor' | 'ip'>): Promise<void> {
    return this.record({ ...event, organisationId: acting.principal.organisationId, actor: acting.principal.actor, ip: acting.ip });
  }

  /**
   * Records a read once per actor, action and target within the view window: a document page
   * that fetches its text and passages, or is reopened, leaves one entry, not one per request.
   * Held in memory, so a restart (or more distinct reads in the window than the bound) may record
   * a read again; never less often than once per window.
   */
  async recordViewFor(acting: Acting, event: Omit<AuditEvent, 'organisationId' | 'actor' | 'ip' | 'target'> & { target: AuditTarget }): Promise<void> {
    const { actor } = acting.principal;
    const key = `${actor.type}:${actor.id ?? ''}|${event.action}|${event.target.type}:${event.target.id}`;
    if (!this.#views.claim(key)) return;
    try {
      await this.recordFor(acting, event);
    } catch (err) {
      this.#views.release(key);
      throw err;
    }
  }

  #find(scope: AuditScope, filter: Filter<AuditDoc>, limit: number): Promise<AuditDoc[]> {
    const sort = { at: -1 as const, _id: -1 as const };
    if (!scope.includeUnscoped) {
      return tenantCollection(this.#deps.audit as Collection<AuditDoc & { organisationId: string }>, scope.organisationId)
        .find(filter as Filter<AuditDoc & { organisationId: string }>, { sort, limit })
        .toArray();
    }
    return this.#deps.audit.find({ $and: [{ $or: [{ organisationId: scope.organisationId }, { organisationId: null }] }, filter] }, { sort, limit }).toArray();
  }

  /** One page, newest first, and where the next one starts (null after the last). */
  async list(scope: AuditScope, query: AuditQuery, page: { limit: number; before?: AuditCursor | undefined }): Promise<{ entries: AuditDoc[]; next: AuditCursor | null }> {
    // One more than asked tells whether another page exists without a count.
    const found = await this.#find(scope, auditFilter(query, page.before), page.limit + 1);
    const entries = found.slice(0, page.limit);
    const last = entries.at(-1);
    return { entries, next: found.length > page.limit && last ? { at: last.at, id: last._id } : null };
  }

  /** Every matching entry, newest first, read a batch at a time so a large log never sits in memory. */
  async *entries(scope: AuditScope, query: AuditQuery, batch = 500): AsyncGenerator<AuditDoc> {
    let before: AuditCursor | undefined;
    for (;;) {
      const { entries, next } = await this.list(scope, query, { limit: batch, before });
      yield* entries;
      if (!next) return;
      before = next;
    }
  }
}

/** An entry as the API (and its exports) show it. */
export function presentAuditEntry(doc: AuditDoc): z.input<typeof AuditEntry> {
  return { id: doc._id, at: doc.at, action: doc.action, outcome: doc.outcome, actor: doc.actor, target: doc.target, ip: doc.ip, details: doc.details };
}
