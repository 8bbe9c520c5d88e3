import { z } from 'zod';
import { actingOf } from '../http/context.ts';
import { route } from '../http/route.ts';
import { email, password, personName, User } from '../users/schema.ts';
import { presentUser, type UserService } from '../users/users.ts';
import { presentOrganisation, type OrganisationService } from './organisations.ts';
import { displayName } from '../http/names.ts';

const tag = 'Organisations';
export const organisationName = displayName(120);

const Organisation = z.object({ id: z.string(), name: z.string(), createdAt: z.string() }).meta({ id: 'Organisation' });

export function organisationRoutes(organisations: OrganisationService, users: UserService) {
  return [
    route({
      method: 'get',
      path: '/organisations',
      summary: 'List every organisation on this instance (instance owner)',
      tag,
      access: 'instanceOwner',
      responses: { 200: { description: 'Organisations', schema: z.object({ organisations: z.array(Organisation.extend({ userCount: z.number() })) }) } },
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
        201: { description: 'Created', schema: z.object({ organisation: Organisation, admin: User }) },
        409: { description: 'The admin email is already used (`email_taken`)' },
      },
      handler: async (ctx, { body }) => {
        const { organisation, user } = await organisations.create(actingOf(ctx), body);
        return { organisation: presentOrganisation(organisation), admin: presentUser(user) };
      },
    }),
  ];
}
