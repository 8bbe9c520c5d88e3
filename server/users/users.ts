import type { AuditActor, AuditLog } from '../audit/audit.ts';
import type { Clock, Random } from '../clock.ts';
import type { Collection } from '../store/store.ts';
import { isDuplicateKeyError } from '../store/store.ts';
import { tenantCollection } from '../store/tenant.ts';
import { errors } from '../errors.ts';
import type { Acting } from '../auth/principal.ts';
import { roleAtLeast, type Role } from '../auth/roles.ts';
import { hashPassword } from '../auth/passwords.ts';
import { passwordWeakness, type PasswordOwner } from '../auth/password-strength.ts';
import type { SessionService } from '../auth/sessions.ts';
import { newId } from '../auth/tokens.ts';
import { newTemporaryPassword } from '../auth/temporary-password.ts';
import type { z } from 'zod';
import type { User } from './schema.ts';

export interface UserDoc {
  _id: string;
  organisationId: string;
  email: string;
  name: string;
  role: Role;
  /** The account created at first-run setup: it alone manages organisations. */
  instanceOwner: boolean;
  disabled: boolean;
  passwordHash: string;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  /** Set by a password reset (an admin's or the operator's): the next session may only change the password. */
  mustChangePassword?: boolean;
  /** The confirmed TOTP key (base32): sealed at rest when encryption is on. Null or absent: no two-step sign-in. */
  totpSecret?: string | null;
  /** A key being set up, until a code from it confirms it (then it becomes `totpSecret`). Sealed as well. */
  totpPendingSecret?: string | null;
  totpEnabledAt?: string | null;
  /** The last TOTP step accepted: its code, and every earlier one, is refused from then on (replay). */
  totpLastStep?: number | null;
  /** Hashes of the unused recovery codes, each removed as it is spent (a map, so one write removes one atomically). */
  totpRecovery?: Record<string, true>;
}

/** Whether the user signs in in two steps (password, then a code). */
export function totpEnabled(user: UserDoc): boolean {
  return Boolean(user.totpEnabledAt);
}

/** The fields that turn two-step sign-in off, with everything it kept. */
export const TOTP_OFF = { totpSecret: null, totpPendingSecret: null, totpEnabledAt: null, totpLastStep: null, totpRecovery: {} } satisfies Partial<UserDoc>;

export interface PasswordReset {
  /** The admin's choice; absent: one is generated and handed back once. */
  password?: string | undefined;
  /** Also turn two-step sign-in off (the authenticator and the recovery codes are lost). */
  removeTotp?: boolean | undefined;
}

export interface PasswordResetDone {
  user: UserDoc;
  /** The generated password, to be shown once; null when the admin chose it. */
  temporaryPassword: string | null;
  sessionsEnded: number;
}

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  password: string;
}

export interface UserChanges {
  name?: string | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

interface UserServiceDeps {
  users: Collection<UserDoc>;
  sessions: SessionService;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  /** Erases what a deleted user leaves behind (server/retention/user-erasure.ts): what it did, and the name the audit log gives the user from then on. */
  erasure: { eraseUser(user: UserDoc): Promise<{ label: string; details: Record<string, number> }> };
}

export class UserService {
  readonly #deps: UserServiceDeps;

  constructor(deps: UserServiceDeps) {
    this.#deps = deps;
  }

  #scoped(organisationId: string): Collection<UserDoc> {
    return tenantCollection(this.#deps.users, organisationId);
  }

  /** Inserts a user without authorisation checks: for setup and organisation creation, which authorise themselves. */
  async insert(organisationId: string, input: NewUser, flags: { instanceOwner: boolean }): Promise<UserDoc> {
    requireStrongPassword(input.password, { email: input.email, name: input.name }, 'password');
    const now = this.#deps.clock.now().toISOString();
    const user: UserDoc = {
      _id: newId(this.#deps.random),
      organisationId,
      email: normaliseEmail(input.email),
      name: input.name.trim(),
      role: input.role,
      instanceOwner: flags.instanceOwner,
      disabled: false,
      passwordHash: await hashPassword(input.password),
      createdAt: now,
      updatedAt: now,
      lastLoginAt: null,
    };
    try {
      await this.#scoped(organisationId).insertOne(user);
    } catch (err) {
      if (isDuplicateKeyError(err)) throw errors.emailTaken();
      throw err;
    }
    return user;
  }

  list(organisationId: string): Promise<UserDoc[]> {
    return this.#scoped(organisationId).find({}, { sort: { createdAt: 1, _id: 1 } }).toArray();
  }

  async get(organisationId: string, id: string): Promise<UserDoc> {
    const user = await this.#scoped(organisationId).findOne({ _id: id });
    if (!user) throw errors.notFound('user');
    return user;
  }

  async create(acting: Acting, input: NewUser): Promise<UserDoc> {
    const { principal } = acting;
    if (input.role === 'owner' && principal.role !== 'owner') throw errors.forbidden('Only an owner can make another owner.');
    const user = await this.insert(principal.organisationId, input, { instanceOwner: false });
    await this.#deps.audit.recordFor(acting, {
      action: 'user.create',
      target: { type: 'user', id: user._id, name: user.email },
      details: { role: user.role },
    });
    return user;
  }

  async update(acting: Acting, id: string, changes: UserChanges): Promise<UserDoc> {
    const { principal } = acting;
    const user = await this.get(principal.organisationId, id);
    const roleChange = changes.role !== undefined && changes.role !== user.role ? changes.role : undefined;
    const disabledChange = changes.disabled !== undefined && changes.disabled !== user.disabled ? changes.disabled : undefined;
    if (roleChange !== undefined || disabledChange !== undefined) await this.#guardPowerChange(acting, user, roleChange, disabledChange === true);

    const $set: Partial<UserDoc> = { updatedAt: this.#deps.clock.now().toISOString() };
    if (changes.name !== undefined) $set.name = changes.name.trim();
    if (roleChange !== undefined) $set.role = roleChange;
    if (disabledChange !== undefined) $set.disabled = disabledChange;
    const updated = await this.#scoped(principal.organisationId).findOneAndUpdate({ _id: id }, { $set }, { returnDocument: 'after' });
    if (!updated) throw errors.notFound('user');
    // A disabled account must lose access at once, not when its sessions lapse.
    if (disabledChange === true) await this.#deps.sessions.revokeAllForUser(id, 'user disabled');

    const target = { type: 'user' as const, id, name: user.email };
    if (changes.name !== undefined && changes.name.trim() !== user.name) await this.#deps.audit.recordFor(acting, { action: 'user.update', target, details: { field: 'name' } });
    if (roleChange !== undefined) await this.#deps.audit.recordFor(acting, { action: 'user.role', target, details: { from: user.role, to: roleChange } });
    if (disabledChange !== undefined) await this.#deps.audit.recordFor(acting, { action: disabledChange ? 'user.disable' : 'user.enable', target });
    return updated;
  }

  async remove(acting: Acting, id: string): Promise<void> {
    const { principal } = acting;
    const user = await this.get(principal.organisationId, id);
    await this.#guardPowerChange(acting, user, undefined, true);
    // Signed out first, so nothing new is added while their data is erased; the account goes
    // last, so a delete cut short by a crash can be repeated.
    await this.#deps.sessions.revokeAllForUser(id, 'user deleted');
    const erased = await this.#deps.erasure.eraseUser(user);
    await this.#scoped(principal.organisationId).deleteOne({ _id: id });
    await this.#deps.audit.recordFor(acting, { action: 'user.delete', target: { type: 'user', id, name: erased.label }, details: erased.details });
  }

  /** Rules that keep an organisation manageable: no self-lockout, owners guarded by owners, never zero owners. */
  async #guardPowerChange(acting: Acting, user: UserDoc, newRole: Role | undefined, losesAccess: boolean): Promise<void> {
    const { principal } = acting;
    if (principal.userId === user._id) throw errors.conflict('You cannot change your own role or access. Ask another admin.');
    if (user.instanceOwner && (losesAccess || newRole !== undefined)) throw errors.conflict('The instance owner cannot be demoted, disabled or deleted.');
    const touchesOwner = user.role === 'owner' || newRole === 'owner';
    if (touchesOwner && principal.role !== 'owner') throw errors.forbidden('Only an owner can change an owner or grant ownership.');
    if (user.role === 'owner' && (losesAccess || (newRole !== undefined && !roleAtLeast(newRole, 'owner')))) {
      const owners = await this.#scoped(principal.organisationId).countDocuments({ role: 'owner', disabled: false });
      if (owners <= 1) throw errors.conflict('An organisation must keep at least one active owner.');
    }
  }

  /**
   * An admin resets another member's password: owners' only by an owner, and never the instance
   * owner's (that is the operator's `npm run admin -- reset-password`, on the host).
   */
  async resetPassword(acting: Acting, id: string, reset: PasswordReset): Promise<PasswordResetDone> {
    const { principal } = acting;
    const user = await this.get(principal.organisationId, id);
    if (principal.userId === user._id) throw errors.conflict('Change your own password under Account; a reset is for someone else.');
    if (user.instanceOwner) throw errors.forbidden("Only the operator can reset the instance owner's password, on the host: npm run admin -- reset-password <email>.");
    if (user.role === 'owner' && principal.role !== 'owner') throw errors.forbidden("Only an owner can reset an owner's password.");
    return this.forcePasswordReset(user, reset, { actor: principal.actor, ip: acting.ip });
  }

  /**
   * Sets a temporary password that must be changed at the next sign-in, ends every session of the
   * user (their sockets and streams with them) and records who did it. Unguarded: callers decide
   * who may (an admin through `resetPassword`, the operator on the host).
   */
  async forcePasswordReset(user: UserDoc, reset: PasswordReset, by: { actor: AuditActor; ip: string | null }): Promise<PasswordResetDone> {
    const temporaryPassword = reset.password === undefined ? newTemporaryPassword(this.#deps.random) : null;
    await this.setPassword(user, reset.password ?? temporaryPassword!, 'password', { mustChange: true });
    const removeTotp = Boolean(reset.removeTotp) && (totpEnabled(user) || Boolean(user.totpPendingSecret));
    if (removeTotp) await this.#scoped(user.organisationId).updateOne({ _id: user._id }, { $set: { ...TOTP_OFF } });
    const sessionsEnded = await this.#deps.sessions.revokeAllForUser(user._id, 'password reset');
    const target = { type: 'user' as const, id: user._id, name: user.email };
    const event = { organisationId: user.organisationId, actor: by.actor, ip: by.ip, target };
    await this.#deps.audit.record({ ...event, action: 'password.reset', details: { generated: temporaryPassword !== null, totpRemoved: removeTotp, sessionsEnded } });
    if (removeTotp) await this.#deps.audit.record({ ...event, action: 'totp.disable', details: { by: 'password reset' } });
    const updated = await this.findById(user._id);
    return { user: updated ?? user, temporaryPassword, sessionsEnded };
  }

  async recordLogin(user: UserDoc): Promise<void> {
    await this.#scoped(user.organisationId).updateOne({ _id: user._id }, { $set: { lastLoginAt: this.#deps.clock.now().toISOString() } });
  }

  /** Replaces the password; `mustChange` marks it temporary (a reset), and any other change clears that mark. */
  async setPassword(user: UserDoc, password: string, field = 'newPassword', options: { mustChange?: boolean } = {}): Promise<void> {
    requireStrongPassword(password, { email: user.email, name: user.name }, field);
    const now = this.#deps.clock.now().toISOString();
    await this.#scoped(user.organisationId).updateOne(
      { _id: user._id },
      { $set: { passwordHash: await hashPassword(password), mustChangePassword: options.mustChange ?? false, updatedAt: now } },
    );
  }

  /** Cross-tenant by nature: login knows only an email. */
  findAllByEmail(email: string): Promise<UserDoc[]> {
    return this.#deps.users.find({ email: normaliseEmail(email) }, { sort: { createdAt: 1, _id: 1 }, limit: MAX_ACCOUNTS_PER_EMAIL }).toArray();
  }

  /** Cross-tenant by nature: a session names its user. The caller checks the organisation matches. */
  findById(id: string): Promise<UserDoc | null> {
    return this.#deps.users.findOne({ _id: id });
  }

  countAll(): Promise<number> {
    return this.#deps.users.countDocuments({});
  }

  countIn(organisationId: string): Promise<number> {
    return this.#scoped(organisationId).countDocuments({});
  }
}

export function presentUser(user: UserDoc): z.input<typeof User> {
  return {
    id: user._id,
    email: user.email,
    name: user.name,
    role: user.role,
    organisationId: user.organisationId,
    instanceOwner: user.instanceOwner,
    disabled: user.disabled,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt,
    mustChangePassword: user.mustChangePassword ?? false,
    totpEnabled: totpEnabled(user),
  };
}

/** Accounts one address may have across organisations that a sign-in tries its password on. */
const MAX_ACCOUNTS_PER_EMAIL = 10;

/** Refuses a password that is easy to guess, naming the request field it came in. */
export function requireStrongPassword(password: string, owner: PasswordOwner, field: string): void {
  const weakness = passwordWeakness(password, owner);
  if (weakness) throw errors.weakPassword(field, weakness);
}
