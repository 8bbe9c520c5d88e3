import type { AuditDoc, AuditLog } from '../audit/audit.ts';
import type { Clock } from '../clock.ts';
import type { ConversationService } from '../conversations/conversations.ts';
import type { Logger } from '../logger.ts';
import type { OrganisationDoc } from '../organisations/organisations.ts';
import type { Collection } from '../store/store.ts';
import type { UsageDoc } from '../usage/ledger.ts';
import { deleteInBatches } from './batches.ts';
import { retentionInForce, type Retention } from './policy.ts';

/** What one run removed from one organisation. */
export interface Purged {
  conversations: number;
  messages: number;
  audit: number;
  usage: number;
}

export interface RetentionDeps {
  organisations: Collection<OrganisationDoc>;
  conversations: Pick<ConversationService, 'removeWhere'>;
  audit: Collection<AuditDoc>;
  usage: Collection<UsageDoc>;
  auditLog: Pick<AuditLog, 'record'>;
  defaults: Retention;
  clock: Clock;
  log: Logger;
}

const DAY_MS = 86_400_000;

/**
 * The daily purge: per organisation, conversations not continued within its retention go with
 * their messages, and audit entries and usage records older than theirs. Each organisation with
 * a retention set gets one audit entry per run saying what went (that entry is new, so it stays).
 * Deletions run in batches; SQLite's secure_delete zeroes the freed pages and the store truncates
 * its write-ahead log once deletions pause, so what is purged leaves the disk. The search index
 * holds chunks of documents only, never conversations.
 */
export class RetentionService {
  readonly #d: RetentionDeps;

  constructor(deps: RetentionDeps) {
    this.#d = deps;
  }

  async run(): Promise<Map<string, Purged>> {
    const report = new Map<string, Purged>();
    const organisations = await this.#d.organisations.find({}, { sort: { _id: 1 }, projection: { _id: 1, settings: 1, deletion: 1 } }).toArray();
    for (const org of organisations) {
      // An organisation being deleted loses everything anyway.
      if (org.deletion) continue;
      const retention = retentionInForce(org.settings?.retention, this.#d.defaults);
      if (retention.conversationsDays === null && retention.auditDays === null && retention.usageDays === null) continue;
      try {
        const purged = await this.purge(org._id, retention);
        report.set(org._id, purged);
      } catch (err) {
        this.#d.log.error({ err, organisationId: org._id }, 'retention purge failed for an organisation');
      }
    }
    return report;
  }

  async purge(organisationId: string, retention: Retention): Promise<Purged> {
    const now = this.#d.clock.now().getTime();
    const cutoff = (days: number) => new Date(now - days * DAY_MS).toISOString();
    const purged: Purged = { conversations: 0, messages: 0, audit: 0, usage: 0 };
    if (retention.conversationsDays !== null) {
      Object.assign(purged, await this.#d.conversations.removeWhere(organisationId, { updatedAt: { $lt: cutoff(retention.conversationsDays) } }));
    }
    if (retention.auditDays !== null) purged.audit = await deleteInBatches(this.#d.audit, { organisationId, at: { $lt: cutoff(retention.auditDays) } });
    if (retention.usageDays !== null) purged.usage = await deleteInBatches(this.#d.usage, { organisationId, at: { $lt: cutoff(retention.usageDays) } });
    const days = (d: number | null) => d ?? 'forever';
    await this.#d.auditLog.record({
      organisationId,
      action: 'retention.purge',
      actor: { type: 'system', id: null, name: 'retention' },
      target: { type: 'organisation', id: organisationId, name: null },
      details: { ...purged, conversationsDays: days(retention.conversationsDays), auditDays: days(retention.auditDays), usageDays: days(retention.usageDays) },
    });
    if (purged.conversations + purged.audit + purged.usage > 0) this.#d.log.info({ organisationId, ...purged }, 'retention purge');
    return purged;
  }
}

/**
 * Runs the purge shortly after start, then once a day; runs never overlap. `stop()` cancels the
 * timer and waits for a run in progress (the lifecycle stops it before the store closes).
 */
export function scheduleRetention(retention: Pick<RetentionService, 'run'>, options: { firstRunMs: number; intervalMs: number; log: Logger }): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout;
  const tick = (delay: number) => {
    timer = setTimeout(() => {
      running = retention.run().catch((err: unknown) => options.log.error({ err }, 'retention purge failed'));
      void running.then(() => !stopped && tick(options.intervalMs));
    }, delay);
    timer.unref();
  };
  tick(options.firstRunMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
