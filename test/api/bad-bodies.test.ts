import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { setUp } from '../helpers/client.ts';

// A body the JSON parser refuses is the client's mistake: 400 invalid_json, and the body —
// a login's password with it — never reaches the log.

describe('request bodies the parser refuses', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await setUp(server.url);
  });
  after(() => server.close());

  const post = (path: string, body: string) => fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.url }, body });

  for (const [name, body] of [
    ['__proto__', '{"email":"owner@riverside.test","password":"hunter2-proto-password","__proto__":{}}'],
    ['broken JSON', '{"email":"owner@riverside.test","password":"hunter2-broken-password"'],
  ] as const) {
    it(`answers 400 invalid_json to a login naming ${name}, and logs no part of it`, async () => {
      const reply = await post('/api/v1/auth/login', body);
      assert.equal(reply.status, 400);
      assert.equal(((await reply.json()) as { error: { code: string } }).error.code, 'invalid_json');
      assert.ok(!JSON.stringify(server.logs).includes('hunter2'), 'the password reached the log');
    });
  }
});
