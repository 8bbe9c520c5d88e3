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

describe('console chunks', () => {
  let server: TestServer;
  before(async () => void (server = await startTestServer()));
  after(() => server?.close());

  it('app.js and the chunks it imports, statically or on demand (the voice code), are served and cached like any hashed asset', async () => {
    const page = await (await fetch(`${server.url}/kbs`)).text();
    const app = /"\/assets\/app\.js\?v=[0-9a-f]{12}"/.exec(page)?.[0].slice(1, -1);
    assert.ok(app, 'index.html names app.js with its content hash');
    const script = await (await fetch(`${server.url}${app}`)).text();
    const chunks = [...script.matchAll(/(?:from\s*|import\()"\.\/([\w-]+\.js)"/g)].map((m) => m[1]);
    assert.ok(chunks.some((c) => c?.startsWith('voice-live-')), `the voice code is a chunk of its own: ${chunks.join(', ')}`);
    for (const chunk of chunks) {
      assert.match(chunk ?? '', /-[A-Z0-9]{8}\.js$/, 'chunk names carry their content hash');
      const res = await fetch(`${server.url}/assets/${chunk}`);
      await res.arrayBuffer();
      assert.equal(res.status, 200, String(chunk));
      assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
  });
});
