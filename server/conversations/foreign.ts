import type { AuditLog } from '../audit/audit.ts';
import type { Acting, Principal } from '../auth/principal.ts';
import type { ConversationDoc } from './conversations.ts';

// Admins may open any conversation of their organisation. Reading one that is not theirs — its
// page, or continuing it with a follow-up (the answer sees the whole history) — is recorded, as
// is deleting it. The title stays out of the log: it is sealed at rest, the log is not.

/** The conversation was started by this user, or by this API key. */
export function ownsConversation(principal: Principal, conversation: ConversationDoc): boolean {
  return principal.userId ? conversation.userId === principal.userId : conversation.apiKeyId === principal.apiKeyId;
}

function ownerOf(conversation: ConversationDoc) {
  return conversation.userId ? { ownerType: 'user', ownerId: conversation.userId } : { ownerType: 'apiKey', ownerId: conversation.apiKeyId };
}

/** Records a read of someone else's conversation (once per actor and conversation in the view window). */
export async function recordForeignRead(audit: AuditLog, acting: Acting, conversation: ConversationDoc, how: 'read' | 'continue'): Promise<void> {
  if (ownsConversation(acting.principal, conversation)) return;
  await audit.recordViewFor(acting, {
    action: 'conversation.read',
    target: { type: 'conversation', id: conversation._id, name: null },
    details: { kbId: conversation.kbId, how, ...ownerOf(conversation) },
  });
}

/** Records the deletion of someone else's conversation (every time). */
export async function recordForeignDelete(audit: AuditLog, acting: Acting, conversation: ConversationDoc): Promise<void> {
  if (ownsConversation(acting.principal, conversation)) return;
  await audit.recordFor(acting, { action: 'conversation.delete', target: { type: 'conversation', id: conversation._id, name: null }, details: { kbId: conversation.kbId, ...ownerOf(conversation) } });
}
