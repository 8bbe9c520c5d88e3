import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Client, OWNER, setUp, signedIn } from '../helpers/client.ts';

describe('setup, login, sessions', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '50' } });
  });
  after(() => server.close());

  it('first-run setup creates the instance owner and signs them in', async () => {
    const anon = new Client(server.url);
    assert.deepEqual((await anon.get('/api/v1/setup')).json, { needed: true, tokenRequired: false, tokenSource: null });
    assert.equal((await anon.get('/api/v1/me')).json.error.code, 'unauthenticated');

    const short = await anon.post('/api/v1/setup', { ...OWNER, password: 'short' });
    assert.equal(short.status, 400);
    assert.equal(short.json.error.code, 'validation_failed');
    assert.deepEqual(short.json.error.details.map((d: { path: string }) => d.path), ['password']);

    const { owner, setup } = await setUp(server.url);
    assert.equal(setup.json.user.role, 'owner');
    assert.equal(setup.json.user.instanceOwner, true);
    assert.equal(setup.json.organisation.name, OWNER.organisation);
    assert.equal('passwordHash' in setup.json.user, false);
    assert.match(setup.setCookie ?? '', /HttpOnly/i);
    assert.match(setup.setCookie ?? '', /SameSite=Lax/i);
    assert.doesNotMatch(setup.setCookie ?? '', /Secure/i, 'plain-HTTP cookie must not be Secure or the browser drops it');

    const me = await owner.get('/api/v1/me');
    assert.equal(me.status, 200);
    assert.deepEqual(Object.keys(me.json).sort(), ['organisation', 'restriction', 'user']);
    assert.equal(me.json.restriction, null, 'a session free to do everything');
    assert.equal(me.json.user.email, OWNER.email);
    assert.equal(me.json.organisation.id, setup.json.organisation.id);

    assert.deepEqual((await anon.get('/api/v1/setup')).json, { needed: false, tokenRequired: false, tokenSource: null });
    const again = await anon.post('/api/v1/setup', { ...OWNER, email: 'other@riverside.test' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'setup_done');
  });

  it('login answers the same for an unknown email and a wrong password', async () => {
    const c = new Client(server.url);
    const wrong = await c.post('/api/v1/auth/login', { email: OWNER.email, password: 'not the password!' });
    const unknown = await c.post('/api/v1/auth/login', { email: 'nobody@riverside.test', password: 'not the password!' });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    assert.equal(wrong.json.error.code, 'invalid_credentials');
    assert.equal(wrong.json.error.message, unknown.json.error.message);
    assert.equal(c.cookie, null);

    const ok = await c.post('/api/v1/auth/login', { email: OWNER.email.toUpperCase(), password: OWNER.password });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.user.email, OWNER.email);
    assert.ok(ok.json.user.lastLoginAt === null || typeof ok.json.user.lastLoginAt === 'string');
    assert.equal((await c.get('/api/v1/me')).status, 200);
  });

  it('throttles an account after repeated failures and says when to retry', async () => {
    const c = new Client(server.url);
    const email = 'throttled@riverside.test';
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await c.post('/api/v1/auth/login', { email, password: 'wrong password 123' })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const blocked = await c.post('/api/v1/auth/login', { email, password: 'wrong password 123' });
    assert.equal(blocked.json.error.code, 'rate_limited');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    // Another account from the same address is not affected by this account's lockout.
    assert.equal((await c.post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password })).status, 200);
  });

  it('logout revokes the session', async () => {
    const c = await signedIn(server.url, OWNER.email, OWNER.password);
    const stolen = c.cookie;
    const out = await c.post('/api/v1/auth/logout');
    assert.equal(out.status, 204);
    assert.match(out.setCookie ?? '', /lectern_session=;/);
    const replay = new Client(server.url);
    replay.cookie = stolen;
    assert.equal((await replay.get('/api/v1/me')).status, 401);
  });

  it('password change revokes every other session and keeps the caller signed in', async () => {
    const a = await signedIn(server.url, OWNER.email, OWNER.password);
    const b = await signedIn(server.url, OWNER.email, OWNER.password);
    const wrong = await a.post('/api/v1/auth/password', { currentPassword: 'nope nope nope', newPassword: 'a brand new passphrase' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.code, 'wrong_password');
    assert.deepEqual(wrong.json.error.details.map((d: { path: string }) => d.path), ['currentPassword']);
    const weak = await a.post('/api/v1/auth/password', { currentPassword: OWNER.password, newPassword: 'short' });
    assert.equal(weak.status, 400);
    const ok = await a.post('/api/v1/auth/password', { currentPassword: OWNER.password, newPassword: 'a brand new passphrase' });
    assert.equal(ok.status, 204);
    assert.equal((await a.get('/api/v1/me')).status, 200, 'caller gets a fresh session');
    assert.equal((await b.get('/api/v1/me')).status, 401, 'other sessions are revoked');
    assert.equal((await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password })).status, 401);
    await signedIn(server.url, OWNER.email, 'a brand new passphrase');
    const back = await a.post('/api/v1/auth/password', { currentPassword: 'a brand new passphrase', newPassword: OWNER.password });
    assert.equal(back.status, 204);
  });

  it('garbage cookies and bearer tokens are 401, never 500', async () => {
    const garbage = ['x', 'a.b', 'lectern_session', '%%%', 'aaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'é'.repeat(300)];
    for (const value of garbage) {
      const c = new Client(server.url);
      c.cookie = `lectern_session=${encodeURIComponent(value)}`;
      const r = await c.get('/api/v1/me');
      assert.equal(r.status, 401, `cookie ${value}`);
      assert.equal(r.json.error.code, 'unauthenticated');
    }
    for (const header of ['Bearer', 'Bearer ', 'Basic abc', 'Bearer lectern_x_y', 'Bearer lectern_aaaaaaaaaaaaaaaaaaaaaaaa_bbbbbbbb', `Bearer ${'z'.repeat(5000)}`]) {
      const r = await new Client(server.url).get('/api/v1/me', { authorization: header });
      assert.equal(r.status, 401, header.slice(0, 40));
      assert.equal(r.json.error.code, 'unauthenticated');
    }
  });
});

describe('setup token and HTTPS deployments', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ env: { SETUP_TOKEN: 'operator-secret-0123456789', PUBLIC_URL: 'https://lectern.example.test' } });
  });
  after(() => server.close());

  it('requires the configured setup token', async () => {
    const c = new Client(server.url, { origin: 'https://lectern.example.test' });
    assert.deepEqual((await c.get('/api/v1/setup')).json, { needed: true, tokenRequired: true, tokenSource: 'environment' });
    const without = await c.post('/api/v1/setup', OWNER);
    assert.equal(without.status, 403);
    assert.equal(without.json.error.code, 'invalid_setup_token');
    const wrong = await c.post('/api/v1/setup', { ...OWNER, setupToken: 'guess' });
    assert.equal(wrong.status, 403);
    assert.deepEqual(wrong.json.error.details.map((d: { path: string }) => d.path), ['setupToken']);
    const ok = await c.post('/api/v1/setup', { ...OWNER, setupToken: 'operator-secret-0123456789' });
    assert.equal(ok.status, 201);
    assert.match(ok.setCookie ?? '', /;\s*secure/i, 'cookie is Secure when PUBLIC_URL is https');
  });

  it('checks Origin against PUBLIC_URL', async () => {
    // The loopback URL the test reaches the server at is not PUBLIC_URL's origin.
    const refused = await new Client(server.url).post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'csrf');
    const ok = new Client(server.url, { origin: 'https://lectern.example.test' });
    assert.equal((await ok.post('/api/v1/auth/login', { email: OWNER.email, password: OWNER.password })).status, 200);
  });
});
