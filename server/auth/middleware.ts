import type { Middleware } from 'koa';
import { errors } from '../errors.ts';
import { ownOrigin } from '../http/middleware.ts';
import type { AppContext, AppState } from '../http/context.ts';
import type { AuthService } from './auth.ts';
import { restrictionAllows, restrictionError } from './restriction.ts';

export const SESSION_COOKIE = 'lectern_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookie-authenticated, state-changing requests must come from our own pages. Browsers send
 * `Sec-Fetch-Site` (all current ones) or at least `Origin` on such requests; a request that has
 * neither but carries our cookie is refused too, since no legitimate browser sends that. Bearer
 * requests are exempt: a browser never attaches an Authorization header on its own.
 */
export function csrfGuard(publicUrl: string | undefined): Middleware<AppState> {
  return async (ctx, next) => {
    if (SAFE_METHODS.has(ctx.method) || ctx.get('authorization')) return next();
    const site = ctx.get('sec-fetch-site');
    const origin = ctx.get('origin');
    const hasCookie = Boolean(ctx.cookies.get(SESSION_COOKIE));
    if (site) {
      if (site !== 'same-origin' && site !== 'none') throw errors.csrf();
    } else if (origin) {
      if (origin !== ownOrigin(ctx, publicUrl)) throw errors.csrf();
    } else if (hasCookie) {
      throw errors.csrf();
    }
    return next();
  };
}

export interface CookiePolicy {
  /** Force `Secure` even when the hop to us is plain HTTP (PUBLIC_URL is https behind a proxy). */
  forceSecure: boolean;
}

export function setSessionCookie(ctx: AppContext, policy: CookiePolicy, token: string, expiresAt: string): void {
  const secure = policy.forceSecure || ctx.secure;
  if (secure) ctx.cookies.secure = true;
  ctx.cookies.set(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: new Date(expiresAt), overwrite: true });
}

export function clearSessionCookie(ctx: AppContext, policy: CookiePolicy): void {
  const secure = policy.forceSecure || ctx.secure;
  if (secure) ctx.cookies.secure = true;
  ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'lax', secure, path: '/', expires: new Date(0), overwrite: true });
}

/**
 * Resolves the caller's principal from a bearer API key or the session cookie. It never refuses
 * a request by itself (routes declare their access), except for a malformed or unknown bearer
 * token: a client that explicitly presents a bad credential gets 401, not anonymous treatment —
 * and for a restricted session, whose requests beyond what it is limited to get 403 (restriction.ts).
 */
export function authenticate(auth: AuthService, policy: CookiePolicy): Middleware<AppState> {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (header) {
      const match = /^Bearer ([\x21-\x7e]{1,256})$/i.exec(header);
      const principal = match?.[1] ? await auth.fromApiKey(match[1]) : null;
      if (!principal) throw errors.unauthenticated();
      ctx.state.principal = principal;
      return next();
    }
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) {
      const resolved = await auth.fromSessionToken(token, { allowRestricted: true });
      if (resolved) {
        const { restriction } = resolved.principal;
        if (restriction && !restrictionAllows(restriction, ctx.method, ctx.path)) throw restrictionError(restriction);
        ctx.state.principal = resolved.principal;
        if (resolved.refreshed) setSessionCookie(ctx as AppContext, policy, token, resolved.session.expiresAt);
      } else {
        clearSessionCookie(ctx as AppContext, policy);
      }
    }
    return next();
  };
}
