import type { AuditLog } from '../audit/audit.ts';
import type { Clock, Random } from '../clock.ts';
import { errors } from '../errors.ts';
import type { Collection } from '../store/store.ts';
import { TOTP_OFF, totpEnabled, type UserDoc } from '../users/users.ts';
import { verifyPassword } from './passwords.ts';
import type { Acting } from './principal.ts';
import { newRecoveryCodes, normaliseRecoveryCode, recoveryCodeHash } from './recovery-codes.ts';
import type { SessionService } from './sessions.ts';
import type { LoginThrottle } from './throttle.ts';
import { decodeTotpKey, encodeTotpKey, matchingStep, newTotpKey, normaliseTotpCode, totpUri } from './totp.ts';

/** What stands in for the authenticator: a code from it, or one of the recovery codes. */
export type SecondFactor = { code: string } | { recoveryCode: string };

/** What re-confirms a signed-in user before two-step sign-in is turned off or its codes replaced. */
export type Reauthentication = { code: string } | { password: string };

export interface TotpStatus {
  enabled: boolean;
  enabledAt: string | null;
  /** A key was handed out and waits for a code to confirm it. */
  settingUp: boolean;
  recoveryCodesLeft: number;
}

interface TwoFactorDeps {
  users: Collection<UserDoc>;
  sessions: SessionService;
  /** Counts code attempts per user before each is checked, as the login throttle counts passwords. */
  throttle: LoginThrottle;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  /** The name authenticator apps list the account under. */
  issuer: string;
  /** Whether the user's organisation requires two-step sign-in (its `security.requireTotp`). */
  required(organisationId: string): Promise<boolean>;
}

/**
 * Two-step sign-in with TOTP (RFC 6238): setting it up (a key shown once, confirmed by a code
 * before it counts), ten single-use recovery codes, turning it off, and checking the second step
 * of a sign-in. Every code check is throttled per user before it is evaluated, and each accepted
 * step is claimed in one conditional write, so neither a replay nor a race gets a code in twice.
 */
export class TwoFactorService {
  readonly #deps: TwoFactorDeps;

  constructor(deps: TwoFactorDeps) {
    this.#deps = deps;
  }

  status(user: UserDoc): TotpStatus {
    return {
      enabled: totpEnabled(user),
      enabledAt: user.totpEnabledAt ?? null,
      settingUp: !totpEnabled(user) && Boolean(user.totpPendingSecret),
      recoveryCodesLeft: totpEnabled(user) ? Object.keys(user.totpRecovery ?? {}).length : 0,
    };
  }

  /** Hands out a new key (as text and as an otpauth:// URI for a QR code); it counts once `confirm` gets a code from it. */
  async begin(user: UserDoc): Promise<{ secret: string; uri: string }> {
    if (totpEnabled(user)) throw errors.conflict('Two-step sign-in is already on. Turn it off first to move it to another authenticator.');
    const key = newTotpKey(this.#deps.random);
    const secret = encodeTotpKey(key);
    await this.#deps.users.updateOne({ _id: user._id, totpEnabledAt: null }, { $set: { totpPendingSecret: secret } });
    return { secret, uri: totpUri(this.#deps.issuer, user.email, key) };
  }

  /** Turns two-step sign-in on with a code from the key `begin` handed out; returns the recovery codes, shown once. */
  async confirm(acting: Acting, user: UserDoc, code: string): Promise<string[]> {
    if (totpEnabled(user)) throw errors.conflict('Two-step sign-in is already on.');
    if (!user.totpPendingSecret) throw errors.conflict('Start setting up two-step sign-in first: no key is waiting for a code.');
    const step = await this.#checkCode(user, decodeTotpKey(user.totpPendingSecret), code, acting.ip, { claim: false });
    const codes = newRecoveryCodes(this.#deps.random);
    const now = this.#deps.clock.now().toISOString();
    // Conditional on nothing having changed since it was read: two confirmations racing turn it on once.
    const { matchedCount } = await this.#deps.users.updateOne(
      { _id: user._id, totpEnabledAt: null, totpPendingSecret: { $ne: null } },
      { $set: { totpSecret: user.totpPendingSecret, totpPendingSecret: null, totpEnabledAt: now, totpLastStep: step, totpRecovery: recoveryMap(codes) } },
    );
    if (matchedCount === 0) throw errors.conflict('Two-step sign-in changed meanwhile; reload and try again.');
    // Sessions that were waiting for this may now do everything.
    await this.#deps.sessions.restrictAll(user._id, { from: 'totp_enrolment', to: null });
    await this.#deps.audit.record({ organisationId: user.organisationId, action: 'totp.enable', actor: acting.principal.actor, ip: acting.ip, target: targetOf(user) });
    return codes;
  }

  async disable(acting: Acting, user: UserDoc, proof: Reauthentication): Promise<void> {
    if (!totpEnabled(user)) throw errors.conflict('Two-step sign-in is not on.');
    await this.#reauthenticate(user, proof, acting.ip);
    await this.#deps.users.updateOne({ _id: user._id }, { $set: { ...TOTP_OFF } });
    // Where the organisation requires it, the user's sessions can now only set it up again.
    if (await this.#deps.required(user.organisationId)) await this.#deps.sessions.restrictAll(user._id, { from: null, to: 'totp_enrolment' });
    await this.#deps.audit.record({ organisationId: user.organisationId, action: 'totp.disable', actor: acting.principal.actor, ip: acting.ip, target: targetOf(user), details: { by: 'self' } });
  }

  /** A fresh set of recovery codes, replacing every unused one. */
  async replaceRecoveryCodes(acting: Acting, user: UserDoc, proof: Reauthentication): Promise<string[]> {
    if (!totpEnabled(user)) throw errors.conflict('Two-step sign-in is not on.');
    await this.#reauthenticate(user, proof, acting.ip);
    const codes = newRecoveryCodes(this.#deps.random);
    await this.#deps.users.updateOne({ _id: user._id }, { $set: { totpRecovery: recoveryMap(codes) } });
    await this.#deps.audit.record({ organisationId: user.organisationId, action: 'totp.recovery_codes', actor: acting.principal.actor, ip: acting.ip, target: targetOf(user) });
    return codes;
  }

  /** The second step of a sign-in: throws `invalid_code` (or 429) unless the factor is good and unused. */
  async verifySignIn(user: UserDoc, factor: SecondFactor, ip: string | null): Promise<'totp' | 'recovery_code'> {
    if (!totpEnabled(user) || !user.totpSecret) throw errors.signInExpired();
    if ('code' in factor) {
      await this.#checkCode(user, decodeTotpKey(user.totpSecret), factor.code, ip, { claim: true });
      return 'totp';
    }
    const attempt = await this.#deps.throttle.admit(throttleKey(user), ip ?? 'unknown');
    const normalised = normaliseRecoveryCode(factor.recoveryCode);
    const path = `totpRecovery.${normalised ? recoveryKey(normalised) : 'none'}`;
    // Spending a code is removing its hash where it is still there: of two uses at once, one wins.
    const spent = normalised ? (await this.#deps.users.updateOne({ _id: user._id, [path]: true }, { $unset: { [path]: true } })).modifiedCount === 1 : false;
    if (!spent) {
      await attempt.failed();
      throw errors.invalidCode('recoveryCode');
    }
    await attempt.succeeded();
    const left = Math.max(0, Object.keys(user.totpRecovery ?? {}).length - 1);
    await this.#deps.audit.record({ organisationId: user.organisationId, action: 'totp.recovery_code', actor: { type: 'user', id: user._id, name: user.email }, ip, target: targetOf(user), details: { left } });
    return 'recovery_code';
  }

  async #reauthenticate(user: UserDoc, proof: Reauthentication, ip: string | null): Promise<void> {
    if ('code' in proof) {
      await this.#checkCode(user, decodeTotpKey(user.totpSecret ?? ''), proof.code, ip, { claim: true });
      return;
    }
    // The password is guessed against as codes are: through the same per-user count.
    const attempt = await this.#deps.throttle.admit(throttleKey(user), ip ?? 'unknown');
    if (!(await verifyPassword(user.passwordHash, proof.password))) {
      await attempt.failed();
      throw errors.wrongPassword('password');
    }
    await attempt.succeeded();
  }

  /**
   * Counts the attempt, then checks the code against the key within the window; with `claim`, the
   * step it matched is recorded as used in the same write that checks no later one was.
   */
  async #checkCode(user: UserDoc, key: Uint8Array, text: string, ip: string | null, options: { claim: boolean }): Promise<number> {
    const attempt = await this.#deps.throttle.admit(throttleKey(user), ip ?? 'unknown');
    const code = normaliseTotpCode(text);
    const step = code ? matchingStep(key, code, this.#deps.clock.now().getTime(), user.totpLastStep ?? null) : null;
    const claimed =
      step !== null &&
      (!options.claim ||
        (await this.#deps.users.updateOne({ _id: user._id, $or: [{ totpLastStep: null }, { totpLastStep: { $lt: step } }] }, { $set: { totpLastStep: step } })).matchedCount === 1);
    if (step === null || !claimed) {
      await attempt.failed();
      throw errors.invalidCode();
    }
    await attempt.succeeded();
    return step;
  }
}

const throttleKey = (user: UserDoc) => `user:${user._id}`;
const targetOf = (user: UserDoc) => ({ type: 'user' as const, id: user._id, name: user.email });

/** A code's key in `totpRecovery`: its hash, after a letter (a field name may not start with a digit). */
const recoveryKey = (code: string) => `h${recoveryCodeHash(code)}`;

function recoveryMap(codes: readonly string[]): Record<string, true> {
  return Object.fromEntries(codes.map((code) => [recoveryKey(code), true as const]));
}
