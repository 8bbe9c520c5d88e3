import { z } from 'zod';
import { apiKeyRoles } from '../auth/roles.ts';
import { actingOf, principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { presentApiKey, type ApiKeyService } from './api-keys.ts';
import { displayName } from '../http/names.ts';

const tag = 'API keys';

const ApiKey = z
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

const CreateApiKeyBody = z.strictObject({ name: displayName(100), role: z.enum(apiKeyRoles) });

export function apiKeyRoutes(apiKeys: ApiKeyService) {
  return [
    route({
      method: 'get',
      path: '/api-keys',
      summary: "List your organisation's active API keys",
      tag,
      access: 'admin',
      responses: { 200: { description: 'Keys (never their secrets)', schema: z.object({ apiKeys: z.array(ApiKey) }) } },
      handler: async (ctx) => ({ apiKeys: (await apiKeys.list(principalOf(ctx).organisationId)).map(presentApiKey) }),
    }),
    route({
      method: 'post',
      path: '/api-keys',
      summary: 'Create an API key; the key is returned once and never again',
      tag,
      access: 'admin',
      body: CreateApiKeyBody,
      status: 201,
      responses: { 201: { description: 'Created', schema: ApiKey.extend({ key: z.string() }) } },
      handler: async (ctx, { body }) => {
        const { doc, key } = await apiKeys.create(actingOf(ctx), body);
        return { ...presentApiKey(doc), key };
      },
    }),
    route({
      method: 'delete',
      path: '/api-keys/:id',
      summary: 'Revoke an API key',
      tag,
      access: 'admin',
      params: z.object({ id: idParam }),
      status: 204,
      responses: { 204: { description: 'Revoked' }, 404: { description: 'No such active key in your organisation' } },
      handler: async (ctx, { params }) => {
        await apiKeys.revoke(actingOf(ctx), params.id);
      },
    }),
  ];
}
