import type { AuditActor, AuditLog } from '../audit/audit.ts';
import { anonymous } from '../audit/audit.ts';
import type { Clock } from '../clock.ts';
import type { Collections } from '../db.ts';
import { errors } from '../errors.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import type { ApiKeyService } from '../api-keys/api-keys.ts';
import type { OrganisationDoc, OrganisationService } from '../organisations/organisations.ts';
import { normaliseEmail, type UserDoc, type UserService } from '../users/users.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import type { Acting, Principal } from './principal.ts';
import type { IssuedSession, SessionService } from './sessions.ts';
import type { LoginThrottle } from './throttle.ts';
import { secretMatches, hashSecret } from './tokens.ts';

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

export function userActor(user: UserDoc): AuditActor {
  return { type: 'user', id: user._id, name: user.email };
}

function sessionPrincipal(user: UserDoc, sessionId: string): Principal {
  return {
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
  readonly #db: Collections;
  readonly #users: UserService;
  readonly #organisations: OrganisationService;
  readonly #sessions: SessionService;
  readonly #apiKeys: ApiKeyService;
  readonly #throttle: LoginThrottle;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  readonly #setupTokenHash: string | null;

  constructor(deps: {
    db: Collections;
    users: UserService;
    organisations: OrganisationService;
    sessions: SessionService;
    apiKeys: ApiKeyService;
    throttle: LoginThrottle;
    audit: AuditLog;
    clock: Clock;
    setupToken?: string | undefined;
  }) {
    this.#db = deps.db;
    this.#users = deps.users;
    this.#organisations = deps.organisations;
    this.#sessions = deps.sessions;
    this.#apiKeys = deps.apiKeys;
    this.#throttle = deps.throttle;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#setupTokenHash = deps.setupToken ? hashSecret(deps.setupToken) : null;
  }

  get setupTokenRequired(): boolean {
    return this.#setupTokenHash !== null;
  }

  async setupNeeded(): Promise<boolean> {
    return (await this.#db.meta.findOne({ _id: SETUP_CLAIM })) === null && (await this.#users.countAll()) === 0;
  }

  async setup(input: SetupInput, client: ClientMeta): Promise<{ user: UserDoc; organisation: OrganisationDoc; session: IssuedSession }> {
    if (!(await this.setupNeeded())) throw errors.setupDone();
    if (this.#setupTokenHash && !(input.setupToken && secretMatches(input.setupToken, this.#setupTokenHash))) {
      throw errors.invalidSetupToken(Boolean(input.setupToken));
    }
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

  async login(email: string, password: string, client: ClientMeta): Promise<{ user: UserDoc; session: IssuedSession }> {
    const account = normaliseEmail(email);
    const ip = client.ip ?? 'unknown';
    const attempt = await this.#throttle.admit(account, ip);
    const user = await this.#users.findByEmail(account);
    const ok = user ? await verifyPassword(user.passwordHash, password) : await verifyAgainstDummy(password);
    if (!user || !ok || user.disabled) {
      await attempt.failed();
      await this.#audit.record({
        organisationId: user?.organisationId ?? null,
        action: 'login',
        outcome: 'failure',
        actor: anonymous,
        target: user ? { type: 'user', id: user._id, name: user.email } : null,
        ip: client.ip,
        details: { email: account, reason: !user ? 'unknown_email' : !ok ? 'wrong_password' : 'disabled' },
      });
      throw errors.invalidCredentials();
    }
    await attempt.succeeded();
    await this.#users.recordLogin(user);
    const session = await this.#sessions.create(user, client);
    await this.#audit.record({ organisationId: user.organisationId, action: 'login', actor: userActor(user), ip: client.ip });
    return { user, session };
  }

  async logout(acting: Acting): Promise<void> {
    const { principal } = acting;
    if (principal.sessionId) await this.#sessions.revoke(principal.sessionId, 'signed out');
    await this.#audit.recordFor(acting, { action: 'logout' });
  }

  /** Verifies the current password, revokes every session of the user and issues a fresh one. */
  async changePassword(acting: Acting, current: string, next: string, client: ClientMeta): Promise<IssuedSession> {
    const user = await this.#currentUser(acting.principal);
    if (!(await verifyPassword(user.passwordHash, current))) {
      await this.#audit.record({ organisationId: user.organisationId, action: 'password.change', outcome: 'failure', actor: acting.principal.actor, ip: acting.ip });
      throw errors.wrongPassword();
    }
    await this.#users.setPassword(user, next);
    await this.#sessions.revokeAllForUser(user._id, 'password changed');
    const session = await this.#sessions.create(user, client);
    await this.#audit.record({ organisationId: user.organisationId, action: 'password.change', actor: acting.principal.actor, ip: acting.ip });
    return session;
  }

  async #currentUser(principal: Principal): Promise<UserDoc> {
    if (!principal.userId) throw errors.forbidden('API keys cannot do this; sign in as a user.');
    const user = await this.#users.findById(principal.userId);
    if (!user) throw errors.unauthenticated();
    return user;
  }

  async me(principal: Principal): Promise<{ user: UserDoc | null; organisation: OrganisationDoc }> {
    const organisation = await this.#organisations.get(principal.organisationId);
    if (!organisation) throw errors.unauthenticated();
    return { user: principal.userId ? await this.#currentUser(principal) : null, organisation };
  }

  async fromSessionToken(token: string): Promise<{ principal: Principal; session: IssuedSession['session']; refreshed: boolean } | null> {
    const valid = await this.#sessions.validate(token);
    if (!valid) return null;
    const user = await this.#users.findById(valid.session.userId);
    // Disabled or moved users lose their sessions at the next request even if a revoke was missed.
    if (!userMayAct(user, valid.session.organisationId)) {
      await this.#sessions.revoke(valid.session._id, 'user disabled or removed');
      return null;
    }
    return { principal: sessionPrincipal(user, valid.session._id), session: valid.session, refreshed: valid.refreshed };
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
    return session !== null && session.userId === principal.userId && userMayAct(await this.#users.findById(principal.userId), principal.organisationId);
  }
}

/** A user may act in an organisation while the account exists there and is enabled. */
function userMayAct(user: UserDoc | null, organisationId: string): user is UserDoc {
  return user !== null && !user.disabled && user.organisationId === organisationId;
}
