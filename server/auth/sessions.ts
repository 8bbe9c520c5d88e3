import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import type { SessionRestriction } from './restriction.ts';
import type { Revocations } from './revocation.ts';
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
  /** What the session is limited to until its user acts (server/auth/restriction.ts); absent or null: nothing. */
  restriction?: SessionRestriction | null;
}

export interface IssuedSession {
  token: string;
  session: SessionDoc;
}

const SEPARATOR = '.';

interface SessionServiceDeps {
  sessions: Collection<SessionDoc>;
  clock: Clock;
  random: Random;
  revocations: Pick<Revocations, 'publish'>;
  /** Idle lifetime: a session unused this long lapses. */
  ttlMs: number;
  /** Absolute lifetime: a session ends this long after sign-in however much it is used. */
  maxLifetimeMs: number;
}

/**
 * Sessions after Lucia's design (lucia-auth.com/sessions): the cookie holds `<id>.<secret>`,
 * the store holds only a hash of the secret. Expiry slides: a session used in the second half of
 * its lifetime is extended, so active users stay signed in and abandoned sessions lapse; but never
 * past its absolute lifetime, so a stolen cookie kept busy does not live for ever.
 */
export class SessionService {
  readonly #deps: SessionServiceDeps;

  constructor(deps: SessionServiceDeps) {
    this.#deps = deps;
  }

  get ttlMs(): number {
    return this.#deps.ttlMs;
  }

  /** When a session created at `createdAt` and used at `now` expires next. */
  #expiry(createdAt: string, now: number): number {
    return Math.min(now + this.#deps.ttlMs, Date.parse(createdAt) + this.#deps.maxLifetimeMs);
  }

  /** Whether a session is past its idle or its absolute lifetime. */
  #over(session: SessionDoc, now: number): boolean {
    return now >= Date.parse(session.expiresAt) || now >= Date.parse(session.createdAt) + this.#deps.maxLifetimeMs;
  }

  async create(
    user: { _id: string; organisationId: string },
    meta: { ip: string | null; userAgent: string | null },
    restriction: SessionRestriction | null = null,
  ): Promise<IssuedSession> {
    const { id, secret, secretHash } = issueSecret(this.#deps.random);
    const now = this.#deps.clock.now();
    const createdAt = now.toISOString();
    const session: SessionDoc = {
      _id: id,
      secretHash,
      userId: user._id,
      organisationId: user.organisationId,
      createdAt,
      expiresAt: new Date(this.#expiry(createdAt, now.getTime())).toISOString(),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
      restriction,
    };
    await this.#deps.sessions.insertOne(session);
    return { token: `${id}${SEPARATOR}${secret}`, session };
  }

  /** The live session for a token, or null. `refreshed` tells the caller to re-send the cookie. */
  async validate(token: string): Promise<{ session: SessionDoc; refreshed: boolean } | null> {
    const parts = parseToken(token, '', SEPARATOR);
    if (!parts) return null;
    const session = await this.#deps.sessions.findOne({ _id: parts.id });
    if (!session || !secretMatches(parts.secret, session.secretHash)) return null;
    const now = this.#deps.clock.now().getTime();
    if (this.#over(session, now)) {
      await this.#deps.sessions.deleteOne({ _id: session._id });
      return null;
    }
    const expiresAt = Date.parse(session.expiresAt);
    const renewed = this.#expiry(session.createdAt, now);
    // Near its absolute end a session cannot be extended, and re-sending the same cookie is pointless.
    if (expiresAt - now < this.#deps.ttlMs / 2 && renewed > expiresAt) {
      const iso = new Date(renewed).toISOString();
      await this.#deps.sessions.updateOne({ _id: session._id }, { $set: { expiresAt: iso } });
      return { session: { ...session, expiresAt: iso }, refreshed: true };
    }
    return { session, refreshed: false };
  }

  /** The session by id if it has not ended; for connections that hold a principal, not a token. */
  async live(sessionId: string): Promise<SessionDoc | null> {
    const session = await this.#deps.sessions.findOne({ _id: sessionId });
    return session && !this.#over(session, this.#deps.clock.now().getTime()) ? session : null;
  }

  /** Ends a session, and what it has open (sockets, event streams, client secrets). */
  async revoke(sessionId: string, reason = 'session revoked'): Promise<void> {
    await this.#deps.sessions.deleteOne({ _id: sessionId });
    await this.#deps.revocations.publish({ scope: 'session', id: sessionId, reason });
  }

  /** Ends every session of a user and everything the user has open. */
  async revokeAllForUser(userId: string, reason = 'sessions revoked'): Promise<number> {
    const { deletedCount } = await this.#deps.sessions.deleteMany({ userId });
    await this.#deps.revocations.publish({ scope: 'user', id: userId, reason });
    return deletedCount;
  }

  /** Puts every session of a user under `restriction`, or lifts it from those under it (`to: null`). */
  async restrictAll(userId: string, change: { from: SessionRestriction | null; to: SessionRestriction | null }): Promise<void> {
    const filter = change.from === null ? { userId, $or: [{ restriction: null }, { restriction: { $exists: false } }] } : { userId, restriction: change.from };
    await this.#deps.sessions.updateMany(filter, { $set: { restriction: change.to } });
  }

  async purgeExpired(): Promise<number> {
    const now = this.#deps.clock.now().getTime();
    const filter = { $or: [{ expiresAt: { $lte: new Date(now).toISOString() } }, { createdAt: { $lte: new Date(now - this.#deps.maxLifetimeMs).toISOString() } }] };
    return (await this.#deps.sessions.deleteMany(filter)).deletedCount;
  }
}
