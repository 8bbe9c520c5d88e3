import { z } from 'zod';
import { actingOf, principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { presentUser, type UserService } from './users.ts';
import { CreateUserBody, ResetPasswordBody, ResetPasswordResponse, UpdateUserBody, UserListResponse, UserResponse } from './schema.ts';

const tag = 'Users';
const params = z.object({ id: idParam });

export function userRoutes(users: UserService) {
  return [
    route({
      method: 'get',
      path: '/users',
      summary: 'List the users of your organisation',
      tag,
      access: 'admin',
      responses: { 200: { description: 'Users', schema: UserListResponse } },
      handler: async (ctx) => ({ users: (await users.list(principalOf(ctx).organisationId)).map(presentUser) }),
    }),
    route({
      method: 'post',
      path: '/users',
      summary: 'Create a user in your organisation',
      tag,
      access: 'admin',
      body: CreateUserBody,
      status: 201,
      responses: { 201: { description: 'Created', schema: UserResponse }, 409: { description: 'Email already used (`email_taken`)' } },
      handler: async (ctx, { body }) => ({ user: presentUser(await users.create(actingOf(ctx), body)) }),
    }),
    route({
      method: 'patch',
      path: '/users/:id',
      summary: 'Rename a user, change their role, or disable/enable them',
      tag,
      access: 'admin',
      params,
      body: UpdateUserBody,
      responses: { 200: { description: 'Updated', schema: UserResponse }, 404: { description: 'No such user in your organisation' } },
      handler: async (ctx, { params: p, body }) => ({ user: presentUser(await users.update(actingOf(ctx), p.id, body)) }),
    }),
    route({
      method: 'post',
      path: '/users/:id/reset-password',
      summary: 'Reset a member’s password: a temporary one they must change at their next sign-in; every session of theirs ends',
      tag,
      access: 'admin',
      // A person's act, recorded under their name: an API key cannot take over accounts.
      sessionOnly: true,
      params,
      body: ResetPasswordBody,
      responses: {
        200: { description: 'Reset; the temporary password is in the response, once', schema: ResetPasswordResponse },
        403: { description: "An owner's password by a non-owner, or the instance owner's (only `npm run admin -- reset-password` on the host)" },
        404: { description: 'No such user in your organisation' },
        409: { description: 'Your own password (change it instead)' },
      },
      handler: async (ctx, { params: p, body }) => {
        const done = await users.resetPassword(actingOf(ctx), p.id, body);
        // The temporary password is for the admin who asked, once: no cache keeps it.
        ctx.set('cache-control', 'no-store');
        return { user: presentUser(done.user), temporaryPassword: done.temporaryPassword, sessionsEnded: done.sessionsEnded };
      },
    }),
    route({
      method: 'delete',
      path: '/users/:id',
      summary: 'Delete a user and end their sessions',
      tag,
      access: 'admin',
      params,
      status: 204,
      responses: { 204: { description: 'Deleted' }, 404: { description: 'No such user in your organisation' } },
      handler: async (ctx, { params: p }) => {
        await users.remove(actingOf(ctx), p.id);
      },
    }),
  ];
}
