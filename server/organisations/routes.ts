import { z } from 'zod';
import { actingOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { email, password, personName } from '../users/schema.ts';
import { presentUser, type UserService } from '../users/users.ts';
import { presentOrganisation, type OrganisationService } from './organisations.ts';
import type { OrganisationDeletions } from './deletion.ts';
import { CreatedOrganisationResponse, OrganisationListResponse, OrganisationResponse, organisationName } from './schema.ts';

const tag = 'Organisations';

export function organisationRoutes(organisations: OrganisationService, users: UserService, deletions: OrganisationDeletions) {
  return [
    route({
      method: 'get',
      path: '/organisations',
      summary: 'List every organisation on this instance (instance owner)',
      tag,
      access: 'instanceOwner',
      responses: { 200: { description: 'Organisations', schema: OrganisationListResponse } },
      handler: async () => ({
        organisations: await Promise.all(
          (await organisations.list()).map(async (o) => ({ ...presentOrganisation(o), userCount: await users.countIn(o._id) })),
        ),
      }),
    }),
    route({
      method: 'post',
      path: '/organisations',
      summary: 'Create an organisation with its first admin (instance owner)',
      tag,
      access: 'instanceOwner',
      body: z.strictObject({ name: organisationName, admin: z.strictObject({ name: personName, email, password }) }),
      status: 201,
      responses: {
        201: { description: 'Created', schema: CreatedOrganisationResponse },
        409: { description: 'The admin email is already used (`email_taken`)' },
      },
      handler: async (ctx, { body }) => {
        const { organisation, user } = await organisations.create(actingOf(ctx), body);
        return { organisation: presentOrganisation(organisation), admin: presentUser(user) };
      },
    }),
    route({
      method: 'delete',
      path: '/organisations/:id',
      summary:
        'Delete an organisation and everything of it: users, sessions, API keys, knowledge bases, documents and their files, conversations, usage and audit log (instance owner; not your own). Confirm with its name. It runs in the background: the organisation is listed with `deleting` until it is gone, and one entry in your audit log records it.',
      tag,
      access: 'instanceOwner',
      sessionOnly: true,
      params: z.object({ id: idParam }),
      body: z.strictObject({ confirm: z.string().max(200).describe("The organisation's name, exactly") }),
      status: 202,
      responses: {
        202: { description: 'Deletion started (or already under way)', schema: OrganisationResponse },
        400: { description: 'The confirmation is not the organisation\'s name (`validation_failed`)' },
        404: { description: 'No such organisation' },
        409: { description: 'It is your own organisation' },
      },
      handler: async (ctx, { params, body }) => ({ organisation: presentOrganisation(await deletions.request(actingOf(ctx), params.id, body.confirm)) }),
    }),
  ];
}
