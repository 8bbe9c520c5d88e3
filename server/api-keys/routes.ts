import { z } from 'zod';
import { actingOf, principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { presentApiKey, type ApiKeyService } from './api-keys.ts';
import { ApiKeyList, CreateApiKeyBody, CreatedApiKey } from './schema.ts';

const tag = 'API keys';

export function apiKeyRoutes(apiKeys: ApiKeyService) {
  return [
    route({
      method: 'get',
      path: '/api-keys',
      summary: "List your organisation's active API keys",
      tag,
      access: 'admin',
      responses: { 200: { description: 'Keys (never their secrets)', schema: ApiKeyList } },
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
      responses: { 201: { description: 'Created', schema: CreatedApiKey } },
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
