import type { AuditDoc } from '../audit/audit.ts';
import type { ApiKeyDoc } from '../api-keys/api-keys.ts';
import type { ConversationService } from '../conversations/conversations.ts';
import type { ClientSecretDoc } from '../realtime/client-secrets.ts';
import type { Collection } from '../store/store.ts';
import type { UsageDoc } from '../usage/ledger.ts';
import type { UserDoc } from '../users/users.ts';
import { deleteInBatches, rewriteInBatches } from './batches.ts';

// What deleting a user erases, and what it keeps:
// - erased: the account, its sessions and realtime client secrets, the user's conversations
//   with every message (their questions, and the answers quoting documents), and the feedback
//   (rating and comment) they gave on answers in other people's conversations;
// - kept without the person: usage records (the organisation's counts and costs; the user id is
//   dropped), audit entries (an audit log that loses entries is no audit log; the user's name and
//   email become "deleted user <id>", ids, times, actions and addresses stay) and the API keys the
//   user made (they belong to the organisation and integrations run on them; an admin revokes them
//   if they should go: the deletion's audit entry counts them, and each says "deleted user <id>"
//   as its maker).

export const deletedUserLabel = (id: string) => `deleted user ${id}`;

export interface UserErasureDeps {
  conversations: Pick<ConversationService, 'removeWhere' | 'removeFeedbackBy'>;
  audit: Collection<AuditDoc>;
  usage: Collection<UsageDoc>;
  apiKeys: Collection<ApiKeyDoc>;
  clientSecrets: Collection<ClientSecretDoc>;
}

export class UserErasure {
  readonly #d: UserErasureDeps;

  constructor(deps: UserErasureDeps) {
    this.#d = deps;
  }

  async eraseUser(user: UserDoc): Promise<{ label: string; details: Record<string, number> }> {
    const label = deletedUserLabel(user._id);
    const removed = await this.#d.conversations.removeWhere(user.organisationId, { userId: user._id });
    const feedbackRemoved = await this.#d.conversations.removeFeedbackBy(user.organisationId, user._id);
    await deleteInBatches(this.#d.clientSecrets, { 'principal.userId': user._id });
    const usageAnonymised = await rewriteInBatches(this.#d.usage, { organisationId: user.organisationId, userId: user._id }, (doc) => ({ ...doc, userId: null }));
    const auditAnonymised = await rewriteInBatches(this.#d.audit, { $or: [{ 'actor.id': user._id }, { 'target.id': user._id }] }, (doc) => withoutPerson(doc, user, label));
    const apiKeysKept = await rewriteInBatches(this.#d.apiKeys, { organisationId: user.organisationId, 'createdBy.id': user._id }, (key) =>
      key.createdBy ? { ...key, createdBy: { id: key.createdBy.id, name: label } } : null,
    );
    return { label, details: { conversations: removed.conversations, messages: removed.messages, feedbackRemoved, usageAnonymised, auditAnonymised, apiKeysKept } };
  }
}

/** An audit entry that names the user by `label` instead of their name or email. */
function withoutPerson(doc: AuditDoc, user: UserDoc, label: string): AuditDoc | null {
  const personal = new Set([user.email, user.name]);
  const next: AuditDoc = { ...doc };
  if (doc.actor.id === user._id) next.actor = { ...doc.actor, name: label };
  if (doc.target?.id === user._id) next.target = { ...doc.target, name: label };
  if (doc.details) next.details = Object.fromEntries(Object.entries(doc.details).map(([k, v]) => [k, typeof v === 'string' && personal.has(v) ? label : v]));
  return JSON.stringify(next) === JSON.stringify(doc) ? null : next;
}
