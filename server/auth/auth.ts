import type { AuditActor, AuditLog } from '../audit/audit.ts';
import { anonymous } from '../audit/audit.ts';
import type { Clock, Random } from '../clock.ts';
import type { Collections } from '../db.ts';
import { AppError, errors } from '../errors.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import type { ApiKeyService } from '../api-keys/api-keys.ts';
import type { OrganisationDoc, OrganisationService } from '../organisations/organisations.ts';
import { normaliseEmail, totpEnabled, type UserDoc, type UserService } from '../users/users.ts';
import type { LoginChallenges } from './login-challenges.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import type { Acting, Principal } from './principal.ts';
import type { SessionRestriction } from './restriction.ts';
import type { IssuedSession, SessionService } from './sessions.ts';
import type { LoginThrottle } from './throttle.ts';
import { issueSecret, secretMatches, hashSecret } from './tokens.ts';
import type { SecondFactor, TwoFactorService } from './two-factor.ts';

export interface ClientMeta {
  ip: string | null;
  userAgent: string | null;
}

export interface SetupInput {
  organisation: string;
  name: string;
  email: string;
  password: string;
  setupToken?: string | undefined;
}

const SETUP_CLAIM = 'setup';
/** The hash of the setup token generated at start; the token itself is only ever in the log line. */
const SETUP_TOKEN_RECORD = 'setup-token';

/**
 * Where whoever sets up finds the setup token: the operator's SETUP_TOKEN or SETUP_TOKEN_FILE, or
 * the server's log, when the server generated one because it listens beyond loopback.
 */
export type SetupTokenSource = 'environment' | 'file' | 'log';

/** How first-run setup is guarded: a configured token, else one generated when the server is reachable. */
export interface SetupGuard {
  token?: string | undefined;
  /** The configured token came from SETUP_TOKEN_FILE. */
  fromFile?: boolean;
  /** The server listens beyond loopback: without a configured token, one is generated at start. */
  reachable?: boolean;
}

export function userActor(user: UserDoc): AuditActor {
  return { type: 'user', id: user._id, name: user.email };
}

/** A sign-in that came to a session, perhaps restricted. */
export type SessionSignIn = { user: UserDoc; session: IssuedSession; restriction: SessionRestriction | null };

/** What a sign-in comes to: a session (perhaps restricted), or the challenge of its second step. */
export type SignIn =
  | SessionSignIn
  | { user: UserDoc; secondFactor: { token: string; expiresAt: string } }
  | { chooseOrganisation: Array<{ id: string; name: string }> };

function sessionPrincipal(user: UserDoc, sessionId: string, restriction: SessionRestriction | null): Principal {
  return {
    restriction,
    via: 'session',
    organisationId: user.organisationId,
    role: user.role,
    instanceOwner: user.instanceOwner,
    userId: user._id,
    sessionId,
    apiKeyId: null,
    actor: userActor(user),
  };
}

/** Sign-in, sign-out, first-run setup, password change, and turning credentials into a Principal. */
export class AuthService {
  /**
   * The user read while resolving a principal from its session, for `me` in the same request: a
   * principal object lives for one request (sockets re-check theirs through `holds`), so the read
   * is as fresh as the authentication itself, and /me costs one store read fewer.
   */
  readonly #resolvedWith = new WeakMap<Principal, UserDoc>();
  readonly #db: Collections;
  readonly #users: UserService;
  readonly #organisations: OrganisationService;
  readonly #sessions: SessionService;
  readonly #apiKeys: ApiKeyService;
  readonly #throttle: LoginThrottle;
  readonly #twoFactor: TwoFactorService;
  readonly #challenges: LoginChallenges;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #setupTokenHash: string | null;
  readonly #setupGuard: SetupGuard;

  constructor(deps: {
    db: Collections;
    users: UserService;
    organisations: OrganisationService;
    sessions: SessionService;
    apiKeys: ApiKeyService;
    throttle: LoginThrottle;
    twoFactor: TwoFactorService;
    challenges: LoginChallenges;
    audit: AuditLog;
    clock: Clock;
    setupToken?: string | undefined;
    setupGuard?: SetupGuard;
  }) {
    this.#db = deps.db;
    this.#users = deps.users;
    this.#organisations = deps.organisations;
    this.#sessions = deps.sessions;
    this.#apiKeys = deps.apiKeys;
    this.#throttle = deps.throttle;
    this.#twoFactor = deps.twoFactor;
    this.#challenges = deps.challenges;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#setupGuard = deps.setupGuard ?? { token: deps.setupToken };
    const configured = this.#setupGuard.token;
    this.#setupTokenHash = configured ? hashSecret(configured) : null;
  }

  get setupTokenRequired(): boolean {
    return this.setupTokenSource !== null;
  }

  /** Where the setup token is to be found; null when setup needs none (loopback, none configured). */
  get setupTokenSource(): SetupTokenSource | null {
    if (this.#setupTokenHash) return this.#setupGuard.fromFile ? 'file' : 'environment';
    return this.#setupGuard.reachable ? 'log' : null;
  }

  /**
   * At start: on a reachable server with setup still to do and no configured token, a fresh
   * one-time token, for the caller to print once. Only its hash is kept (in the store, so every
   * process on a shared store checks the same one; a restart replaces it), and it goes with setup.
   * Null when setup needs no generated token.
   */
  async issueSetupToken(random: Random): Promise<string | null> {
    if (this.setupTokenSource !== 'log') return null;
    if (!(await this.setupNeeded())) {
      await this.#db.meta.deleteOne({ _id: SETUP_TOKEN_RECORD });
      return null;
    }
    const token = issueSecret(random).secret;
    await this.#db.meta.replaceOne({ _id: SETUP_TOKEN_RECORD }, { _id: SETUP_TOKEN_RECORD, at: this.#clock.now().toISOString(), value: hashSecret(token) }, { upsert: true });
    return token;
  }

  async #setupTokenMatches(given: string | undefined): Promise<boolean> {
    const source = this.setupTokenSource;
    if (source === null) return true;
    const hash = source === 'log' ? (await this.#db.meta.findOne({ _id: SETUP_TOKEN_RECORD }))?.value : this.#setupTokenHash;
    return Boolean(given && hash && secretMatches(given, hash));
  }

  async setupNeeded(): Promise<boolean> {
    return (await this.#db.meta.findOne({ _id: SETUP_CLAIM })) === null && (await this.#users.countAll()) === 0;
  }

  async setup(input: SetupInput, client: ClientMeta): Promise<{ user: UserDoc; organisation: OrganisationDoc; session: IssuedSession }> {
    if (!(await this.setupNeeded())) throw errors.setupDone();
    if (!(await this.#setupTokenMatches(input.setupToken))) throw errors.invalidSetupToken(Boolean(input.setupToken));
    // A unique claim record makes two simultaneous setup requests resolve to exactly one owner.
    try {
      await this.#db.meta.insertOne({ _id: SETUP_CLAIM, at: this.#clock.now().toISOString() });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw errors.setupDone();
      throw err;
    }
    try {
      const { organisation, user } = await this.#organisations.createWithFirstUser(
        input.organisation,
        { name: input.name, email: input.email, password: input.password },
        { role: 'owner', instanceOwner: true },
      );
      await this.#users.recordLogin(user);
      await this.#db.meta.deleteOne({ _id: SETUP_TOKEN_RECORD });
      const session = await this.#sessions.create(user, client);
      await this.#audit.record({
        organisationId: organisation._id,
        action: 'setup',
        actor: userActor(user),
        target: { type: 'organisation', id: organisation._id, name: organisation.name },
        ip: client.ip,
      });
      return { user, organisation, session };
    } catch (err) {
      await this.#db.meta.deleteOne({ _id: SETUP_CLAIM });
      throw err;
    }
  }

  /**
   * The password step. With two-step sign-in on, it ends in a challenge for the second step
   * (`completeSignIn`) rather than a session; a session after a password reset, or of someone
   * who must set up two-step sign-in, is restricted to doing that.
   */
  async login(email: string, password: string, client: ClientMeta, organisationId?: string): Promise<SignIn> {
    const account = normaliseEmail(email);
    const ip = client.ip ?? 'unknown';
    const attempt = await this.#throttle.admit(account, ip);
    // An address is unique within an organisation only (so adding a member never reveals that the
    // address is in use elsewhere): the password decides which of its accounts this is.
    const accounts = await this.#users.findAllByEmail(account);
    if (accounts.length === 0) await verifyAgainstDummy(password);
    const matching: UserDoc[] = [];
    for (const candidate of accounts) if (await verifyPassword(candidate.passwordHash, password)) matching.push(candidate);
    const usable = matching.filter((u) => !u.disabled && (organisationId === undefined || u.organisationId === organisationId));
    const user = usable.length === 1 ? usable[0] : undefined;
    if (usable.length === 0) {
      await attempt.failed();
      const known = accounts.length === 1 ? accounts[0] : undefined;
      await this.#audit.record({
        organisationId: known?.organisationId ?? null,
        action: 'login',
        outcome: 'failure',
        actor: anonymous,
        target: known ? { type: 'user', id: known._id, name: known.email } : null,
        ip: client.ip,
        details: { email: account, reason: accounts.length === 0 ? 'unknown_email' : matching.length === 0 ? 'wrong_password' : organisationId !== undefined ? 'other_organisation' : 'disabled' },
      });
      throw errors.invalidCredentials();
    }
    await attempt.succeeded();
    if (!user) {
      // The password opens accounts in several organisations: the person has proven it for each, so
      // naming them discloses nothing; they sign in again naming one.
      const organisations = await Promise.all(usable.map(async (u) => ({ id: u.organisationId, name: (await this.#organisations.get(u.organisationId))?.name ?? u.organisationId })));
      return { chooseOrganisation: organisations };
    }
    if (totpEnabled(user)) return { user, secondFactor: await this.#challenges.issue(user, client.ip) };
    return this.#startSession(user, client, null);
  }

  /** The second step: the challenge from `login` and a code from the authenticator (or a recovery code). */
  async completeSignIn(token: string, factor: SecondFactor, client: ClientMeta): Promise<SessionSignIn> {
    const challenge = await this.#challenges.find(token);
    if (!challenge) throw errors.signInExpired();
    const user = await this.#users.findById(challenge.userId);
    // Disabled, moved, or its password reset since: the password step no longer stands.
    if (!userMayAct(user, challenge.organisationId) || !this.#challenges.stillHolds(challenge, user)) {
      await this.#challenges.spend(challenge);
      throw errors.signInExpired();
    }
    let used: 'totp' | 'recovery_code';
    try {
      used = await this.#twoFactor.verifySignIn(user, factor, client.ip);
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_code') {
        await this.#audit.record({
          organisationId: user.organisationId,
          action: 'login',
          outcome: 'failure',
          actor: anonymous,
          target: { type: 'user', id: user._id, name: user.email },
          ip: client.ip,
          details: { email: user.email, reason: 'code' in factor ? 'wrong_code' : 'wrong_recovery_code' },
        });
      }
      throw err;
    }
    // Two completions racing: the one that spends the challenge gets the session.
    if (!(await this.#challenges.spend(challenge))) throw errors.signInExpired();
    return this.#startSession(user, client, used);
  }

  async #startSession(user: UserDoc, client: ClientMeta, secondFactor: 'totp' | 'recovery_code' | null): Promise<SessionSignIn> {
    await this.#users.recordLogin(user);
    const restriction = await this.#restrictionFor(user);
    const session = await this.#sessions.create(user, client, restriction);
    const details = secondFactor || restriction ? { ...(secondFactor ? { secondFactor } : {}), ...(restriction ? { restriction } : {}) } : null;
    await this.#audit.record({ organisationId: user.organisationId, action: 'login', actor: userActor(user), ip: client.ip, details });
    return { user, session, restriction };
  }

  /** What a new session of this user is limited to: choosing a password after a reset, or setting up two-step sign-in where it is required. */
  async #restrictionFor(user: UserDoc): Promise<SessionRestriction | null> {
    if (user.mustChangePassword) return 'password_change';
    if (!totpEnabled(user) && (await this.#organisations.settings(user.organisationId)).security?.requireTotp === true) return 'totp_enrolment';
    return null;
  }

  async logout(acting: Acting): Promise<void> {
    const { principal } = acting;
    if (principal.sessionId) await this.#sessions.revoke(principal.sessionId, 'signed out');
    await this.#audit.recordFor(acting, { action: 'logout' });
  }

  /**
   * Verifies the current password, revokes every session of the user and issues a fresh one —
   * unrestricted after a reset, unless two-step sign-in is still to be set up.
   */
  async changePassword(acting: Acting, current: string, next: string, client: ClientMeta): Promise<IssuedSession> {
    const user = await this.#currentUser(acting.principal);
    if (!(await verifyPassword(user.passwordHash, current))) {
      await this.#audit.record({ organisationId: user.organisationId, action: 'password.change', outcome: 'failure', actor: acting.principal.actor, ip: acting.ip });
      throw errors.wrongPassword();
    }
    // A temporary password handed on by someone else must not stay the password.
    if (next === current) throw errors.validation([{ path: 'newPassword', message: 'must differ from your current password' }]);
    await this.#users.setPassword(user, next);
    await this.#sessions.revokeAllForUser(user._id, 'password changed');
    const session = await this.#sessions.create(user, client, await this.#restrictionFor({ ...user, mustChangePassword: false }));
    await this.#audit.record({ organisationId: user.organisationId, action: 'password.change', actor: acting.principal.actor, ip: acting.ip });
    return session;
  }

  async #currentUser(principal: Principal): Promise<UserDoc> {
    if (!principal.userId) throw errors.forbidden('API keys cannot do this; sign in as a user.');
    const user = await this.#users.findById(principal.userId);
    if (!user) throw errors.unauthenticated();
    return user;
  }

  /** The signed-in user, to turn two-step sign-in on or off for themselves. */
  currentUser(principal: Principal): Promise<UserDoc> {
    return this.#currentUser(principal);
  }

  async me(principal: Principal): Promise<{ user: UserDoc | null; organisation: OrganisationDoc }> {
    const organisation = await this.#organisations.get(principal.organisationId);
    if (!organisation) throw errors.unauthenticated();
    if (!principal.userId) return { user: null, organisation };
    return { user: this.#resolvedWith.get(principal) ?? (await this.#currentUser(principal)), organisation };
  }

  /**
   * The principal of a session cookie. A restricted session (see restriction.ts) resolves only
   * when the caller enforces the restriction itself (`allowRestricted`: the REST middleware);
   * anything else — a realtime socket — sees no session at all.
   */
  async fromSessionToken(
    token: string,
    options: { allowRestricted?: boolean } = {},
  ): Promise<{ principal: Principal; session: IssuedSession['session']; refreshed: boolean } | null> {
    const valid = await this.#sessions.validate(token);
    if (!valid) return null;
    const user = await this.#users.findById(valid.session.userId);
    // Disabled or moved users lose their sessions at the next request even if a revoke was missed.
    if (!userMayAct(user, valid.session.organisationId)) {
      await this.#sessions.revoke(valid.session._id, 'user disabled or removed');
      return null;
    }
    // A reset password binds every session of the user, even one a missed revocation left behind.
    const restriction = user.mustChangePassword ? 'password_change' : (valid.session.restriction ?? null);
    if (restriction && !options.allowRestricted) return null;
    const principal = sessionPrincipal(user, valid.session._id, restriction);
    this.#resolvedWith.set(principal, user);
    return { principal, session: valid.session, refreshed: valid.refreshed };
  }

  async fromApiKey(token: string): Promise<Principal | null> {
    const key = await this.#apiKeys.authenticate(token);
    if (!key) return null;
    return {
      via: 'apiKey',
      organisationId: key.organisationId,
      role: key.role,
      instanceOwner: false,
      userId: null,
      sessionId: null,
      apiKeyId: key._id,
      actor: { type: 'apiKey', id: key._id, name: key.name },
    };
  }

  /** Whether the credential behind a principal still stands (see CredentialCheck). */
  async holds(principal: Principal): Promise<boolean> {
    if (principal.apiKeyId) return this.#apiKeys.isLive(principal.apiKeyId);
    if (!principal.sessionId || !principal.userId) return false;
    const session = await this.#sessions.live(principal.sessionId);
    if (session === null || session.userId !== principal.userId) return false;
    const user = await this.#users.findById(principal.userId);
    return userMayAct(user, principal.organisationId) && !user.mustChangePassword && (session.restriction ?? null) === (principal.restriction ?? null);
  }
}

/** A user may act in an organisation while the account exists there and is enabled. */
function userMayAct(user: UserDoc | null, organisationId: string): user is UserDoc {
  return user !== null && !user.disabled && user.organisationId === organisationId;
}
