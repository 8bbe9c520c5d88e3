import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { presentResponse, ResponseSchemaError, route } from './route.ts';

const Key = z.object({ id: z.string(), name: z.string(), createdBy: z.object({ id: z.string() }).nullable() });
const def = route({ method: 'get', path: '/keys/:id', summary: 'A key', tag: 'Keys', access: 'viewer', responses: { 200: { description: 'The key', schema: Key } }, handler: () => ({ id: 'k1', name: 'tools', createdBy: null }) });

describe('response schemas', () => {
  it('sends only the fields the schema declares, however much the presenter let through', () => {
    const leaked = { id: 'k1', name: 'tools', secretHash: 'abc123', createdBy: { id: 'u1', passwordHash: 'x' } };
    assert.deepEqual(presentResponse(def, 200, leaked), { id: 'k1', name: 'tools', createdBy: { id: 'u1' } });
  });

  it('refuses a response that does not match, naming the route and the fields', () => {
    assert.throws(
      () => presentResponse(def, 200, { id: 'k1', createdBy: null }),
      (err: unknown) => err instanceof ResponseSchemaError && /GET \/keys\/:id/.test(err.message) && err.issues.some((i) => i.path === 'name'),
    );
  });

  it('leaves streams, bytes and undeclared statuses as the handler wrote them', () => {
    const stream = new PassThrough();
    assert.equal(presentResponse(def, 200, stream), stream);
    const bytes = new Uint8Array([1, 2]);
    assert.equal(presentResponse(def, 200, bytes), bytes);
    assert.deepEqual(presentResponse(def, 202, { anything: true }), { anything: true });
  });
});
