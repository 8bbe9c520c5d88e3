import { z } from 'zod';
import { errors } from '../errors.ts';
import { actingOf, clientOf, principalOf, type AppContext } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { organisationName } from '../organisations/schema.ts';
import { email, password, personName } from '../users/schema.ts';
import { presentUser } from '../users/users.ts';
import type { AuthService, SessionSignIn, SignIn } from './auth.ts';
import { clearSessionCookie, setSessionCookie, type CookiePolicy } from './middleware.ts';
import type { IssuedSession } from './sessions.ts';
import { MeResponse, SetupResponse, SetupStatus, SignedIn, SignInResponse } from './schema.ts';

export function authRoutes(auth: AuthService, cookies: CookiePolicy) {
  const startSession = (ctx: AppContext, issued: IssuedSession) => setSessionCookie(ctx, cookies, issued.token, issued.session.expiresAt);
  const sessionStarted = (ctx: AppContext, signIn: SessionSignIn) => {
    startSession(ctx, signIn.session);
    return { user: presentUser(signIn.user), restriction: signIn.restriction };
  };
  const signedIn = (ctx: AppContext, signIn: SignIn) => {
    if ('chooseOrganisation' in signIn) return { chooseOrganisation: signIn.chooseOrganisation };
    if ('secondFactor' in signIn) return { secondFactor: signIn.secondFactor };
    return sessionStarted(ctx, signIn);
  };

  return [
    route({
      method: 'get',
      path: '/setup',
      summary: 'Whether first-run setup is still needed',
      tag: 'Setup',
      access: 'public',
      responses: {
        200: {
          description: 'Setup state; `tokenRequired` when setup needs a token: the operator set SETUP_TOKEN (`tokenSource` `environment`) or SETUP_TOKEN_FILE (`file`), or the server listens beyond loopback and printed one in its log (`log`)',
          schema: SetupStatus,
        },
      },
      handler: async () => ({ needed: await auth.setupNeeded(), tokenRequired: auth.setupTokenRequired, tokenSource: auth.setupTokenSource }),
    }),
    route({
      method: 'post',
      path: '/setup',
      summary: 'First-run setup: create the first organisation and its owner, who becomes the instance owner',
      tag: 'Setup',
      access: 'public',
      body: z.strictObject({ organisation: organisationName, name: personName, email, password, setupToken: z.string().max(512).optional() }),
      status: 201,
      responses: {
        201: { description: 'Set up; the session cookie is set', schema: SetupResponse },
        403: { description: 'Setup token missing or wrong (`invalid_setup_token`)' },
        409: { description: 'Already set up (`setup_done`)' },
      },
      handler: async (ctx, { body }) => {
        const { user, organisation, session } = await auth.setup(body, clientOf(ctx));
        startSession(ctx, session);
        return { user: presentUser(user), organisation: { id: organisation._id, name: organisation.name } };
      },
    }),
    route({
      method: 'post',
      path: '/auth/login',
      summary: 'Sign in with email and password',
      tag: 'Auth',
      access: 'public',
      body: z.strictObject({ email: z.string().max(254), password: z.string().max(1024), organisationId: idParam.optional() }),
      responses: {
        200: {
          description:
            'Signed in (the session cookie is set; `restriction` says what it is limited to); with two-step sign-in on, the token for the second step; or, when the password opens accounts in several organisations, which ones',
          schema: SignInResponse,
        },
        401: { description: 'Wrong email or password (`invalid_credentials`), the same for both' },
        429: { description: 'Too many failures for this account or address (`rate_limited`, `Retry-After`)' },
      },
      handler: async (ctx, { body }) => signedIn(ctx, await auth.login(body.email, body.password, clientOf(ctx), body.organisationId)),
    }),
    route({
      method: 'post',
      path: '/auth/login/second-factor',
      summary: 'The second step of a two-step sign-in: the token from the first and a code from the authenticator app, or a recovery code',
      tag: 'Auth',
      access: 'public',
      body: z
        .strictObject({ token: z.string().max(200), code: z.string().max(20).optional(), recoveryCode: z.string().max(40).optional() })
        .refine((b) => (b.code === undefined) !== (b.recoveryCode === undefined), { message: 'give either code or recoveryCode' }),
      responses: {
        200: { description: 'Signed in; the session cookie is set', schema: SignedIn },
        400: { description: 'The code is wrong or was already used (`invalid_code`); the token stays good until it expires' },
        401: { description: 'The token expired, was used, or the password changed since (`sign_in_expired`): sign in again' },
        429: { description: 'Too many wrong codes for this account (`rate_limited`, `Retry-After`)' },
      },
      handler: async (ctx, { body }) => {
        const factor = body.code !== undefined ? { code: body.code } : { recoveryCode: body.recoveryCode ?? '' };
        return sessionStarted(ctx, await auth.completeSignIn(body.token, factor, clientOf(ctx)));
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      summary: 'Sign out: the session is revoked',
      tag: 'Auth',
      access: 'authenticated',
      sessionOnly: true,
      status: 204,
      responses: { 204: { description: 'Signed out' } },
      handler: async (ctx) => {
        await auth.logout(actingOf(ctx));
        clearSessionCookie(ctx, cookies);
      },
    }),
    route({
      method: 'post',
      path: '/auth/password',
      summary: 'Change your password; every other session of yours is revoked',
      tag: 'Auth',
      access: 'authenticated',
      sessionOnly: true,
      body: z.strictObject({ currentPassword: z.string().max(1024), newPassword: password }),
      status: 204,
      responses: { 204: { description: 'Changed; a fresh session cookie is set' }, 400: { description: 'Current password wrong (`wrong_password`) or new one invalid' } },
      handler: async (ctx, { body }) => {
        startSession(ctx, await auth.changePassword(actingOf(ctx), body.currentPassword, body.newPassword, clientOf(ctx)));
      },
    }),
    route({
      method: 'get',
      path: '/me',
      summary: 'Who you are: the signed-in user (or API key) and its organisation',
      tag: 'Auth',
      access: 'authenticated',
      responses: {
        200: {
          description: 'The caller',
          schema: MeResponse,
        },
        401: { description: 'No credentials (`unauthenticated`)' },
      },
      handler: async (ctx) => {
        const principal = principalOf(ctx);
        const { user, organisation } = await auth.me(principal);
        const org = { id: organisation._id, name: organisation.name };
        if (user) return { user: presentUser(user), organisation: org, restriction: principal.restriction ?? null };
        if (!principal.apiKeyId) throw errors.unauthenticated();
        return { user: null, apiKey: { id: principal.apiKeyId, name: principal.actor.name, role: principal.role }, organisation: org };
      },
    }),
  ];
}
