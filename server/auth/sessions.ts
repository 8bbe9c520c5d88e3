import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import { issueSecret, parseToken, secretMatches } from './tokens.ts';

export interface SessionDoc {
  _id: string;
  secretHash: string;
  userId: string;
  organisationId: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

export interface IssuedSession {
  token: string;
  session: SessionDoc;
}

const SEPARATOR = '.';

/**
 * Sessions after Lucia's design (lucia-auth.com/sessions): the cookie holds `<id>.<secret>`,
 * the store holds only a hash of the secret. Expiry slides: a session used in the second half of
 * its lifetime is extended, so active users stay signed in and abandoned sessions lapse.
 */
export class SessionService {
  readonly #sessions: Collection<SessionDoc>;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly ttlMs: number;

  constructor(deps: { sessions: Collection<SessionDoc>; clock: Clock; random: Random; ttlMs: number }) {
    this.#sessions = deps.sessions;
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.ttlMs = deps.ttlMs;
  }

  async create(user: { _id: string; organisationId: string }, meta: { ip: string | null; userAgent: string | null }): Promise<IssuedSession> {
    const { id, secret, secretHash } = issueSecret(this.#random);
    const now = this.#clock.now();
    const session: SessionDoc = {
      _id: id,
      secretHash,
      userId: user._id,
      organisationId: user.organisationId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.ttlMs).toISOString(),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
    };
    await this.#sessions.insertOne(session);
    return { token: `${id}${SEPARATOR}${secret}`, session };
  }

  /** The live session for a token, or null. `refreshed` tells the caller to re-send the cookie. */
  async validate(token: string): Promise<{ session: SessionDoc; refreshed: boolean } | null> {
    const parts = parseToken(token, '', SEPARATOR);
    if (!parts) return null;
    const session = await this.#sessions.findOne({ _id: parts.id });
    if (!session || !secretMatches(parts.secret, session.secretHash)) return null;
    const now = this.#clock.now().getTime();
    const expiresAt = Date.parse(session.expiresAt);
    if (now >= expiresAt) {
      await this.#sessions.deleteOne({ _id: session._id });
      return null;
    }
    if (expiresAt - now < this.ttlMs / 2) {
      const renewed = new Date(now + this.ttlMs).toISOString();
      await this.#sessions.updateOne({ _id: session._id }, { $set: { expiresAt: renewed } });
      return { session: { ...session, expiresAt: renewed }, refreshed: true };
    }
    return { session, refreshed: false };
  }

  async revoke(sessionId: string): Promise<void> {
    await this.#sessions.deleteOne({ _id: sessionId });
  }

  async revokeAllForUser(userId: string): Promise<number> {
    return (await this.#sessions.deleteMany({ userId })).deletedCount;
  }

  async purgeExpired(): Promise<number> {
    return (await this.#sessions.deleteMany({ expiresAt: { $lte: this.#clock.now().toISOString() } })).deletedCount;
  }
}
