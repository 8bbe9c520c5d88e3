import { z } from 'zod';
import { actingOf, principalOf } from '../http/context.ts';
import { idParam, route } from '../http/route.ts';
import { presentUser, type UserService } from './users.ts';
import { CreateUserBody, UpdateUserBody, UserListResponse, UserResponse } from './schema.ts';

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
