import type { BaseDocument, Store } from './store/store.ts';
import type { Keyring } from './crypto/data-key.ts';
import { sealedCollection } from './crypto/sealed-collection.ts';
import type { AuditDoc } from './audit/audit.ts';
import type { ApiKeyDoc } from './api-keys/api-keys.ts';
import type { SessionDoc } from './auth/sessions.ts';
import type { LoginChallengeDoc } from './auth/login-challenges.ts';
import type { OrganisationDoc } from './organisations/organisations.ts';
import type { UserDoc } from './users/users.ts';
import type { KbDoc } from './kb/knowledge-bases.ts';
import type { DocumentDoc, DocumentTextDoc } from './documents/documents.ts';
import type { ChunkDoc, PendingSearchChange } from './search/sync.ts';
import type { JobDoc } from './queue/store-queue.ts';
import type { ConversationDoc, MessageDoc } from './conversations/conversations.ts';
import type { UsageDoc } from './usage/ledger.ts';
import type { ClientSecretDoc } from './realtime/client-secrets.ts';

/**
 * The fields that carry documents' text and what people asked of them: sealed under the data key
 * when encryption at rest is on (none of them can be queried, sorted or indexed on).
 */
export const SEALED_FIELDS = {
  document_texts: ['blocks'] satisfies Array<keyof DocumentTextDoc>,
  chunks: ['text', 'headings'] satisfies Array<keyof ChunkDoc>,
  conversations: ['title'] satisfies Array<keyof ConversationDoc>,
  messages: ['content', 'citations', 'transcript', 'generatedContent', 'searches', 'feedback'] satisfies Array<keyof MessageDoc>,
  /** Two-step sign-in keys: whoever holds one makes the codes. */
  users: ['totpSecret', 'totpPendingSecret'] satisfies Array<keyof UserDoc>,
};

/** The application's collections, typed once so no caller spells a collection name. `keys`: the data key, when encryption at rest is on. */
export function collections(store: Store, keys: Keyring | null) {
  const sealed = <T extends BaseDocument>(name: keyof typeof SEALED_FIELDS) => sealedCollection(store.collection<T>(name), SEALED_FIELDS[name], keys);
  return {
    organisations: store.collection<OrganisationDoc>('organisations'),
    users: sealed<UserDoc>('users'),
    sessions: store.collection<SessionDoc>('sessions'),
    loginChallenges: store.collection<LoginChallengeDoc>('login_challenges'),
    apiKeys: store.collection<ApiKeyDoc>('api_keys'),
    audit: store.collection<AuditDoc>('audit'),
    meta: store.collection<{ _id: string; at: string; value?: string }>('meta'),
    counters: store.collection<{ _id: string; n: number }>('counters'),
    kbs: store.collection<KbDoc>('kbs'),
    documents: store.collection<DocumentDoc>('documents'),
    documentTexts: sealed<DocumentTextDoc>('document_texts'),
    chunks: sealed<ChunkDoc>('chunks'),
    searchPending: store.collection<PendingSearchChange>('search_pending'),
    jobs: store.collection<JobDoc>('jobs'),
    conversations: sealed<ConversationDoc>('conversations'),
    messages: sealed<MessageDoc>('messages'),
    usage: store.collection<UsageDoc>('usage'),
    realtimeSecrets: store.collection<ClientSecretDoc>('realtime_secrets'),
  };
}

export type Collections = ReturnType<typeof collections>;
