import { z } from 'zod';
import { roles } from '../auth/roles.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from '../auth/passwords.ts';
import { displayName } from '../http/names.ts';

export const email = z.email().max(254);
export const personName = displayName(120);
export const password = z.string().min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`).max(PASSWORD_MAX);
export const role = z.enum(roles);

export const User = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role,
    organisationId: z.string(),
    instanceOwner: z.boolean(),
    disabled: z.boolean(),
    createdAt: z.string(),
    lastLoginAt: z.string().nullable(),
    /** A reset password: the user must choose a new one at the next sign-in. */
    mustChangePassword: z.boolean(),
    /** Signs in in two steps, with a code from an authenticator app. */
    totpEnabled: z.boolean(),
  })
  .meta({ id: 'User' });

export const CreateUserBody = z.strictObject({ email, name: personName, role, password });

export const UpdateUserBody = z
  .strictObject({ name: personName.optional(), role: role.optional(), disabled: z.boolean().optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'give at least one of name, role, disabled' });

export const ResetPasswordBody = z.strictObject({
  password: password.optional().describe('The temporary password; omit it to have a strong one generated'),
  removeTotp: z.boolean().optional().describe("Also turn the user's two-step sign-in off, for a lost authenticator"),
});

export const ResetPasswordResponse = z.object({
  user: User,
  temporaryPassword: z.string().nullable().describe('The generated password, shown this once; null when you chose it'),
  sessionsEnded: z.number().int(),
});

export const UserResponse = z.object({ user: User });
export const UserListResponse = z.object({ users: z.array(User) });
