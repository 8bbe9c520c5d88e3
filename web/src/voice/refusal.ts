// Why a realtime socket never got its session. A browser is not told the status of a refused
// WebSocket upgrade (401, 404, 503 all look like a dropped connection), so the console asks the
// REST API the same questions the upgrade asked: is the session still signed in, does the
// knowledge base still exist, is the conversation still there and ours. Only what the REST API can
// answer stops the retries; a full server (503, REALTIME_MAX_SESSIONS) or a restart looks like a
// reachable server and keeps the backoff.

import { toApiError, type ApiError } from '../api.ts';

/** What one REST look-up gave: fine (with the conversation's knowledge base), or its error. */
export type Lookup = { ok: true; kbId?: string } | { ok: false; error: Pick<ApiError, 'status' | 'code'> };

export interface RefusalEvidence {
  kb: Lookup;
  /** Only when the socket asked to continue a conversation (`&conversation=`), and the knowledge base was there. */
  conversation?: Lookup;
}

export type Refusal =
  /** Nothing the console can fix: try again. `serverAnswered` says every look-up succeeded (busy or restarting, not unreachable). */
  | { retry: true; serverAnswered: boolean }
  | { retry: false; code: string; message: string };

export const SESSION_ENDED = 'Your session has ended: sign in again.';
export const KB_GONE = 'This knowledge base no longer exists (it was deleted, or you no longer have access to it), so voice cannot connect to it.';
export const CONVERSATION_GONE = 'This conversation no longer exists, or is not yours to continue, so voice cannot join it. Start a new conversation to talk.';

const signedOut = (l: Lookup) => !l.ok && (l.error.status === 401 || l.error.code === 'unauthenticated');
const missing = (l: Lookup) => !l.ok && (l.error.status === 404 || l.error.code === 'not_found');

/** The decision, from what the look-ups said. Pure. */
export function explainRefusal(kbId: string, evidence: RefusalEvidence): Refusal {
  const { kb, conversation } = evidence;
  if (signedOut(kb) || (conversation && signedOut(conversation))) return { retry: false, code: 'unauthenticated', message: SESSION_ENDED };
  if (missing(kb)) return { retry: false, code: 'kb_not_found', message: KB_GONE };
  if (conversation) {
    // The server refuses a conversation of another knowledge base as if it did not exist.
    const elsewhere = conversation.ok && conversation.kbId !== undefined && conversation.kbId !== kbId;
    if (missing(conversation) || elsewhere) return { retry: false, code: 'conversation_not_found', message: CONVERSATION_GONE };
  }
  return { retry: true, serverAnswered: kb.ok && (!conversation || conversation.ok) };
}

export interface RefusalLookups {
  kb(kbId: string): Promise<unknown>;
  conversation(conversationId: string): Promise<{ kbId: string }>;
}

async function settle<T>(call: () => Promise<T>, kbOf?: (found: T) => string): Promise<Lookup> {
  try {
    const found = await call();
    return kbOf ? { ok: true, kbId: kbOf(found) } : { ok: true };
  } catch (err) {
    const { status, code } = toApiError(err);
    return { ok: false, error: { status, code } };
  }
}

/**
 * Asks the REST API what the upgrade would have said. The conversation is asked about only once
 * the knowledge base is known to be there: one signed-out answer is enough.
 */
export async function diagnoseRefusal(kbId: string, conversationId: string | null, lookups: RefusalLookups): Promise<Refusal> {
  const kb = await settle(() => lookups.kb(kbId));
  if (!kb.ok || !conversationId) return explainRefusal(kbId, { kb });
  return explainRefusal(kbId, { kb, conversation: await settle(() => lookups.conversation(conversationId), (c) => c.kbId) });
}
