import type { AuditDoc } from '../audit/audit.ts';
import type { ConversationService } from '../conversations/conversations.ts';
import type { Collection } from '../store/store.ts';
import { rewriteInBatches } from './batches.ts';

// A deleted document's words outlive it in two places besides its own records: answers that
// quoted it (their quotes and passages go, see conversations/redact.ts) and audit entries that
// named it (kept, as every audit entry is, but calling it "deleted document <id>": a file name
// is the document's data too).

export const deletedDocumentLabel = (id: string) => `deleted document ${id}`;

export class DocumentErasure {
  readonly #d: { conversations: Pick<ConversationService, 'forgetDocument'>; audit: Collection<AuditDoc> };

  constructor(deps: { conversations: Pick<ConversationService, 'forgetDocument'>; audit: Collection<AuditDoc> }) {
    this.#d = deps;
  }

  async forgetDocument(organisationId: string, kbId: string, documentId: string): Promise<void> {
    await this.#d.conversations.forgetDocument(organisationId, kbId, documentId);
    await this.forgetDocuments(organisationId, [documentId]);
  }

  async forgetDocuments(organisationId: string, documentIds: readonly string[]): Promise<void> {
    for (let i = 0; i < documentIds.length; i += 200) {
      const ids = documentIds.slice(i, i + 200);
      await rewriteInBatches(this.#d.audit, { organisationId, 'target.type': 'document', 'target.id': { $in: ids } }, (entry) =>
        entry.target && entry.target.name !== deletedDocumentLabel(entry.target.id) ? { ...entry, target: { ...entry.target, name: deletedDocumentLabel(entry.target.id) } } : null,
      );
    }
  }
}
