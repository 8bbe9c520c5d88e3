import type { Logger } from './logger.ts';
import type { Clock } from './clock.ts';
import type { Collections } from './db.ts';
import { withLeaseLock, type LeaseOptions } from './store/lease-lock.ts';
import { isIndexNotFoundError, type Store } from './store/store.ts';

export interface Migration {
  id: string;
  up(db: Collections): Promise<void>;
}

// Ordered, append-only. Each runs once per data directory or database; its id is recorded so a
// restart skips it. Index creation is idempotent, so a crash between `up` and the record is safe.
export const migrations: Migration[] = [
  {
    id: '0001-identity-indexes',
    async up(db) {
      await db.users.createIndex({ email: 1 }, { unique: true });
      await db.users.createIndex({ organisationId: 1, createdAt: 1 });
      await db.sessions.createIndex({ userId: 1 });
      await db.sessions.createIndex({ expiresAt: 1 });
      await db.apiKeys.createIndex({ organisationId: 1, createdAt: 1 });
      await db.audit.createIndex({ organisationId: 1, at: -1 });
      await db.organisations.createIndex({ createdAt: 1 });
    },
  },
  {
    id: '0002-knowledge-indexes',
    async up(db) {
      await db.kbs.createIndex({ organisationId: 1, name: 1 });
      await db.documents.createIndex({ organisationId: 1, kbId: 1, createdAt: -1 });
      // The same content once per knowledge base: uploads are recognised by hash.
      await db.documents.createIndex({ kbId: 1, sha256: 1 }, { unique: true });
      await db.documents.createIndex({ sha256: 1 });
      await db.documents.createIndex({ status: 1 });
      await db.documentTexts.createIndex({ organisationId: 1, kbId: 1 });
      await db.chunks.createIndex({ organisationId: 1, documentId: 1 });
      await db.chunks.createIndex({ organisationId: 1, kbId: 1 });
      await db.jobs.createIndex({ status: 1, runAt: 1 });
    },
  },
  {
    id: '0003-answer-indexes',
    async up(db) {
      await db.conversations.createIndex({ organisationId: 1, updatedAt: -1 });
      await db.conversations.createIndex({ organisationId: 1, kbId: 1 });
      await db.messages.createIndex({ organisationId: 1, conversationId: 1, createdAt: 1 });
      await db.usage.createIndex({ organisationId: 1, at: 1 });
    },
  },
  {
    // The audit listing's filters (actor, action) and the instance owner's view across organisations,
    // which without `at` alone scans the whole log for every page.
    id: '0004-audit-filter-indexes',
    async up(db) {
      await db.audit.createIndex({ organisationId: 1, action: 1, at: -1 });
      await db.audit.createIndex({ organisationId: 1, 'actor.id': 1, at: -1 });
      await db.audit.createIndex({ at: -1 });
    },
  },
  {
    // An address is unique within an organisation, not across the instance: refusing a member's
    // address because another organisation has it told that organisation's admin it exists.
    id: '0005-email-unique-per-organisation',
    async up(db) {
      await db.users.createIndex({ organisationId: 1, email: 1 }, { unique: true });
      await db.users.dropIndex('email_1').catch((err: unknown) => {
        if (!isIndexNotFoundError(err)) throw err;
      });
      await db.users.createIndex({ email: 1 });
    },
  },
  {
    // Extracted text is stored in parts (documents/text-parts.ts), found by their document.
    id: '0006-document-text-parts',
    async up(db) {
      await db.documentTexts.createIndex({ organisationId: 1, documentId: 1, part: 1 });
    },
  },
];

/**
 * Applies the migrations not yet recorded, each exactly once however many processes start on one
 * store at the same time: they queue on a lease lock, and each re-reads the record once it holds it,
 * so a process that waited finds the migrations done and skips them. `lease` tunes the lock (tests).
 */
export async function migrate(
  store: Store,
  db: Collections,
  clock: Clock,
  log: Logger,
  list: Migration[] = migrations,
  lease: Omit<LeaseOptions, 'clock'> = {},
): Promise<string[]> {
  const applied = store.collection<{ _id: string; at: string }>('migrations');
  const pending = async () => {
    const done = new Set((await applied.find({}).toArray()).map((m) => m._id));
    return list.filter((migration) => !done.has(migration.id));
  };
  // Every start but the first after an upgrade finds nothing to do, and takes no lock.
  if ((await pending()).length === 0) return [];
  return withLeaseLock(store, 'migrations', { ...lease, clock }, async (signal) => {
    const ran: string[] = [];
    for (const migration of await pending()) {
      // Without the lease another process may be migrating now: stop before the next step.
      signal.throwIfAborted();
      log.info({ migration: migration.id }, 'applying migration');
      await migration.up(db);
      await applied.insertOne({ _id: migration.id, at: clock.now().toISOString() });
      ran.push(migration.id);
    }
    return ran;
  });
}
