import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, setUp } from '../helpers/client.ts';

// Findings of the security review, each reproduced first: a body the JSON parser refuses is the
// client's mistake (400 invalid_json, nothing of it logged), uploaded names keep their UTF-8, and
// another organisation's knowledge base is a 404 before any stream starts.

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

describe('uploaded file names', () => {
  let server: TestServer;
  let owner: Awaited<ReturnType<typeof setUp>>['owner'];
  before(async () => {
    server = await startTestServer();
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  it('keeps a UTF-8 name exactly, sent raw as browsers do or as RFC 5987 filename*', async () => {
    const kbId = (await owner.post('/api/v1/kbs', { name: 'Names' })).json.id as string;
    const name = 'Café – Übersicht 日本語.txt';
    const raw = await owner.upload(kbId, [{ name, bytes: 'Öffnungszeiten: Montag bis Freitag.' }]);
    assert.equal(raw.status, 202);
    assert.equal(raw.json.documents[0].name, name);

    const boundary = 'lectern-test-boundary';
    // All ASCII on the wire: the name travels percent-encoded.
    const body = [
      `--${boundary}`,
      `Content-Disposition: form-data; name="files"; filename="fallback.txt"; filename*=UTF-8''${encodeURIComponent('Ünïcødé 二.txt')}`,
      'Content-Type: text/plain',
      '',
      'Zweite Datei.',
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const encoded = await owner.request('POST', `/api/v1/kbs/${kbId}/documents`, body, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    assert.equal(encoded.status, 202);
    assert.equal(encoded.json.documents[0].name, 'Ünïcødé 二.txt');

    const listed = (await owner.get(`/api/v1/kbs/${kbId}/documents`)).json.documents.map((d: { name: string }) => d.name).sort();
    assert.deepEqual(listed, [name, 'Ünïcødé 二.txt'].sort());
  });
});

describe('the OpenAI-compatible API and other organisations', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("answers 404 before streaming for another organisation's knowledge base", async () => {
    const { owner } = await setUp(server.url);
    const theirs = (await owner.post('/api/v1/kbs', { name: 'Riverside private' })).json.id as string;
    const other = await owner.post('/api/v1/organisations', { name: 'Hilltop', admin: { name: 'Bea', email: 'bea@hilltop.test', password: 'a sufficiently long password' } });
    assert.equal(other.status, 201);
    const bea = new Client(server.url);
    assert.equal((await bea.post('/api/v1/auth/login', { email: 'bea@hilltop.test', password: 'a sufficiently long password' })).status, 200);
    const key = (await bea.post('/api/v1/api-keys', { name: 'tools', role: 'viewer' })).json.key as string;
    for (const stream of [true, false]) {
      const reply = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: `kb:${theirs}`, stream, messages: [{ role: 'user', content: 'What is private?' }] }),
      });
      assert.equal(reply.status, 404, `stream: ${stream}`);
      assert.match(reply.headers.get('content-type') ?? '', /application\/json/);
    }
  });
});
