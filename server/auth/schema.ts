import { z } from 'zod';
import { OrganisationRef } from '../organisations/schema.ts';
import { User } from '../users/schema.ts';
import { sessionRestrictions } from './restriction.ts';

export const Restriction = z
  .enum(sessionRestrictions)
  .nullable()
  .describe('What the session is limited to until it is done: `password_change` after a reset, `totp_enrolment` where the organisation requires two-step sign-in; null: nothing');

export const SignedIn = z.object({ user: User, restriction: Restriction });
const SecondStep = z.object({
  secondFactor: z
    .object({ token: z.string(), expiresAt: z.string() })
    .describe('Two-step sign-in is on: send this token with a code to POST /auth/login/second-factor within five minutes'),
});
const ChooseOrganisation = z.object({
  chooseOrganisation: z
    .array(OrganisationRef)
    .describe('The password opens accounts in several organisations: sign in again with `organisationId` set to one of these'),
});
export const SignInResponse = z.union([SignedIn, SecondStep, ChooseOrganisation]);

export const SetupStatus = z.object({
  needed: z.boolean(),
  tokenRequired: z.boolean(),
  /** Where the token is: `log` when the server generated one (it listens beyond loopback and none was configured). */
  tokenSource: z.enum(['environment', 'file', 'log']).nullable(),
});
export const SetupResponse = z.object({ user: User, organisation: OrganisationRef });

export const MeResponse = z.object({
  user: User.nullable(),
  apiKey: z.object({ id: z.string(), name: z.string().nullable(), role: z.string() }).optional(),
  organisation: OrganisationRef,
  restriction: Restriction.optional(),
});

export const TotpStatus = z
  .object({
    enabled: z.boolean(),
    enabledAt: z.string().nullable(),
    settingUp: z.boolean().describe('A key was handed out and waits for a code to confirm it'),
    recoveryCodesLeft: z.number().int(),
  })
  .meta({ id: 'TotpStatus' });

export const TotpKey = z.object({ secret: z.string(), uri: z.string() });

export const RecoveryCodes = z.object({ recoveryCodes: z.array(z.string()).describe('Each works once in place of a code; shown this once') });

/** Re-confirms the person before two-step sign-in is turned off or its recovery codes replaced. */
export const Reauth = z
  .strictObject({ code: z.string().max(20).optional(), password: z.string().max(1024).optional() })
  .refine((b) => (b.code === undefined) !== (b.password === undefined), { message: 'give either code (from your authenticator) or password' });
