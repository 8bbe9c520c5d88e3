import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('console files', () => {
  let server: TestServer;
  before(async () => void (server = await startTestServer()));
  after(() => server?.close());

  it('answers HEAD as GET would, without the body: 200 with its type and length, not 204', async () => {
    for (const path of ['/assets/app.js', '/', '/kbs']) {
      const get = await fetch(`${server.url}${path}`);
      const body = await get.arrayBuffer();
      assert.equal(get.status, 200, `${path}: npm test builds the console before the tests`);
      const head = await fetch(`${server.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200, path);
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
      assert.equal(head.headers.get('content-length'), String(body.byteLength), path);
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    }
  });
});
