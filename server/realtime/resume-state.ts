// Where a dropped realtime session waits for its client to reconnect with `?resume=<id>`. In this
// process's memory by default; in Redis (server/redis/resume-state.ts) when several processes sit
// behind one load balancer, so the reconnect may land on any of them.

import type { Principal } from '../auth/principal.ts';
import type { SessionSnapshot } from './session.ts';

/** Who may pick up a dropped session: the same user (or API key) of the same organisation, on the same knowledge base. */
export interface SessionHolder {
  owner: string;
  kbId: string;
}

export const ownerOf = (p: Pick<Principal, 'organisationId' | 'userId' | 'apiKeyId'>): string => `${p.organisationId}:${p.userId ?? `key:${p.apiKeyId}`}`;

export interface DetachedSessions {
  /**
   * Whether kept sessions outlive this process, so another process can resume them. A shutdown
   * then keeps its open sessions too: behind a load balancer, a restart or a rolling deploy is a
   * reconnect away from resuming, not a lost conversation.
   */
  readonly outlivesProcess: boolean;
  /** Keeps a dropped session for `ttlMs`, for `holder` alone; a session kept again under its id replaces the old one. */
  detach(snapshot: SessionSnapshot, holder: SessionHolder, ttlMs: number): Promise<void>;
  /**
   * The kept session, removed so it resumes once: of two reclaims racing, one gets it. Null when it
   * expired, never was, or is another holder's — which leaves it kept for its own.
   */
  reclaim(id: string, holder: SessionHolder): Promise<SessionSnapshot | null>;
}

/** Dropped sessions kept in memory, the oldest dropped first past this many. */
export const MAX_DETACHED = 1_000;

interface Kept extends SessionHolder {
  snapshot: SessionSnapshot;
  timer: NodeJS.Timeout;
}

/** One process's dropped sessions: a client must reconnect to the process it left. */
export class MemoryDetachedSessions implements DetachedSessions {
  readonly outlivesProcess = false;
  readonly #kept = new Map<string, Kept>();
  readonly #max: number;

  constructor(options: { max?: number } = {}) {
    this.#max = options.max ?? MAX_DETACHED;
  }

  get size(): number {
    return this.#kept.size;
  }

  detach(snapshot: SessionSnapshot, holder: SessionHolder, ttlMs: number): Promise<void> {
    const id = snapshot.config.id;
    this.#drop(id);
    // Unref'd: a session waiting for its client never keeps the process up.
    const timer = setTimeout(() => this.#kept.delete(id), ttlMs);
    timer.unref();
    this.#kept.set(id, { snapshot, owner: holder.owner, kbId: holder.kbId, timer });
    for (const old of this.#kept.keys()) {
      if (this.#kept.size <= this.#max) break;
      this.#drop(old);
    }
    return Promise.resolve();
  }

  reclaim(id: string, holder: SessionHolder): Promise<SessionSnapshot | null> {
    const kept = this.#kept.get(id);
    if (!kept || kept.owner !== holder.owner || kept.kbId !== holder.kbId) return Promise.resolve(null);
    this.#drop(id);
    return Promise.resolve(kept.snapshot);
  }

  clear(): void {
    for (const id of this.#kept.keys()) this.#drop(id);
  }

  #drop(id: string): void {
    const kept = this.#kept.get(id);
    if (!kept) return;
    clearTimeout(kept.timer);
    this.#kept.delete(id);
  }
}
