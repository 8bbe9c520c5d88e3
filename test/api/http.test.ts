import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, OWNER, setUp } from '../helpers/client.ts';

function assertError(r: { status: number; json: any; headers: Headers; text: string }, status: number, code: string) {
  assert.equal(r.status, status, r.text);
  assert.deepEqual(Object.keys(r.json).sort(), ['error']);
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
  assert.equal(r.json.error.traceId, r.headers.get('x-request-id'), 'traceId is the request id');
  assert.doesNotMatch(r.text, /at .*\.ts:\d+|node:internal|stack/i, 'no stack trace in the body');
}

describe('HTTP edge: bad input, CSRF, request ids, docs, health', () => {
  let server: TestServer;
  let owner: Client;
  before(async () => {
    server = await startTestServer({ env: { BODY_LIMIT: '16kb' } });
    owner = (await setUp(server.url)).owner;
  });
  after(() => server.close());

  it('malformed JSON, wrong types, unknown fields and wrong content types are clear 4xx', async () => {
    const c = new Client(server.url);
    assertError(await c.request('POST', '/api/v1/auth/login', '{"email": "a@b.c", "password": ', { 'content-type': 'application/json' }), 400, 'invalid_json');
    assertError(await c.request('POST', '/api/v1/auth/login', '[1,2,3]', { 'content-type': 'application/json' }), 400, 'validation_failed');
    assertError(await c.request('POST', '/api/v1/auth/login', '"just a string"', { 'content-type': 'application/json' }), 400, 'invalid_json');
    assertError(await c.post('/api/v1/auth/login', { email: 42, password: ['x'] }), 400, 'validation_failed');
    const unknown = await c.post('/api/v1/auth/login', { email: 'a@b.c', password: 'x', admin: true });
    assertError(unknown, 400, 'validation_failed');
    assert.deepEqual(unknown.json.error.details, [{ path: 'admin', message: 'is not a known field' }]);
    assertError(await c.post('/api/v1/auth/login'), 400, 'validation_failed');
    assertError(await c.request('POST', '/api/v1/auth/login', 'email=a&password=b', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    assertError(await c.request('POST', '/api/v1/auth/login', 'hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    assertError(await owner.post('/api/v1/users', { email: 'not-an-email', name: '', role: 'god', password: 1 }), 400, 'validation_failed');
    const details = (await owner.post('/api/v1/users', { email: 'not-an-email', name: '', role: 'god', password: 1 })).json.error.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(details, ['email', 'name', 'password', 'role']);
  });

  it('oversized bodies are 413 and the server keeps serving', async () => {
    const big = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(64 * 1024) });
    assertError(await new Client(server.url).request('POST', '/api/v1/auth/login', big, { 'content-type': 'application/json' }), 413, 'payload_too_large');
    assert.equal((await owner.get('/api/v1/me')).status, 200);
  });

  it('refuses cross-site cookie requests (CSRF) and allows bearer ones', async () => {
    const evil = new Client(server.url, { origin: 'https://evil.example' });
    evil.cookie = owner.cookie;
    assertError(await evil.post('/api/v1/api-keys', { name: 'x', role: 'viewer' }), 403, 'csrf');
    const fetchSite = new Client(server.url, { origin: null });
    fetchSite.cookie = owner.cookie;
    assertError(await fetchSite.post('/api/v1/api-keys', { name: 'x', role: 'viewer' }, { 'sec-fetch-site': 'cross-site' }), 403, 'csrf');
    assertError(await fetchSite.post('/api/v1/api-keys', { name: 'x', role: 'viewer' }), 403, 'csrf');
    assert.equal((await fetchSite.post('/api/v1/api-keys', { name: 'x', role: 'viewer' }, { 'sec-fetch-site': 'same-origin' })).status, 201);
    // Reads are not state-changing and stay allowed cross-site (SameSite=Lax governs the cookie).
    assert.equal((await evil.get('/api/v1/me')).status, 200);
    const key = (await owner.post('/api/v1/api-keys', { name: 'bot', role: 'admin' })).json.key;
    const bot = new Client(server.url, { origin: 'https://elsewhere.example' });
    bot.bearer = key;
    assert.equal((await bot.post('/api/v1/api-keys', { name: 'from-bot', role: 'viewer' })).status, 201);
  });

  it('accepts or generates request ids and logs every line with it', async () => {
    const given = await new Client(server.url).get('/api/v1/setup', { 'x-request-id': 'trace-abc.123' });
    assert.equal(given.headers.get('x-request-id'), 'trace-abc.123');
    const hostile = await new Client(server.url).get('/api/v1/setup', { 'x-request-id': `bad id <script> ${'x'.repeat(200)}` });
    assert.match(hostile.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: 'wrong wrong wrong' }, { 'x-request-id': 'login-trace-1' });
    const lines = server.logs.filter((l) => l['reqId'] === 'login-trace-1');
    assert.ok(lines.some((l) => l['msg'] === 'audit'), 'service log lines carry the request id');
    assert.ok(lines.some((l) => l['msg'] === 'request'), 'the access log line carries it');
    assert.ok(!JSON.stringify(server.logs).includes('wrong wrong wrong'), 'passwords never reach the log');
    assert.ok(!JSON.stringify(server.logs).includes(owner.cookie?.split('=')[1] ?? '§'), 'session tokens never reach the log');
  });

  it('probes, scrapes and console files are not logged at info; a failure is, whatever the path', async () => {
    const c = new Client(server.url);
    await c.get('/healthz', { 'x-request-id': 'probe-ok' });
    await c.get('/metrics', { 'x-request-id': 'scrape-ok' });
    await c.get('/', { 'x-request-id': 'page-ok' });
    await c.get('/api/v1/setup', { 'x-request-id': 'api-ok' });
    await c.get('/no-such-asset.js', { 'x-request-id': 'asset-missing' });
    const logged = (id: string) => server.logs.some((l) => l['reqId'] === id && l['msg'] === 'request');
    assert.deepEqual(['probe-ok', 'scrape-ok', 'page-ok'].filter(logged), []);
    assert.ok(logged('api-ok'), 'API requests are');
    assert.ok(logged('asset-missing'), 'a console file that is not there (404) is');
  });

  it('unknown endpoints are 404 and wrong methods 405, in the error shape', async () => {
    assertError(await owner.get('/api/v1/nope'), 404, 'not_found');
    assertError(await owner.get('/api/v2/users'), 404, 'not_found');
    assertError(await owner.request('PUT', '/api/v1/users'), 405, 'method_not_allowed');
    assertError(await owner.get('/v1/nope'), 404, 'not_found');
    assertError(await owner.get('/v1/models'), 401, 'unauthenticated');
  });

  it('serves the OpenAPI document generated from the route schemas, and a readable page', async () => {
    const doc = (await new Client(server.url).get('/api/v1/openapi.json')).json;
    assert.equal(doc.openapi, '3.1.0');
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) => Object.keys(m).map((k) => `${k.toUpperCase()} ${p}`)).sort();
    const expected = [
      'DELETE /api/v1/api-keys/{id}',
      'DELETE /api/v1/kbs/{kbId}',
      'DELETE /api/v1/kbs/{kbId}/documents/{docId}',
      'DELETE /api/v1/users/{id}',
      'GET /api/v1/api-keys',
      'GET /api/v1/audit',
      'GET /api/v1/kbs',
      'GET /api/v1/kbs/{kbId}',
      'GET /api/v1/kbs/{kbId}/chunks/{chunkId}',
      'GET /api/v1/kbs/{kbId}/documents',
      'GET /api/v1/kbs/{kbId}/documents/{docId}',
      'GET /api/v1/kbs/{kbId}/documents/{docId}/content',
      'GET /api/v1/kbs/{kbId}/documents/{docId}/file',
      'GET /api/v1/kbs/{kbId}/events',
      'GET /api/v1/me',
      'GET /api/v1/organisations',
      'GET /api/v1/setup',
      'GET /api/v1/users',
      'PATCH /api/v1/kbs/{kbId}',
      'PATCH /api/v1/users/{id}',
      'POST /api/v1/api-keys',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/logout',
      'POST /api/v1/auth/password',
      'POST /api/v1/kbs',
      'POST /api/v1/kbs/{kbId}/documents',
      'POST /api/v1/kbs/{kbId}/documents/{docId}/reprocess',
      'POST /api/v1/kbs/{kbId}/reindex',
      'POST /api/v1/kbs/{kbId}/search',
      'POST /api/v1/organisations',
      'POST /api/v1/setup',
      'POST /api/v1/users',
    ];
    for (const op of expected) assert.ok(ops.includes(op), `${op} is documented`);
    // What leaves the server is declared: every JSON success answer has a schema (enforced by
    // presentResponse), so only streams, files and empty answers go undeclared.
    const undeclared = Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, { description: string; content?: unknown }> }>>).flatMap(([p, methods]) =>
      Object.entries(methods).flatMap(([m, op]) =>
        Object.entries(op.responses)
          .filter(([status, r]) => status.startsWith('2') && status !== '204' && !r.content && !/event-stream|original file|bytes|archive|csv|jsonl/i.test(`${r.description} ${p}`))
          .map(([status]) => `${m.toUpperCase()} ${p} ${status}`),
      ),
    );
    assert.deepEqual(undeclared, []);
    assert.ok(doc.paths['/api/v1/kbs/{kbId}/documents'].post.requestBody.content['multipart/form-data'], 'uploads are documented as multipart');
    const setupBody = doc.paths['/api/v1/setup'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(setupBody.required.sort(), ['email', 'name', 'organisation', 'password']);
    assert.equal(setupBody.additionalProperties, false, 'unknown fields are documented as refused');
    assert.equal(setupBody.properties.password.minLength, 12);
    assert.equal(doc.paths['/api/v1/users'].get.responses['200'].content['application/json'].schema.properties.users.items.$ref, '#/components/schemas/User');
    assert.ok(doc.components.schemas.User && doc.components.schemas.Error);
    assert.deepEqual(doc.paths['/api/v1/audit'].get.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`), ['query:actor', 'query:action', 'query:from', 'query:to', 'query:outcome', 'query:limit', 'query:before']);

    const page = await new Client(server.url).get('/api/docs');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, /post.*\/api\/v1\/setup/is);
  });

  it('reports liveness and readiness per component', async () => {
    const live = await new Client(server.url).get('/healthz');
    assert.deepEqual([live.status, live.json], [200, { status: 'ok' }]);
    assert.equal(live.headers.get('cache-control'), 'no-store');
    assert.equal((await new Client(server.url).request('HEAD', '/healthz')).status, 200);
    assert.equal((await new Client(server.url).request('POST', '/healthz')).status, 404, 'only GET and HEAD are probes');
    const ready = await new Client(server.url).get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.status, 'ready');
    const states = Object.fromEntries(ready.json.components.map((c: { name: string; kind: string; state: string }) => [c.name, `${c.kind}:${c.state}`]));
    assert.deepEqual(Object.keys(states).sort(), ['backups', 'embeddings', 'events', 'files', 'limits', 'llm', 'metrics', 'ocr', 'parser', 'quarantine', 'queue', 'resume', 'revocations', 'search', 'store', 'tracing', 'voice']);
    assert.match(states['voice'] ?? '', /^silero.*:degraded$/, 'VAD ships with npm; no STT model is installed in the test');
    assert.equal(states['llm'], 'none:degraded', 'no LLM installed: answers are extractive, the instance stays ready');
    assert.equal(states['ocr'], 'tesseract.js:ok', 'English OCR data ships with the npm install');
    assert.equal(states['store'], 'embedded:ok');
    assert.equal(states['metrics'], 'prometheus:ok');
    assert.equal(states['tracing'], 'off:ok', 'no OTEL_EXPORTER_OTLP_ENDPOINT: nothing registered');
    assert.equal(states['search'], 'embedded:ok');
    assert.equal(states['backups'], 'local:degraded', 'no BACKUP_KEY_FILE: backups cannot run, the instance stays ready');
    // Without REDIS_URL the shared-state ports stay in this process.
    assert.deepEqual([states['events'], states['limits'], states['revocations'], states['resume']], ['local:ok', 'memory:ok', 'local:ok', 'memory:ok']);
    // No embedding model is installed in the test DATA_DIR: degraded, yet the instance is ready.
    assert.equal(states['embeddings'], 'onnxruntime:degraded');
  });

  it('sets security headers and serves the console with a client-side route fallback', async () => {
    const page = await new Client(server.url).get('/users');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(page.status === 200 || page.status === 503, `console ${page.status}`);
    if (page.status === 200) assert.match(page.text, /<div id="app"|<!doctype html>/i);
    const traversal = await new Client(server.url).get('/..%2f..%2fpackage.json');
    assert.doesNotMatch(traversal.text, /"name": "lectern"/);
  });
});
