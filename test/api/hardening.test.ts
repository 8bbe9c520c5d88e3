import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, OWNER, setUp, signedIn } from '../helpers/client.ts';

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

describe('login throttling under concurrency', () => {
  let server: TestServer;
  const VICTIM = { email: 'victim@riverside.test', password: 'the victim passphrase is long' };
  before(async () => {
    server = await startTestServer({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_IP: '20' } });
    const { owner } = await setUp(server.url);
    assert.equal((await owner.post('/api/v1/users', { ...VICTIM, name: 'Victim', role: 'viewer' })).status, 201);
  });
  after(() => server.close());

  const login = (email: string, password: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.url, ...headers }, body: JSON.stringify({ email, password }) });

  it('evaluates at most the limit of 200 parallel guesses against one account', async (t) => {
    const email = 'guessed@riverside.test';
    const statuses = await Promise.all(Array.from({ length: 200 }, (_, i) => login(email, `wrong guess number ${i}`).then((r) => r.status)));
    const evaluated = statuses.filter((s) => s === 401).length;
    t.diagnostic(`${evaluated} of 200 parallel guesses evaluated, ${200 - evaluated} refused with 429`);
    assert.ok(evaluated <= 5, `${evaluated} of 200 guesses were evaluated`);
    assert.equal(statuses.filter((s) => s === 429).length, 200 - evaluated);
  });

  it('refuses the right password sent as the 41st of a parallel burst', async () => {
    const burst = Array.from({ length: 40 }, (_, i) => login(VICTIM.email, `wrong guess number ${i}`));
    burst.push(login(VICTIM.email, VICTIM.password));
    const statuses = await Promise.all(burst.map((p) => p.then((r) => r.status)));
    assert.equal(statuses[40], 429, `the 41st attempt answered ${statuses[40]}`);
    assert.ok(statuses.filter((s) => s === 401).length <= 5);
  });

  it('slows an address with many failures instead of locking everyone behind it out', async () => {
    // 30 failures spread over accounts from this address: past the per-address limit of 20.
    for (let i = 0; i < 30; i++) await login(`sprayed-${i}@riverside.test`, 'wrong guess for spraying');
    const started = performance.now();
    const reply = await login(OWNER.email, OWNER.password);
    assert.equal(reply.status, 200, 'a colleague behind the same address can still sign in');
    assert.ok(performance.now() - started >= 200, 'but the address is slowed down');
  });
});

describe('client addresses behind a trusted proxy', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: '1' } });
    await setUp(server.url);
  });
  after(() => server.close());

  it('takes the address the trusted proxy saw, not a spoofed leftmost X-Forwarded-For entry', async () => {
    for (const spoofed of ['203.0.113.1', '203.0.113.2']) {
      const reply = await fetch(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.url, 'x-forwarded-for': `${spoofed}, 198.51.100.7` },
        body: JSON.stringify({ email: 'nobody@riverside.test', password: 'a wrong password here' }),
      });
      assert.equal(reply.status, 401);
    }
    const owner = await signedIn(server.url, OWNER.email, OWNER.password);
    const entries = (await owner.get('/api/v1/audit')).json.entries as Array<{ action: string; outcome: string; ip: string | null }>;
    const failures = entries.filter((e) => e.action === 'login' && e.outcome === 'failure');
    assert.deepEqual(failures.map((e) => e.ip), ['198.51.100.7', '198.51.100.7']);
  });
});

describe('passwords that are easy to guess', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('refuses them at setup, for new members and on change, saying why', async () => {
    const setup = await new Client(server.url).post('/api/v1/setup', { ...OWNER, password: OWNER.email });
    assert.equal(setup.status, 400);
    assert.equal(setup.json.error.code, 'weak_password');
    assert.deepEqual(setup.json.error.details.map((d: { path: string }) => d.path), ['password']);
    const { owner } = await setUp(server.url);
    for (const password of ['password1234', ' '.repeat(12), 'new@riverside.test', 'New Member 2026']) {
      const created = await owner.post('/api/v1/users', { email: 'new@riverside.test', name: 'New Member', role: 'viewer', password });
      assert.equal(created.status, 400, JSON.stringify(password));
      assert.equal(created.json.error.code, 'weak_password');
      assert.match(created.json.error.message, /^password: is (too easy to guess|only spaces)/);
    }
    const changed = await owner.post('/api/v1/auth/password', { currentPassword: OWNER.password, newPassword: 'password1234' });
    assert.equal(changed.status, 400);
    assert.deepEqual(changed.json.error.details.map((d: { path: string }) => d.path), ['newPassword']);
  });
});

describe('names that hide or reorder what is shown', () => {
  let server: TestServer;
  let owner: Client;
  before(async () => {
    server = await startTestServer();
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  it('are refused for knowledge bases, people, organisations and API keys', async () => {
    const attempts = [
      ['/api/v1/kbs', { name: 'invoice\u202Egpj.exe' }],
      ['/api/v1/kbs', { name: 'Policies', description: 'read\u2066me' }],
      ['/api/v1/users', { email: 'nul@riverside.test', name: 'Null\u0000Byte', role: 'viewer', password: 'a sufficiently long password' }],
      ['/api/v1/organisations', { name: 'Lone \uD800 surrogate', admin: { name: 'Bea', email: 'bea@hilltop.test', password: 'a sufficiently long password' } }],
      ['/api/v1/api-keys', { name: 'key\u202Eyek', role: 'viewer' }],
    ] as const;
    for (const [path, body] of attempts) {
      const reply = await owner.post(path, body);
      assert.equal(reply.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.equal(reply.json.error.code, 'validation_failed');
      assert.match(reply.json.error.message, /control characters, bidirectional-override marks or broken Unicode/);
    }
  });
});

describe('readiness to the outside', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { TRUST_PROXY: '1' } });
  });
  after(() => server.close());

  it('tells a forwarded caller only whether the instance is ready', async () => {
    const reply = await fetch(`${server.url}/readyz`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    assert.equal(reply.status, 200);
    assert.deepEqual(await reply.json(), { status: 'ready' });
  });

  it('gives the component inventory to a probe on the host and to the instance owner', async () => {
    const local = (await (await fetch(`${server.url}/readyz`)).json()) as { components: Array<{ name: string }> };
    assert.ok(local.components.some((c) => c.name === 'queue'));
    const { owner } = await setUp(server.url);
    const health = await owner.request('GET', '/api/v1/system/health', undefined, { 'x-forwarded-for': '198.51.100.7' });
    assert.equal(health.status, 200);
    assert.ok((health.json.components as Array<{ name: string }>).some((c) => c.name === 'queue'));
    const key = (await owner.post('/api/v1/api-keys', { name: 'probe', role: 'admin' })).json.key as string;
    const byKey = await fetch(`${server.url}/api/v1/system/health`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(byKey.status, 403);
  });
});

describe('an address used in another organisation', () => {
  let server: TestServer;
  let owner: Client;
  let bea: Client;
  before(async () => {
    server = await startTestServer();
    owner = (await setUp(server.url)).owner;
    const hilltop = await owner.post('/api/v1/organisations', { name: 'Hilltop', admin: { name: 'Bea', email: 'bea@hilltop.test', password: 'a sufficiently long password' } });
    assert.equal(hilltop.status, 201);
    bea = await signedIn(server.url, 'bea@hilltop.test', 'a sufficiently long password');
  });
  after(() => server.close());

  it("is not revealed to another organisation's admin adding it", async () => {
    const added = await bea.post('/api/v1/users', { email: OWNER.email, name: 'Ada at Hilltop', role: 'viewer', password: 'hilltop has its own passphrase' });
    assert.equal(added.status, 201, 'the same address in another organisation is no conflict');
    const again = await bea.post('/api/v1/users', { email: OWNER.email, name: 'Ada twice', role: 'viewer', password: 'hilltop has its own passphrase' });
    assert.equal(again.status, 409, 'within one organisation an address is still unique');
    assert.equal(again.json.error.code, 'email_taken');
  });

  it('signs in to the account the password opens, and asks which when it opens several', async () => {
    const riverside = await signedIn(server.url, OWNER.email, OWNER.password);
    assert.equal((await riverside.get('/api/v1/me')).json.organisation.name, 'Riverside Clinic');
    const hilltop = await signedIn(server.url, OWNER.email, 'hilltop has its own passphrase');
    assert.equal((await hilltop.get('/api/v1/me')).json.organisation.name, 'Hilltop');

    assert.equal((await hilltop.post('/api/v1/auth/password', { currentPassword: 'hilltop has its own passphrase', newPassword: OWNER.password })).status, 204);
    const c = new Client(server.url);
    const ambiguous = await c.post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password });
    assert.equal(ambiguous.status, 200);
    assert.equal(c.cookie, null, 'no session until one is chosen');
    const choices = ambiguous.json.chooseOrganisation as Array<{ id: string; name: string }>;
    assert.deepEqual(choices.map((o) => o.name).sort(), ['Hilltop', 'Riverside Clinic']);
    const chosen = await c.post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password, organisationId: choices.find((o) => o.name === 'Hilltop')!.id });
    assert.equal(chosen.status, 200);
    assert.equal((await c.get('/api/v1/me')).json.organisation.name, 'Hilltop');
  });
});

describe('a refused upload', () => {
  let server: TestServer;
  let owner: Client;
  let kbId: string;
  before(async () => {
    server = await startTestServer({ env: { UPLOAD_MAX_FILE_MB: '1', LIMIT_UPLOADS_PER_MINUTE: '3' } });
    owner = (await setUp(server.url)).owner;
    kbId = (await owner.post('/api/v1/kbs', { name: 'Refusals' })).json.id as string;
  });
  after(() => server.close());

  const stored = async (dir = path.join(server.dataDir, 'files')): Promise<number> => {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).length;
  };

  it('keeps none of its files: one too large, or more than the caller has left', async () => {
    const small = (tag: string) => ({ name: `${tag}.txt`, bytes: `A small note, ${tag}.` });
    const tooLarge = await owner.upload(kbId, [small('kept-back'), { name: 'big.txt', bytes: 'x'.repeat(2 * 1024 * 1024) }]);
    assert.equal(tooLarge.status, 413);
    assert.equal(await stored(), 0, 'the small file stored before the large one was refused is gone');

    assert.equal((await owner.upload(kbId, [small('one'), small('two')])).status, 202);
    assert.equal(await stored(), 2);
    const overLimit = await owner.upload(kbId, [small('three'), small('four')]);
    assert.equal(overLimit.status, 429);
    assert.equal(await stored(), 2, 'the files read before the count refused them are gone');
  });
});
