import type { Principal } from './principal.ts';

// Revoking a credential changes the store, which every new request reads; connections opened
// before (realtime sockets, event streams) read it once, at the start. Revocation notices tell them
// at once: services that revoke publish, long-lived connections subscribe and end themselves.

/** What a notice revokes: one session, one API key, everything a user acts through, or a whole organisation. */
export type RevokedScope = 'session' | 'apiKey' | 'user' | 'organisation';

export interface Revoked {
  scope: RevokedScope;
  id: string;
  /** Why, in a few words a client may be shown (a WebSocket close reason holds 123 bytes). */
  reason: string;
}

export type RevocationListener = (notice: Revoked) => void;

/**
 * The port: in-process here; an implementation over a shared channel (Redis pub/sub) delivers the
 * notices of every instance to the connections of every other.
 */
export interface Revocations {
  /** Resolves once the notice has reached this instance's listeners. */
  publish(notice: Revoked): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(listener: RevocationListener): () => void;
}

/** Whether a notice ends what this principal has open. */
export function revokes(notice: Revoked, principal: Principal): boolean {
  switch (notice.scope) {
    case 'session':
      return principal.sessionId === notice.id;
    case 'apiKey':
      return principal.apiKeyId === notice.id;
    case 'user':
      return principal.userId === notice.id;
    case 'organisation':
      return principal.organisationId === notice.id;
  }
}

/**
 * Whether the credential behind a principal still stands. Long-lived connections ask it now and
 * then, so one whose notice was lost (or that no notice covers, like a session reaching its
 * expiry) still ends.
 */
export type CredentialCheck = (principal: Principal) => Promise<boolean>;

/** How often a long-lived connection re-checks its credential. */
export const RECHECK_MS = 60_000;

/** Notices delivered to the listeners of this process, synchronously. */
export class LocalRevocations implements Revocations {
  readonly #listeners = new Set<RevocationListener>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(options: { onListenerError: (err: unknown) => void }) {
    this.#onListenerError = options.onListenerError;
  }

  async publish(notice: Revoked): Promise<void> {
    // One failing listener must not keep the notice from the others.
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  subscribe(listener: RevocationListener): () => void {
    // A wrapper per subscription, so the same function subscribed twice unsubscribes once.
    const entry: RevocationListener = (notice) => listener(notice);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }
}
