import { AppError, errors } from '../errors.ts';

// A restricted session is signed in but may do one thing only: choose a new password after a
// reset, or set up two-step sign-in where the organisation requires it. Everything else answers
// 403 with a code naming what is required, until it is done. The sockets and event streams a
// session could open are out of reach too: the REST routes that open them are refused here, and
// the realtime upgrade does not accept a restricted session at all (AuthService.fromSessionToken).

export const sessionRestrictions = ['password_change', 'totp_enrolment'] as const;
export type SessionRestriction = (typeof sessionRestrictions)[number];

const API = '/api/v1';

/** Open to any restricted session: who am I, leave, and signing in afresh. */
const ALWAYS = ['GET /me', 'POST /auth/logout', 'GET /setup', 'POST /auth/login', 'POST /auth/login/second-factor'];

const ALLOWED: Record<SessionRestriction, ReadonlySet<string>> = {
  password_change: new Set([...ALWAYS, 'POST /auth/password']),
  totp_enrolment: new Set([...ALWAYS, 'GET /auth/totp', 'POST /auth/totp/setup', 'POST /auth/totp/confirm']),
};

/** Whether a session under `restriction` may make this request (method and full path). */
export function restrictionAllows(restriction: SessionRestriction, method: string, path: string): boolean {
  if (!path.startsWith(`${API}/`)) return false;
  const normalised = path.length > API.length + 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return ALLOWED[restriction].has(`${method === 'HEAD' ? 'GET' : method} ${normalised.slice(API.length)}`);
}

export function restrictionError(restriction: SessionRestriction): AppError {
  return restriction === 'password_change' ? errors.passwordChangeRequired() : errors.totpEnrolmentRequired();
}
