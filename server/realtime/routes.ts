import { z } from 'zod';
import { principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import type { KnowledgeBaseService } from '../kb/knowledge-bases.ts';
import type { ClientSecrets } from './client-secrets.ts';

export function realtimeRoutes(d: { secrets: ClientSecrets; kbs: KnowledgeBaseService }) {
  return [
    route({
      method: 'post',
      path: '/realtime/sessions',
      summary:
        'Mint a short-lived client secret for /v1/realtime, for clients that cannot set headers (a browser WebSocket): send it as `Authorization: Bearer ek_…` or the `openai-insecure-api-key.ek_…` subprotocol. It acts as you, for one knowledge base.',
      tag: 'Realtime',
      access: 'viewer',
      body: z.strictObject({ model: z.string().regex(/^kb:[a-z2-7]{1,64}$/, 'kb:<knowledge base id>'), expiresInSeconds: z.number().int().min(10).max(600).default(60) }),
      status: 201,
      responses: {
        201: { description: 'The secret, shown once', schema: z.object({ client_secret: z.object({ value: z.string(), expires_at: z.number() }), model: z.string() }) },
        404: { description: 'No such knowledge base' },
      },
      handler: async (ctx, { body }) => {
        const principal = principalOf(ctx);
        const kbId = idParam.parse(body.model.slice(3));
        await d.kbs.get(principal.organisationId, kbId);
        const { value, expiresAt } = await d.secrets.mint(principal, kbId, body.expiresInSeconds);
        return { client_secret: { value, expires_at: Math.floor(Date.parse(expiresAt) / 1000) }, model: body.model };
      },
    }),
  ];
}
