import { z } from 'zod';
import { apiKeyRoles } from '../auth/roles.ts';
import { displayName } from '../http/names.ts';

export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(apiKeyRoles),
    prefix: z.string(),
    createdAt: z.string(),
    createdBy: z.object({ id: z.string(), name: z.string() }).nullable(),
    lastUsedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const ApiKeyList = z.object({ apiKeys: z.array(ApiKey) });

/** A new key with its secret, shown this once. */
export const CreatedApiKey = ApiKey.extend({ key: z.string() });

export const CreateApiKeyBody = z.strictObject({ name: displayName(100), role: z.enum(apiKeyRoles) });
