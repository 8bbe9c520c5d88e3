import type { Store } from './store/store.ts';
import type { AuditDoc } from './audit/audit.ts';
import type { ApiKeyDoc } from './api-keys/api-keys.ts';
import type { SessionDoc } from './auth/sessions.ts';
import type { OrganisationDoc } from './organisations/organisations.ts';
import type { UserDoc } from './users/users.ts';
import type { KbDoc } from './kb/knowledge-bases.ts';
import type { DocumentDoc, DocumentTextDoc } from './documents/documents.ts';
import type { ChunkDoc, PendingSearchChange } from './search/sync.ts';
import type { JobDoc } from './queue/embedded.ts';
import type { ConversationDoc, MessageDoc } from './conversations/conversations.ts';
import type { UsageDoc } from './usage/ledger.ts';
import type { ClientSecretDoc } from './realtime/client-secrets.ts';

/** The application's collections, typed once so no caller spells a collection name. */
export function collections(store: Store) {
  return {
    organisations: store.collection<OrganisationDoc>('organisations'),
    users: store.collection<UserDoc>('users'),
    sessions: store.collection<SessionDoc>('sessions'),
    apiKeys: store.collection<ApiKeyDoc>('api_keys'),
    audit: store.collection<AuditDoc>('audit'),
    meta: store.collection<{ _id: string; at: string; value?: string }>('meta'),
    counters: store.collection<{ _id: string; n: number }>('counters'),
    kbs: store.collection<KbDoc>('kbs'),
    documents: store.collection<DocumentDoc>('documents'),
    documentTexts: store.collection<DocumentTextDoc>('document_texts'),
    chunks: store.collection<ChunkDoc>('chunks'),
    searchPending: store.collection<PendingSearchChange>('search_pending'),
    jobs: store.collection<JobDoc>('jobs'),
    conversations: store.collection<ConversationDoc>('conversations'),
    messages: store.collection<MessageDoc>('messages'),
    usage: store.collection<UsageDoc>('usage'),
    realtimeSecrets: store.collection<ClientSecretDoc>('realtime_secrets'),
  };
}

export type Collections = ReturnType<typeof collections>;
