import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import { hashSecret, issueSecret, parseToken, secretMatches } from './tokens.ts';

// Between the two steps of a two-step sign-in, the client holds a challenge token: proof that the
// password was right, for this user only, for five minutes. It is worth nothing alone — a code
// from the user's authenticator (or a recovery code) is still needed — and it is spent by the
// sign-in it completes. Stored like sessions: `<id>.<secret>`, the store keeps a hash.

export interface LoginChallengeDoc {
  _id: string;
  secretHash: string;
  userId: string;
  organisationId: string;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  /** A hash of the password hash it was won with: a password reset or change since voids it. */
  passwordStamp: string;
}

export const LOGIN_CHALLENGE_TTL_MS = 5 * 60_000;
const SEPARATOR = '.';

export class LoginChallenges {
  readonly #challenges: Collection<LoginChallengeDoc>;
  readonly #clock: Clock;
  readonly #random: Random;

  constructor(deps: { challenges: Collection<LoginChallengeDoc>; clock: Clock; random: Random }) {
    this.#challenges = deps.challenges;
    this.#clock = deps.clock;
    this.#random = deps.random;
  }

  async issue(user: { _id: string; organisationId: string; passwordHash: string }, ip: string | null): Promise<{ token: string; expiresAt: string }> {
    const now = this.#clock.now();
    // Challenges nobody completed are few and short-lived; clearing them here needs no timer.
    await this.#challenges.deleteMany({ expiresAt: { $lte: now.toISOString() } });
    const { id, secret, secretHash } = issueSecret(this.#random);
    const expiresAt = new Date(now.getTime() + LOGIN_CHALLENGE_TTL_MS).toISOString();
    await this.#challenges.insertOne({ _id: id, secretHash, userId: user._id, organisationId: user.organisationId, createdAt: now.toISOString(), expiresAt, ip, passwordStamp: hashSecret(user.passwordHash) });
    return { token: `${id}${SEPARATOR}${secret}`, expiresAt };
  }

  /** The live challenge a token names, or null (unknown, wrong secret, expired). */
  async find(token: string): Promise<LoginChallengeDoc | null> {
    const parts = parseToken(token, '', SEPARATOR);
    if (!parts) return null;
    const challenge = await this.#challenges.findOne({ _id: parts.id });
    if (!challenge || !secretMatches(parts.secret, challenge.secretHash)) return null;
    if (this.#clock.now().getTime() >= Date.parse(challenge.expiresAt)) {
      await this.#challenges.deleteOne({ _id: challenge._id });
      return null;
    }
    return challenge;
  }

  /** Spends a challenge; true for the one caller that did (two completions racing get one session). */
  async spend(challenge: LoginChallengeDoc): Promise<boolean> {
    return (await this.#challenges.deleteOne({ _id: challenge._id })).deletedCount === 1;
  }

  /** Whether the user's password is still the one the challenge was won with. */
  stillHolds(challenge: LoginChallengeDoc, user: { _id: string; passwordHash: string }): boolean {
    return challenge.userId === user._id && secretMatches(user.passwordHash, challenge.passwordStamp);
  }
}
