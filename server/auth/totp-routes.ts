import { z } from 'zod';
import { actingOf, principalOf, type AppContext } from '../http/context.ts';
import { route } from '../http/route.ts';
import type { AuthService } from './auth.ts';
import type { Reauthentication, TwoFactorService } from './two-factor.ts';
import { Reauth, RecoveryCodes, TotpKey, TotpStatus } from './schema.ts';

const tag = 'Two-step sign-in';

const reauthOf = (body: { code?: string | undefined; password?: string | undefined }): Reauthentication =>
  body.code !== undefined ? { code: body.code } : { password: body.password ?? '' };

/** Secrets in a response are for the person who asked, once: no cache keeps them. */
const noStore = (ctx: AppContext) => ctx.set('cache-control', 'no-store');

export function totpRoutes(auth: AuthService, twoFactor: TwoFactorService) {
  const me = (ctx: AppContext) => auth.currentUser(principalOf(ctx));
  return [
    route({
      method: 'get',
      path: '/auth/totp',
      summary: 'Whether your two-step sign-in is on, and how many recovery codes are left',
      tag,
      access: 'authenticated',
      sessionOnly: true,
      responses: { 200: { description: 'Status', schema: TotpStatus } },
      handler: async (ctx) => twoFactor.status(await me(ctx)),
    }),
    route({
      method: 'post',
      path: '/auth/totp/setup',
      summary: 'Start setting up two-step sign-in: a new key, for an authenticator app (TOTP, 30 s, 6 digits)',
      tag,
      access: 'authenticated',
      sessionOnly: true,
      responses: {
        200: { description: 'The key as base32 text and as an otpauth:// URI (for a QR code); shown once. It counts once confirmed with a code.', schema: TotpKey },
        409: { description: 'Already on (`conflict`)' },
      },
      handler: async (ctx) => {
        noStore(ctx);
        return twoFactor.begin(await me(ctx));
      },
    }),
    route({
      method: 'post',
      path: '/auth/totp/confirm',
      summary: 'Turn two-step sign-in on with a code from the new key; returns ten single-use recovery codes',
      tag,
      access: 'authenticated',
      sessionOnly: true,
      body: z.strictObject({ code: z.string().max(20) }),
      responses: {
        200: { description: 'On; the recovery codes are shown this once', schema: RecoveryCodes },
        400: { description: 'Wrong code (`invalid_code`)' },
        409: { description: 'Already on, or no key is waiting (`conflict`)' },
        429: { description: 'Too many wrong codes (`rate_limited`)' },
      },
      handler: async (ctx, { body }) => {
        noStore(ctx);
        return { recoveryCodes: await twoFactor.confirm(actingOf(ctx), await me(ctx), body.code) };
      },
    }),
    route({
      method: 'post',
      path: '/auth/totp/disable',
      summary: 'Turn two-step sign-in off, with a current code or your password',
      tag,
      access: 'authenticated',
      sessionOnly: true,
      body: Reauth,
      status: 204,
      responses: {
        204: { description: 'Off. Where your organisation requires it, your sessions can only set it up again.' },
        400: { description: 'Wrong code (`invalid_code`) or password (`wrong_password`)' },
        409: { description: 'Not on (`conflict`)' },
        429: { description: 'Too many wrong attempts (`rate_limited`)' },
      },
      handler: async (ctx, { body }) => {
        await twoFactor.disable(actingOf(ctx), await me(ctx), reauthOf(body));
      },
    }),
    route({
      method: 'post',
      path: '/auth/totp/recovery-codes',
      summary: 'Replace your recovery codes with ten new ones, with a current code or your password',
      tag,
      access: 'authenticated',
      sessionOnly: true,
      body: Reauth,
      responses: {
        200: { description: 'The new codes, shown this once; the old ones no longer work', schema: RecoveryCodes },
        400: { description: 'Wrong code (`invalid_code`) or password (`wrong_password`)' },
        409: { description: 'Two-step sign-in is not on (`conflict`)' },
      },
      handler: async (ctx, { body }) => {
        noStore(ctx);
        return { recoveryCodes: await twoFactor.replaceRecoveryCodes(actingOf(ctx), await me(ctx), reauthOf(body)) };
      },
    }),
  ];
}
